"""Offboarding: from, to, site -> the plan with each meeting's verdict (the service's preview) -> a
confirmed job that moves everything that may move, a batch of 100 at a time (``job_pages``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.api.tracking import tracking_id_of
from meetadmin.console import calls, jobs, queries
from meetadmin.console.sessions import SignedIn
from meetadmin.console.web import ConsoleRoute, can, need, posted, render, signed_in, text_field
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import ApiError, BadRequest
from meetadmin.services.common import target_site, utcnow
from meetadmin.services.reassign import ItemVerdict
from meetadmin.store.sites import SiteRow

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
PLAN_PAGE = 100  # one preview call per page, as one API request
WHOLE_PLAN = 500  # up to this many series, the plan's counts cover them all (five preview calls)


@dataclass(frozen=True)
class PlanLine:
    line: queries.SeriesLine
    verdict: ItemVerdict


@dataclass(frozen=True)
class Plan:
    site_url: str
    from_email: str
    to_email: str
    total: int
    lines: list[PlanLine]
    move: int  # of the whole set when ``whole``, else of this page
    refuse: int
    whole: bool


def _plan(
    conn: Connection, owner: TokenOwner, site_url: str, from_email: str, to_email: str, page: int, tid: str
) -> Plan:
    site = target_site(conn, owner, site_url)
    found = queries.person_key_by_email(conn, owner.org_id, from_email)
    if found is None:
        raise BadRequest(f"No one with the email '{from_email}' is in your organisation.")
    total = queries.count_hosted(conn, found[0], site.id)
    whole = total <= WHOLE_PLAN
    offset = (page - 1) * PLAN_PAGE
    if whole:
        series = queries.hosted_series(conn, found[0], site.id, 0, WHOLE_PLAN)
    else:
        series = queries.hosted_series(conn, found[0], site.id, offset, PLAN_PAGE)
    verdicts: list[ItemVerdict] = []
    for start in range(0, len(series), PLAN_PAGE):
        ids = [s.id for s in series[start : start + PLAN_PAGE]]
        verdicts += calls.preview_reassign(conn, owner, site.site_url, to_email, ids, tid).items
    if not series:
        calls.preview_reassign(conn, owner, site.site_url, to_email, [], tid)  # may the new host host?
    lines = [PlanLine(s, v) for s, v in zip(series, verdicts, strict=True)]
    move = sum(1 for line in lines if line.verdict.ok)
    if whole:
        lines = lines[offset : offset + PLAN_PAGE]
    return Plan(site.site_url, found[1], to_email, total, lines, move, len(verdicts) - move, whole)


@router.get("/offboard")
async def offboard(
    request: Request,
    session: Session,
    from_email: Annotated[str, Query(alias="from", max_length=320)] = "",
    to_email: Annotated[str, Query(alias="to", max_length=320)] = "",
    site: Annotated[str, Query(max_length=255)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    owner = session.owner
    from_email, to_email, site = from_email.strip(), to_email.strip(), site.strip()
    sites = await writer(request).read(lambda conn: queries.org_site_urls(conn, owner.org_id))
    form = {"from": from_email, "to": to_email, "site": site}
    context: dict[str, Any] = {
        "nav": "offboard",
        "form": form,
        "sites": sites,
        "plan": None,
        "problem": None,
        "page": page,
    }
    if not can(owner).reassign or not (from_email and to_email):
        return render(request, "offboard.html", session, **context)
    tid = tracking_id_of(request)
    try:
        plan = await writer(request).read(
            lambda conn: _plan(conn, owner, site, from_email, to_email, page, tid)
        )
    except ApiError as exc:
        problem = {"message": exc.message, "descriptions": [d for d in exc.descriptions if d != exc.message]}
        return render(
            request, "offboard.html", session, status_code=exc.status, **{**context, "problem": problem}
        )
    pages = max(1, -(-plan.total // PLAN_PAGE))
    return render(request, "offboard.html", session, **{**context, "plan": plan, "pages": pages})


def _start(
    conn: Connection, owner: TokenOwner, site_url: str, from_email: str, to_email: str, tid: str
) -> str:
    site: SiteRow = target_site(conn, owner, site_url)
    found = queries.person_key_by_email(conn, owner.org_id, from_email)
    if found is None:
        raise BadRequest(f"No one with the email '{from_email}' is in your organisation.")
    calls.preview_reassign(conn, owner, site.site_url, to_email, [], tid)  # the new host may host here
    return jobs.start_offboard(conn, owner, site.id, site.site_url, found[0], found[1], to_email, utcnow())


@router.post("/offboard")
async def start_offboard(request: Request, session: Session) -> Response:
    form = await posted(request, session)
    owner = session.owner
    need(can(owner).reassign, auth.REASSIGN)
    auth.require_admin(owner, auth.REASSIGN)
    from_email, to_email = text_field(form, "from"), text_field(form, "to")
    site = text_field(form, "site", 255)
    if not from_email or not to_email:
        raise BadRequest("Name the person who leaves ('from') and the new host ('to').")
    if text_field(form, "confirm") != "yes":
        raise BadRequest("Tick the box that confirms the reassignment, then send the form again.")
    tid = tracking_id_of(request)
    job_id = await writer(request).write(lambda conn: _start(conn, owner, site, from_email, to_email, tid))
    return RedirectResponse(f"/console/jobs/{job_id}", status_code=303)
