"""Console jobs: an offboarding or a personal room refresh, kept in the database and run a batch of 100
(the API's limit) per request, so that every page answers quickly, any server process can run the next
batch, and the report can be downloaded afterwards.

A job's items are fixed when it starts (the series the old host holds then, or the lines of the CSV);
each item is ``pending`` until its batch runs, then ``moved`` / ``changed`` or ``refused`` (with the
status and the reason the service gave) or ``failed`` (its batch was refused as a whole).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal, select, update

from meetadmin.domain.people import TokenOwner
from meetadmin.store.models import ConsoleJob, ConsoleJobItem, MeetingSeries

BATCH = 100
PENDING = "pending"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    site_url: str
    params: dict[str, Any]
    status: str
    total: int
    done: int
    message: str
    created: datetime


@dataclass(frozen=True)
class Item:
    seq: int
    subject: str
    title: str
    old_value: str | None
    new_value: str | None
    status: int | None
    result: str
    reason: str


@dataclass(frozen=True)
class Update:
    seq: int
    result: str
    status: int | None = None
    reason: str = ""
    old_value: str | None = None
    new_value: str | None = None


def _new_job(
    conn: Connection, caller: TokenOwner, kind: str, site_url: str, params: dict[str, Any], now: datetime
) -> str:
    job_id = uuid.uuid4().hex
    conn.execute(
        insert(ConsoleJob).values(
            id=job_id,
            org_id=caller.org_id,
            person_id=caller.person_key,
            kind=kind,
            site_url=site_url,
            params=params,
            status="running",
            total=0,
            done=0,
            message="",
            created=now,
            updated=now,
        )
    )
    return job_id


def _set_total(conn: Connection, job_id: str, total: int) -> None:
    status = "running" if total else "done"
    conn.execute(update(ConsoleJob).where(ConsoleJob.id == job_id).values(total=total, status=status))


def start_offboard(
    conn: Connection,
    caller: TokenOwner,
    site_id: int,
    site_url: str,
    from_key: int,
    from_email: str,
    to_email: str,
    now: datetime,
) -> str:
    """A job holding every series ``from_key`` hosts on the site now, by first start (one INSERT ...
    SELECT on the host's index)."""
    job_id = _new_job(conn, caller, "offboard", site_url, {"from": from_email, "to": to_email}, now)
    order = func.row_number().over(order_by=(MeetingSeries.start, MeetingSeries.id))
    chosen = select(
        literal(job_id),
        order,
        MeetingSeries.id,
        MeetingSeries.title,
        literal(PENDING),
        literal(""),
    ).where(MeetingSeries.host_id == from_key, MeetingSeries.site_id == site_id)
    conn.execute(
        insert(ConsoleJobItem).from_select(["job_id", "seq", "subject", "title", "result", "reason"], chosen)
    )
    added = conn.execute(
        select(func.count()).select_from(ConsoleJobItem).where(ConsoleJobItem.job_id == job_id)
    ).scalar_one()
    _set_total(conn, job_id, added)
    return job_id


def start_rooms(
    conn: Connection,
    caller: TokenOwner,
    site_url: str,
    lines: Sequence[tuple[int, str, str | None]],
    by_email: bool,
    now: datetime,
) -> str:
    """A job holding the CSV's lines: ``(line number, email or personId, new ID or None: generated)``."""
    job_id = _new_job(conn, caller, "rooms", site_url, {"byEmail": by_email}, now)
    if lines:
        conn.execute(
            insert(ConsoleJobItem),
            [
                {
                    "job_id": job_id,
                    "seq": line,
                    "subject": who,
                    "title": "",
                    "new_value": new_id,
                    "result": PENDING,
                    "reason": "",
                }
                for line, who, new_id in lines
            ],
        )
    _set_total(conn, job_id, len(lines))
    return job_id


def find_job(conn: Connection, org_id: str, job_id: str) -> Job | None:
    """A job of the caller's organisation (another organisation's job is not found)."""
    row = conn.execute(
        select(ConsoleJob).where(ConsoleJob.id == job_id[:32], ConsoleJob.org_id == org_id)
    ).one_or_none()
    if row is None:
        return None
    m = row._mapping
    return Job(
        m["id"], m["kind"], m["site_url"], dict(m["params"]), m["status"], m["total"], m["done"],
        m["message"], m["created"],
    )  # fmt: skip


def pending(conn: Connection, job_id: str, limit: int = BATCH) -> list[Item]:
    return _items(
        conn,
        select(ConsoleJobItem)
        .where(ConsoleJobItem.job_id == job_id, ConsoleJobItem.result == PENDING)
        .order_by(ConsoleJobItem.seq)
        .limit(limit),
    )


def items_page(conn: Connection, job_id: str, offset: int, limit: int) -> list[Item]:
    return _items(
        conn,
        select(ConsoleJobItem)
        .where(ConsoleJobItem.job_id == job_id)
        .order_by(ConsoleJobItem.seq)
        .offset(offset)
        .limit(limit),
    )


def all_items(conn: Connection, job_id: str) -> Iterator[Item]:
    """Every item in order, a thousand at a time (the CSV report)."""
    after = -1
    while True:
        chunk = _items(
            conn,
            select(ConsoleJobItem)
            .where(ConsoleJobItem.job_id == job_id, ConsoleJobItem.seq > after)
            .order_by(ConsoleJobItem.seq)
            .limit(1000),
        )
        yield from chunk
        if len(chunk) < 1000:
            return
        after = chunk[-1].seq


def _items(conn: Connection, stmt: Any) -> list[Item]:
    return [
        Item(r.seq, r.subject, r.title, r.old_value, r.new_value, r.status, r.result, r.reason)
        for r in conn.execute(stmt)
    ]


def counts(conn: Connection, job_id: str) -> dict[str, int]:
    """How many items have each result."""
    rows = conn.execute(
        select(ConsoleJobItem.result, func.count())
        .where(ConsoleJobItem.job_id == job_id)
        .group_by(ConsoleJobItem.result)
    )
    return {result: n for result, n in rows}


def record(conn: Connection, job_id: str, updates: list[Update], now: datetime) -> None:
    """Write a batch's results and move the job's progress on."""
    if updates:
        conn.execute(
            update(ConsoleJobItem)
            .where(ConsoleJobItem.job_id == job_id, ConsoleJobItem.seq == bindparam("k_seq"))
            .values(
                result=bindparam("k_result"),
                status=bindparam("k_status"),
                reason=bindparam("k_reason"),
                old_value=bindparam("k_old"),
                new_value=bindparam("k_new"),
            ),
            [
                {
                    "k_seq": u.seq,
                    "k_result": u.result,
                    "k_status": u.status,
                    "k_reason": u.reason,
                    "k_old": u.old_value,
                    "k_new": u.new_value,
                }
                for u in updates
            ],
        )
    left = conn.execute(
        select(func.count())
        .select_from(ConsoleJobItem)
        .where(ConsoleJobItem.job_id == job_id, ConsoleJobItem.result == PENDING)
    ).scalar_one()
    job = conn.execute(select(ConsoleJob.total).where(ConsoleJob.id == job_id)).scalar_one()
    conn.execute(
        update(ConsoleJob)
        .where(ConsoleJob.id == job_id)
        .values(done=job - left, status="running" if left else "done", updated=now)
    )


def fail(conn: Connection, job_id: str, message: str, now: datetime) -> None:
    """Stop a job whose next batch was refused as a whole (its pending items stay pending)."""
    conn.execute(
        update(ConsoleJob)
        .where(ConsoleJob.id == job_id)
        .values(status="stopped", message=message, updated=now)
    )


def recent_jobs(conn: Connection, org_id: str, limit: int = 10) -> list[Job]:
    rows = conn.execute(
        select(ConsoleJob.id)
        .where(ConsoleJob.org_id == org_id)
        .order_by(ConsoleJob.created.desc())
        .limit(limit)
    )
    found = [find_job(conn, org_id, r.id) for r in rows]
    return [j for j in found if j is not None]
