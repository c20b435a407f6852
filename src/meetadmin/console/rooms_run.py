"""Personal room refresh in the console: the CLI's CSV reading (so lines are named as the CLI names
them), the service's checks mapped back to lines, and one batch of a job."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from meetadmin.client._pmr_job import BATCH_SIZE, CsvProblem, PmrRow, parse_people
from meetadmin.console import calls, jobs, queries
from meetadmin.domain.people import TokenOwner
from meetadmin.domain.pmr import RoomIdRequest
from meetadmin.errors import ApiError, BadRequest
from meetadmin.services.pmr import RoomIdProblems
from meetadmin.store.sites import site_by_url

NOT_SENT = "Not changed: another line of its batch of 100 was refused, and a batch is all or nothing."

__all__ = ["BATCH_SIZE", "CsvProblem", "parse_rows"]


def parse_rows(text: str, name: str, generated: bool) -> list[PmrRow]:
    """The CLI's parser: a bad file raises ``CsvProblem`` naming the line."""
    rows = parse_people(text, name, need_room_ids=not generated)
    if not rows:
        raise CsvProblem(f"{name}: no one is listed below the header line")
    return rows


def _request(who: str, by_email: bool, new_id: str | None) -> RoomIdRequest:
    return RoomIdRequest(
        email=who if by_email else None,
        person_id=None if by_email else who,
        system_generated=True if new_id is None else None,
        room_id=new_id,
    )


def _key(who: str, by_email: bool) -> str:
    return who.lower() if by_email else who


@dataclass(frozen=True)
class CheckedLine:
    row: PmrRow
    current: str | None
    problems: list[str]


def check_lines(
    conn: Connection, owner: TokenOwner, site_url: str, rows: list[PmrRow], tid: str
) -> list[CheckedLine]:
    """Every problem the refresh would meet, per line, found by trying each batch of 100 and undoing it."""
    site = site_by_url(conn, owner.org_id, site_url)
    if site is None:
        raise BadRequest(f"The site '{site_url[:255]}' is not a site of your organisation.")
    by_email = rows[0].email is not None
    current = queries.current_room_ids(
        conn, site.id, owner.org_id, [_key(r.who, by_email) for r in rows], by_email
    )
    problems: dict[int, list[str]] = {r.line: [] for r in rows}
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        items = [_request(r.who, by_email, r.new_id) for r in batch]
        try:
            calls.try_refresh_rooms(conn, calls.check_rooms(owner, site.site_url, items), tid)
        except RoomIdProblems as exc:
            for p in exc.problems:
                for r in batch if p.index is None else [batch[p.index]]:
                    problems[r.line].append(p.description)
    return [CheckedLine(r, current.get(_key(r.who, by_email)), problems[r.line]) for r in rows]


def run_rooms_batch(
    conn: Connection, owner: TokenOwner, job: jobs.Job, batch: list[jobs.Item], tid: str
) -> list[jobs.Update]:
    """Refresh one batch of a job's lines (all or nothing, as the API), with old and new IDs."""
    by_email = bool(job.params.get("byEmail"))
    site = site_by_url(conn, owner.org_id, job.site_url)
    keys = [_key(i.subject, by_email) for i in batch]
    old = queries.current_room_ids(conn, site.id, owner.org_id, keys, by_email) if site else {}
    items = [_request(i.subject, by_email, i.new_value) for i in batch]
    try:
        outcome = calls.refresh_rooms(conn, calls.check_rooms(owner, job.site_url, items), tid)
    except RoomIdProblems as exc:
        reasons: dict[int, list[str]] = {}
        for p in exc.problems:
            for n in range(len(batch)) if p.index is None else [p.index]:
                reasons.setdefault(n, []).append(p.description)
        return [
            jobs.Update(i.seq, "refused", 400, " ".join(reasons.get(n, [NOT_SENT])), old.get(keys[n]), None)
            for n, i in enumerate(batch)
        ]
    except ApiError as exc:
        reason = " ".join([exc.message, *exc.descriptions[:1]])
        return [
            jobs.Update(i.seq, "failed", exc.status, reason, old.get(k), None)
            for i, k in zip(batch, keys, strict=True)
        ]
    new = {}
    for room in outcome.rooms:
        new[room.email.lower()] = room.room_id
        new[room.person_id] = room.room_id
    return [
        jobs.Update(i.seq, "refreshed", 200, "", old.get(k), new.get(k))
        for i, k in zip(batch, keys, strict=True)
    ]
