"""Personal room refresh: upload or paste a CSV (or pick people for generated IDs) -> the problems by
line -> run as a job (``job_pages``) -> old and new ID per person, as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection
from starlette.datastructures import FormData, UploadFile

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.api.tracking import tracking_id_of
from meetadmin.console import jobs, queries
from meetadmin.console.rooms_run import CsvProblem, check_lines, parse_rows
from meetadmin.console.sessions import SignedIn
from meetadmin.console.web import ConsoleRoute, can, need, posted, render, signed_in, text_field
from meetadmin.errors import BadRequest
from meetadmin.services.common import target_site, utcnow

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
MAX_CSV = 900_000


@router.get("/rooms")
async def rooms_form(
    request: Request,
    session: Session,
    site: Annotated[str, Query(max_length=255)] = "",
    person: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> Response:
    owner = session.owner
    sites = await writer(request).read(lambda conn: queries.org_site_urls(conn, owner.org_id))
    picked = [p.strip() for p in person or [] if p.strip()][:1000]
    form = {
        "site": site,
        "mode": "generated" if picked else "ids",
        "csv": "email\n" + "\n".join(picked) + "\n" if picked else "",
    }
    return render(
        request, "rooms.html", session, nav="rooms", sites=sites, form=form, checked=None, problem=None
    )


async def _csv_text(form: FormData) -> tuple[str, str]:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_CSV + 1)
        if len(data) > MAX_CSV:
            raise BadRequest("The file is too large (at most 900 kB).")
        try:
            return data.decode("utf-8-sig"), upload.filename[:100]
        except UnicodeDecodeError:
            raise BadRequest(f"{upload.filename[:100]}: the file is not UTF-8 text.") from None
    return text_field(form, "csv", MAX_CSV), "pasted CSV"


@router.post("/rooms/check")
async def check(request: Request, session: Session) -> Response:
    form = await posted(request, session)
    owner = session.owner
    need(can(owner).refresh, auth.REFRESH_PMR)
    site, mode = text_field(form, "site", 255), text_field(form, "mode", 20)
    text, name = await _csv_text(form)
    sites = await writer(request).read(lambda conn: queries.org_site_urls(conn, owner.org_id))
    context = {"nav": "rooms", "sites": sites, "form": {"site": site, "mode": mode, "csv": text}}
    try:
        rows = parse_rows(text, name, mode == "generated")
    except CsvProblem as exc:
        return render(
            request, "rooms.html", session, status_code=400, checked=None, problem=str(exc), **context
        )
    tid = tracking_id_of(request)
    checked = await writer(request).write(lambda conn: check_lines(conn, owner, site, rows, tid))
    bad = sum(1 for c in checked if c.problems)
    return render(
        request,
        "rooms.html",
        session,
        status_code=400 if bad else 200,
        checked=checked,
        bad=bad,
        problem=None,
        **context,
    )


@router.post("/rooms")
async def run(request: Request, session: Session) -> Response:
    form = await posted(request, session)
    owner = session.owner
    need(can(owner).refresh, auth.REFRESH_PMR)
    auth.require_admin(owner, auth.REFRESH_PMR)
    site, mode = text_field(form, "site", 255), text_field(form, "mode", 20)
    text = text_field(form, "csv", MAX_CSV)
    try:
        rows = parse_rows(text, "pasted CSV", mode == "generated")
    except CsvProblem as exc:
        raise BadRequest(str(exc)) from None
    by_email = rows[0].email is not None
    lines = [(r.line, r.who, r.new_id) for r in rows]

    def start(conn: Connection) -> str:
        found = target_site(conn, owner, site)
        return jobs.start_rooms(conn, owner, found.site_url, lines, by_email, utcnow())

    job_id = await writer(request).write(start)
    return RedirectResponse(f"/console/jobs/{job_id}", status_code=303)
