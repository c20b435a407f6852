"""A job's page: progress while its batches run, then the result per item and the CSV report.

Each POST to ``/console/jobs/{id}/next`` runs one batch of 100 through the same service the API uses,
and records its results in the same transaction. With htmx the progress box asks for the next batch
as soon as one is done; without JavaScript the page has a button for it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import Connection

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.api.tracking import tracking_id_of
from meetadmin.console import calls, jobs
from meetadmin.console.rooms_run import run_rooms_batch
from meetadmin.console.sessions import SignedIn
from meetadmin.console.web import ConsoleRoute, can, need, posted, render, signed_in
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import ApiError, NotFound
from meetadmin.services.common import utcnow
from meetadmin.services.pmr import REFRESH_RETRY

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
RESULTS_PAGE = 100


def _job(conn: Connection, owner: TokenOwner, job_id: str) -> jobs.Job:
    job = jobs.find_job(conn, owner.org_id, job_id)
    if job is None:
        raise NotFound("No such job in your organisation.", message="The job is not found.")
    return job


@router.get("/jobs/{job_id}")
async def job_page(
    request: Request, session: Session, job_id: str, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    owner = session.owner

    def read(conn: Connection) -> tuple[jobs.Job, dict[str, int], list[jobs.Item]]:
        job = _job(conn, owner, job_id)
        return (
            job,
            jobs.counts(conn, job.id),
            jobs.items_page(conn, job.id, (page - 1) * RESULTS_PAGE, RESULTS_PAGE),
        )

    job, counts, items = await writer(request).read(read)
    return render(
        request,
        "job.html",
        session,
        nav="offboard" if job.kind == "offboard" else "rooms",
        job=job,
        counts=counts,
        items=items,
        page=page,
        pages=max(1, -(-job.total // RESULTS_PAGE)),
        may_run=_may_run(owner, job),
    )


def _may_run(owner: TokenOwner, job: jobs.Job) -> bool:
    return can(owner).reassign if job.kind == "offboard" else can(owner).refresh


def _run_batch(conn: Connection, owner: TokenOwner, job_id: str, tid: str) -> jobs.Job:
    job = _job(conn, owner, job_id)
    if job.status != "running":
        return job
    batch = jobs.pending(conn, job.id)
    now = utcnow()
    if job.kind == "rooms":
        updates = run_rooms_batch(conn, owner, job, batch, tid)
    else:
        try:
            outcome = calls.reassign(
                conn, owner, job.site_url, job.params["to"], [i.subject for i in batch], tid
            )
        except ApiError as exc:  # the whole batch was refused (e.g. the new host lost host privilege)
            jobs.fail(conn, job.id, " ".join([exc.message, *exc.descriptions[:1]]), now)
            return _job(conn, owner, job_id)
        updates = [
            jobs.Update(
                item.seq,
                "moved" if verdict.ok else "refused",
                verdict.status,
                "" if verdict.ok else (verdict.description or verdict.message or ""),
            )
            for item, verdict in zip(batch, outcome.items, strict=True)
        ]
    jobs.record(conn, job.id, updates, now)
    return _job(conn, owner, job_id)


@router.post("/jobs/{job_id}/next")
async def next_batch(request: Request, session: Session, job_id: str) -> Response:
    await posted(request, session)
    owner = session.owner
    kind = await writer(request).read(lambda conn: _job(conn, owner, job_id).kind)
    if kind == "offboard":
        need(can(owner).reassign, auth.REASSIGN)
    else:
        need(can(owner).refresh, auth.REFRESH_PMR)
    tid = tracking_id_of(request)
    # a batch that loses a race for a personal room ID (another process) is done again, as the API does
    job = await writer(request).write(lambda conn: _run_batch(conn, owner, job_id, tid), REFRESH_RETRY)
    if request.headers.get("hx-request"):
        if job.status != "running":
            return Response(status_code=200, headers={"HX-Redirect": f"/console/jobs/{job.id}"})
        return render(request, "_progress.html", session, job=job, may_run=True)
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/jobs/{job_id}/report.csv")
async def report(request: Request, session: Session, job_id: str) -> Response:
    owner = session.owner

    def read(conn: Connection) -> tuple[jobs.Job, list[jobs.Item]]:
        job = _job(conn, owner, job_id)
        return job, list(jobs.all_items(conn, job.id))

    job, items = await writer(request).read(read)
    if job.kind == "offboard":
        header = ["id", "title", "result", "httpStatus", "reason"]
        rows = [[i.subject, i.title, i.result, i.status or "", i.reason] for i in items]
    else:
        header = ["line", "person", "oldId", "newId", "result", "reason"]
        rows = [[i.seq, i.subject, i.old_value or "", i.new_value or "", i.result, i.reason] for i in items]

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(header)
        for start in range(0, len(rows), 500):
            out.writerows([[_cell(v) for v in row] for row in rows[start : start + 500]])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    name = f"{job.kind}-{job.created:%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
