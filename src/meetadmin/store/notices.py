"""Notices (e-mails) owed to people: the outbox the mail sender drains and the mailbox that keeps them.

A notice is written in the same transaction as the change that causes it (a reassignment, a personal
room refresh). Its text is rendered from ``payload`` whenever it is sent or read
(``outbound/mail.py``). Delivery state: ``status`` is ``pending`` until the notice is ``sent`` or its
attempts run out (``failed``); ``next_attempt_at`` is when a pending notice is due (NULL: now).

The inserts run on every reassignment and refresh, so they are hand-written multi-row SQL
(``store.driver.insert_rows``); the sender's and the mailbox's queries use SQLAlchemy Core, but for the
search by recipient, which names its index on SQLite (``_ids_to``). The sender's
queries name ``status = 'pending'`` literally so that SQLite's planner uses the partial index
``ix_notices_pending``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, func, select, text, update

from meetadmin.store.db import db_json, db_time
from meetadmin.store.driver import insert_rows, run_sql
from meetadmin.store.models import Notice

# Set on a connection that added notices: the mail sender wakes when it returns to the pool committed
# (``outbound/mail_sender``).
ADDED = "meetadmin_notices_added"

ROOM_CHANGED = "personalRoomChanged"
MEETING_CANCELLED = "meetingCancelled"

_ADD = "INSERT INTO notices (org_id, kind, recipient, recipient_key, subject, payload, created) VALUES"
_ROW = "(?, ?, ?, ?, ?, ?, ?)"
_PENDING = text("notices.status = 'pending'")


class RoomChange(NamedTuple):
    """One person's personal room ID changed by a refresh."""

    email: str
    display_name: str
    site_url: str
    old_id: str | None  # None: the person had no personal room ID on the site before
    new_id: str
    changed_by: str  # the email of who refreshed it


class NewNotice(NamedTuple):
    """A notice to queue: rendered from ``payload`` when it is sent or read (``outbound/mail.py``)."""

    org_id: str
    kind: str
    recipient: str
    subject: str
    payload: dict[str, Any]


def add_notices(conn: Connection, now: datetime, notices: Sequence[NewNotice]) -> None:
    """Queue notices created ``now``, in one statement per hundred."""
    created = db_time(conn, now)
    rows = [
        (n.org_id, n.kind, n.recipient, n.recipient.lower(), n.subject, db_json(n.payload), created)
        for n in notices
    ]
    if rows:
        insert_rows(conn, _ADD, _ROW, rows)
        conn.info[ADDED] = True


def add_room_notices(conn: Connection, org_id: str, now: datetime, changes: Sequence[RoomChange]) -> None:
    """A notice to each person whose personal room ID a refresh changed: the new link, the old ID."""
    created = db_time(conn, now)
    rows = [
        (
            org_id,
            ROOM_CHANGED,
            c.email,
            c.email.lower(),
            f"Your personal room on {c.site_url} has a new link",
            db_json(
                {
                    "email": c.email,
                    "displayName": c.display_name,
                    "siteUrl": c.site_url,
                    "oldRoomId": c.old_id,
                    "newRoomId": c.new_id,
                    "changedBy": c.changed_by,
                }
            ),
            created,
        )
        for c in changes
    ]
    if rows:
        insert_rows(conn, _ADD, _ROW, rows)
        conn.info[ADDED] = True


@dataclass(frozen=True)
class NoticeRow:
    id: int
    org_id: str
    kind: str
    recipient: str
    subject: str
    payload: dict[str, Any]
    created: datetime
    sent_at: datetime | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


NOTICE_COLUMNS = (  # what a NoticeRow is read from
    Notice.id,
    Notice.org_id,
    Notice.kind,
    Notice.recipient,
    Notice.subject,
    Notice.payload,
    Notice.created,
    Notice.sent_at,
    Notice.status,
    Notice.attempts,
    Notice.next_attempt_at,
    Notice.last_error,
)


def notice_row(r: Any) -> NoticeRow:
    """A notice read with ``NOTICE_COLUMNS``."""
    m = r._mapping
    return NoticeRow(**{c.key: m[c.key] for c in NOTICE_COLUMNS})


# --- The sender -------------------------------------------------------------------------------------


def claim_due(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[NoticeRow]:
    """Up to ``limit`` pending notices that are due, oldest first, claimed for one attempt: their
    attempt count goes up and they are not due again before ``lease_until`` (should the process stop
    while sending, another one sends them then). On PostgreSQL, rows another process is claiming
    are skipped (``FOR UPDATE SKIP LOCKED``); SQLite's write transaction is the claim's lock."""
    due = (
        select(*NOTICE_COLUMNS)
        .where(_PENDING, (Notice.next_attempt_at.is_(None)) | (Notice.next_attempt_at <= now))
        .order_by(Notice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = [notice_row(r) for r in conn.execute(due)]
    if not rows:
        return []
    conn.execute(
        update(Notice)
        .where(Notice.id.in_([r.id for r in rows]))
        .values(attempts=Notice.attempts + 1, next_attempt_at=lease_until)
    )
    return [
        NoticeRow(**{**r.__dict__, "attempts": r.attempts + 1, "next_attempt_at": lease_until}) for r in rows
    ]


def record_sent(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn.execute(
            update(Notice)
            .where(Notice.id.in_(list(ids)))
            .values(status="sent", sent_at=now, next_attempt_at=None, last_error=None)
        )


def record_failure(conn: Connection, notice_id: int, error: str, retry_at: datetime | None) -> None:
    """A failed attempt: due again at ``retry_at``, or ``failed`` for good without one."""
    conn.execute(
        update(Notice)
        .where(Notice.id == notice_id, _PENDING)
        .values(
            status="pending" if retry_at is not None else "failed",
            next_attempt_at=retry_at,
            last_error=error[:2000],
        )
    )


def next_due(conn: Connection) -> datetime | None:
    """When the earliest pending notice is due (``datetime.min`` if one is due now), None if none is."""
    row = conn.execute(
        select(
            func.count().filter(Notice.next_attempt_at.is_(None)).label("now"),
            func.min(Notice.next_attempt_at).label("first"),
        ).where(_PENDING)
    ).one()
    if row.now:
        return datetime.min
    first: datetime | None = row.first
    return first


def prune(conn: Connection, before: datetime) -> int:
    """Forget notices created before ``before``; how many."""
    return int(conn.execute(delete(Notice).where(Notice.created < before)).rowcount)


# --- The mailbox ------------------------------------------------------------------------------------


def mailbox(
    conn: Connection,
    since: datetime,
    to: str | None,
    before_id: int | None,
    limit: int,
    org_id: str | None = None,
) -> list[NoticeRow]:
    """Notices created at ``since`` or later, newest first, optionally only those to one address (any
    case), only those older than ``before_id`` (the next page) and only one organisation's."""
    query = select(*NOTICE_COLUMNS).order_by(Notice.id.desc())
    if to is not None:
        query = query.where(Notice.id.in_(_ids_to(conn, since, to, before_id, limit, org_id)))
    else:
        query = query.where(Notice.created >= since).limit(limit)
        if org_id is not None:
            query = query.where(Notice.org_id == org_id)
        if before_id is not None:
            query = query.where(Notice.id < before_id)
    return [notice_row(r) for r in conn.execute(query)]


def _ids_to(
    conn: Connection, since: datetime, to: str, before_id: int | None, limit: int, org_id: str | None
) -> list[int]:
    return [r[0] for r in run_sql(conn, *recipient_search(conn, since, to, before_id, limit, org_id))]


def recipient_search(
    conn: Connection, since: datetime, to: str, before_id: int | None, limit: int, org_id: str | None
) -> tuple[str, list[Any]]:
    """The query for the IDs of ``mailbox``'s notices to one address, and its parameters. It scans
    ``ix_notices_recent_recipient`` (created, recipient) over the window, which reads only the index's
    entries and then the rows that match (at a million notices kept, about 80 ms on SQLite). SQLite,
    which has no statistics, would rather read the table backwards by ID, every row in the window; it
    is told which index to use."""
    index = " INDEXED BY ix_notices_recent_recipient" if conn.dialect.name == "sqlite" else ""
    sql = f"SELECT id FROM notices{index} WHERE created >= ? AND recipient_key = ?"
    params: list[Any] = [db_time(conn, since), to.strip().lower()]
    if org_id is not None:
        sql += " AND org_id = ?"
        params.append(org_id)
    if before_id is not None:
        sql += " AND id < ?"
        params.append(before_id)
    return f"{sql} ORDER BY id DESC LIMIT ?", [*params, limit]


def notice_by_id(conn: Connection, notice_id: int, since: datetime) -> NoticeRow | None:
    found = conn.execute(
        select(*NOTICE_COLUMNS).where(Notice.id == notice_id, Notice.created >= since)
    ).first()
    return notice_row(found) if found is not None else None


def empty_mailbox(conn: Connection) -> int:
    """Forget every notice, sent or not; how many."""
    return int(conn.execute(delete(Notice)).rowcount)
