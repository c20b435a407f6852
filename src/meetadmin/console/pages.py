"""Sign-in and sign-out, and the pages that only read: overview, people, a person, the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.console import jobs, queries
from meetadmin.console.sessions import (
    COOKIE,
    LOGIN_COOKIE,
    SignedIn,
    close_session,
    open_session,
    token_owner,
)
from meetadmin.console.web import (
    PAGE_SIZE,
    ConsoleRoute,
    can,
    lifetime,
    need,
    posted,
    render,
    secure_cookies,
    signed_in,
    text_field,
)
from meetadmin.domain.people import PersonRow
from meetadmin.domain.pmr import room_link
from meetadmin.errors import BadRequest, NotFound
from meetadmin.services.common import utcnow
from meetadmin.store.people import list_people, person_by_id
from meetadmin.store.writer import orm

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself (no other host, no scheme-relative //host)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


@router.get("/login")
async def login_form(request: Request, next: str | None = None, out: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        login_csrf=token,
        next=_safe_next(next),
        problem="You have signed out." if out else "",
        status_code=200,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/console",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("csrf_token")
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        return render(
            request,
            "login.html",
            login_csrf=expected,
            next="/console",
            problem="The sign-in form had expired. Please sign in again.",
            status_code=403,
        )
    token = text_field(form, "token", 4096)
    target = _safe_next(text_field(form, "next", 2000))
    now = utcnow()
    period = lifetime(request)

    def sign_in(conn: Connection) -> tuple[tuple[str, str] | None, str]:
        owner = token_owner(conn, token) if token else None
        if owner is None:
            return None, "That token is not known. Paste an API token of your organisation."
        if not owner.is_admin:
            return None, "This console is for administrators; that token belongs to someone who is not one."
        return open_session(conn, token, now, period), ""

    opened, problem = await writer(request).write(sign_in)
    if opened is None:
        return render(
            request, "login.html", login_csrf=expected, next=target, problem=problem, status_code=401
        )
    session_id, _csrf = opened
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(period.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, session: Session) -> Response:
    await posted(request, session)
    session_id = request.cookies.get(COOKIE, "")
    await writer(request).write(lambda conn: close_session(conn, session_id))
    response = RedirectResponse("/console/login?out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("")
async def overview(request: Request, session: Session) -> Response:
    owner = session.owner
    found, recent, org_name = await writer(request).read(
        lambda conn: (
            queries.overview(conn, owner.org_id),
            jobs.recent_jobs(conn, owner.org_id),
            queries.org_name(conn, owner.org_id),
        )
    )
    return render(request, "overview.html", session, nav="overview", o=found, jobs=recent, org_name=org_name)


@router.get("/people")
async def people(request: Request, session: Session, q: str = "", after: int | None = None) -> Response:
    owner = session.owner
    need(can(owner).people, auth.ADMIN_PEOPLE_READ)
    q = q.strip()[:320]
    email = q if "@" in q else None
    name = q if q and "@" not in q else None

    def read(conn: Connection) -> list[PersonRow]:
        with orm(conn) as s:
            return list_people(s, owner.org_id, email, name, False, after, PAGE_SIZE + 1)

    rows = await writer(request).read(read)
    next_after = rows[PAGE_SIZE - 1].key if len(rows) > PAGE_SIZE else None
    return render(
        request, "people.html", session, nav="people", q=q, rows=rows[:PAGE_SIZE], next_after=next_after
    )


@router.get("/people/{person_id}")
async def person(request: Request, session: Session, person_id: str, page: Page = 1) -> Response:
    owner = session.owner
    need(can(owner).people, auth.ADMIN_PEOPLE_READ)
    see_meetings = can(owner).meetings

    def read(conn: Connection) -> tuple[PersonRow | None, list[queries.SeriesLine], int]:
        with orm(conn) as s:
            found = person_by_id(s, owner.org_id, person_id[:255])
        if found is None or not see_meetings:
            return found, [], 0
        offset = (page - 1) * PAGE_SIZE
        return (
            found,
            queries.hosted_series(conn, found.key, None, offset, PAGE_SIZE),
            queries.count_hosted(conn, found.key, None),
        )

    found, series, total = await writer(request).read(read)
    if found is None:
        raise NotFound("No one with this ID is in your organisation.", message="The person is not found.")
    return render(
        request,
        "person.html",
        session,
        nav="people",
        p=found,
        series=series,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        see_meetings=see_meetings,
        room_link=room_link,
    )


def _when(value: str, name: str, default: datetime) -> datetime:
    if not value.strip():
        return default
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        raise BadRequest(f"'{name}' must be a date and time such as 2026-12-01T09:00.") from None


def _cursor(value: str) -> tuple[datetime, str] | None:
    """``before=<ISO time>~<event ID>``: where an older page starts."""
    if not value:
        return None
    at, _, event_id = value.partition("~")
    try:
        return datetime.fromisoformat(at), event_id[:36]
    except ValueError:
        raise BadRequest(
            "'before' is not a position in the audit log; start again from the first page."
        ) from None


@router.get("/audit")
async def audit(
    request: Request,
    session: Session,
    type: str = "",
    actor: str = "",
    target: str = "",
    since: Annotated[str, Query(alias="from", max_length=40)] = "",
    until: Annotated[str, Query(alias="to", max_length=40)] = "",
    before: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    owner = session.owner
    need(can(owner).audit, auth.AUDIT_READ)
    now = utcnow()
    start = _when(since, "from", now - timedelta(days=30))
    end = _when(until, "to", now + timedelta(minutes=1))
    if start > end:
        raise BadRequest("'from' must not be after 'to'.")
    actor, target, type = actor.strip()[:320], target.strip()[:255], type.strip()[:64]
    position = _cursor(before.strip())

    def read(conn: Connection) -> queries.AuditPage:
        actor_key = None
        if actor:
            found = queries.person_key_by_email(conn, owner.org_id, actor)
            if found is None:
                return queries.AuditPage([], None, None)
            actor_key = found[0]
        flt = queries.AuditFilter(start, end, type or None, actor_key, target or None, position)
        return queries.audit_page(conn, owner.org_id, flt, PAGE_SIZE)

    found = await writer(request).read(read)
    older = f"{found.older[0].isoformat()}~{found.older[1]}" if found.older else ""
    return render(
        request,
        "audit.html",
        session,
        nav="audit",
        rows=found.lines,
        older=older,
        scanned_to=found.scanned_to,
        first=not position,
        f={"type": type, "actor": actor, "target": target, "from": since, "to": until},
        actions=queries.AUDIT_ACTIONS,
    )
