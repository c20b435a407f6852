"""The webhook outbox: events (written with the change that fires them), the queue of deliveries still
owed (one row per event and webhook), claims on it by the dispatchers of every server process, and the
delivery log (one row per attempt).

Claims are leases: a process marks the rows it takes with its name and an expiry, sends them, and then
removes them (delivered or given up) or schedules them again; a row whose lease has run out (its process
was killed) is anyone's again. On PostgreSQL the claim skips rows another process is claiming at that
moment (``FOR UPDATE SKIP LOCKED``); on SQLite claims are write transactions, one at a time. A row is
only claimed when no earlier row of the same webhook and meeting series is still owed, so each webhook
gets the events of a series in order. Queue times (``due``, ``lease_until``) are the wall clock's, not
the sandbox's: deliveries go on whatever the sandbox's clock says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from meetadmin.store.db import db_time, from_db_time
from meetadmin.store.driver import insert_rows, marks, run_count, run_many, run_sql, sql

_ADD_EVENTS = (
    "INSERT INTO webhook_events (org_id, resource, event, meeting_id, series_id, actor_id, data, created) "
    "VALUES"
)
_EVENT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
_ADD_QUEUE = "INSERT INTO webhook_queue (webhook_id, event_id, series_id, attempts, due) VALUES"
_QUEUE_ROW = "(?, ?, ?, 0, ?)"


@dataclass(frozen=True)
class NewEvent:
    org_id: str
    resource: str
    event: str
    meeting_id: str
    series_id: str
    actor_id: str
    data: str  # JSON text
    created: datetime


def add_event_rows(conn: Connection, events: list[NewEvent]) -> list[int]:
    """Insert the events; their IDs, in the order given."""
    ids: list[int] = []
    for start in range(0, len(events), 100):
        chunk = events[start : start + 100]
        sql = f"{_ADD_EVENTS} {', '.join([_EVENT_ROW] * len(chunk))} RETURNING id"
        params = [
            v
            for e in chunk
            for v in (
                e.org_id,
                e.resource,
                e.event,
                e.meeting_id,
                e.series_id,
                e.actor_id,
                e.data,
                db_time(conn, e.created),
            )
        ]
        ids.extend(sorted(r[0] for r in run_sql(conn, sql, params)))  # IDs grow with the VALUES order
    return ids


def add_queue_rows(conn: Connection, rows: list[tuple[str, int, str]], due: datetime) -> None:
    """Owe ``(webhook ID, event ID, series ID)`` deliveries from ``due`` on."""
    when = db_time(conn, due)
    insert_rows(conn, _ADD_QUEUE, _QUEUE_ROW, [(w, e, s, when) for w, e, s in rows])


class SeriesRow(NamedTuple):
    """A series as an event shows it, with its site's URL and its host."""

    id: str
    org_id: str
    site_id: int
    host_id: int
    title: str
    agenda: str
    start: Any
    end: Any
    timezone: str
    recurrence: str | None
    session_type_id: str
    scheduled_type: str
    state: str
    meeting_number: str
    password: str
    deleted_at: Any
    site_url: str
    person_id: str
    email: str
    display_name: str


_SERIES = sql(
    'SELECT s.id, s.org_id, s.site_id, s.host_id, s.title, s.agenda, s.start, s."end", s.timezone, '
    "s.recurrence, s.session_type_id, s.scheduled_type, s.state, s.meeting_number, s.password, "
    "s.deleted_at, t.site_url, p.person_id, p.email, p.display_name "
    "FROM meeting_series s JOIN sites t ON t.id = s.site_id JOIN people p ON p.id = s.host_id "
    "WHERE s.id IN ({ids})",
    row=SeriesRow,
)


def event_series(conn: Connection, series_ids: list[str]) -> list[SeriesRow]:
    """The series (at most 500) with their site's URL and host (times as the driver gives them)."""
    return [SeriesRow._make(r) for r in run_sql(conn, _SERIES.format(ids=marks(len(series_ids))), series_ids)]


# --- claims -----------------------------------------------------------------------------------------

_DUE = "SELECT 1 FROM webhook_queue WHERE due <= ? AND (lease_until IS NULL OR lease_until < ?) LIMIT 1"
# The queue in ID order, a page at a time: the first owed row of each webhook and series is found here,
# in Python, not with an index on (webhook_id, series_id) (migration 0011: such an index made every
# queued delivery an insert at a random place, the larger part of what events cost a change).
_SCAN = (
    "SELECT id, webhook_id, series_id, due, lease_until FROM webhook_queue WHERE id > ? "
    "ORDER BY id LIMIT {page}"
)
_SCAN_PAGE = 500
_TAKE = (
    "SELECT id FROM webhook_queue WHERE id IN ({ids}) AND due <= ? "
    "AND (lease_until IS NULL OR lease_until < ?)"
)
_LEASE = "UPDATE webhook_queue SET lease_until = ?, lease_owner = ? WHERE id IN ({ids})"
_CLAIMED = (
    "SELECT q.id, q.webhook_id, q.event_id, q.series_id, q.attempts, e.event, e.actor_id, e.data, "
    "e.created FROM webhook_queue q JOIN webhook_events e ON e.id = q.event_id WHERE q.id IN ({ids}) "
    "ORDER BY q.id"
)


@dataclass(frozen=True)
class Claimed:
    queue_id: int
    webhook_id: str
    event_id: int
    series_id: str
    attempts: int  # attempts made before this one
    event: str
    actor_id: str
    data: str
    event_created: datetime


def anything_due(conn: Connection, now: datetime) -> bool:
    t = db_time(conn, now)
    return bool(run_sql(conn, _DUE, [t, t]))


def claim(conn: Connection, owner: str, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due rows for ``owner`` until ``lease_until`` (in a write transaction). A row
    is taken only if it is the first owed row of its webhook and series: the queue is read in ID order
    and every (webhook, series) seen (leased, not yet due or taken) holds back the rows after it."""
    t = db_time(conn, now)
    ids = _first_due(conn, t, limit)
    if not ids:
        return []
    take = _TAKE.format(ids=marks(len(ids)))
    if conn.dialect.name != "sqlite":
        take += " FOR UPDATE SKIP LOCKED"  # another process may be claiming them right now
    ids = sorted(r[0] for r in run_sql(conn, take, [*ids, t, t]))
    if not ids:
        return []
    run_sql(conn, _LEASE.format(ids=marks(len(ids))), [db_time(conn, lease_until), owner, *ids])
    rows = run_sql(conn, _CLAIMED.format(ids=marks(len(ids))), ids)
    return [Claimed(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], from_db_time(r[8])) for r in rows]


def _first_due(conn: Connection, t: Any, limit: int) -> list[int]:
    seen: set[tuple[str, str]] = set()
    picked: list[int] = []
    last = 0
    sql = _SCAN.format(page=_SCAN_PAGE)
    while len(picked) < limit:
        rows = run_sql(conn, sql, [last])
        for queue_id, webhook_id, series_id, due, lease in rows:
            pair = (webhook_id, series_id)
            if pair in seen:
                continue
            seen.add(pair)
            if due <= t and (lease is None or lease < t):
                picked.append(queue_id)
                if len(picked) == limit:
                    break
        if len(rows) < _SCAN_PAGE:
            break
        last = rows[-1][0]
    return picked


# --- outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One attempt: ``ok`` (a 2xx), else the status or error; ``retry_at`` when it is to be tried again."""

    claimed: Claimed
    ok: bool
    response_status: int | None
    error: str | None
    elapsed_ms: int
    retry_at: datetime | None


_DONE = "DELETE FROM webhook_queue WHERE lease_owner = ? AND id IN ({ids})"
_AGAIN = (
    "UPDATE webhook_queue SET attempts = ?, due = ?, lease_until = NULL, lease_owner = NULL "
    "WHERE id = ? AND lease_owner = ?"
)
_LOG = (
    "INSERT INTO webhook_deliveries "
    "(webhook_id, event_id, attempt, status, response_status, error, elapsed_ms, created) VALUES"
)
_LOG_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
_RESET = "UPDATE webhooks SET failures = ? WHERE id = ?"
_ADD_FAILURES = "UPDATE webhooks SET failures = failures + ? WHERE id = ?"
_TO_DEACTIVATE = "SELECT id FROM webhooks WHERE status = 'active' AND failures >= ? AND id IN ({ids})"
_DEACTIVATE = "UPDATE webhooks SET status = 'inactive' WHERE id IN ({ids})"
_DROP_OWED = "DELETE FROM webhook_queue WHERE webhook_id IN ({ids})"


def finish(
    conn: Connection, owner: str, outcomes: list[Outcome], now: datetime, deactivate_after: int
) -> list[str]:
    """Record attempts (in the order they ended): log them, drop what is delivered or given up, schedule
    retries, count each webhook's consecutive failures and deactivate the webhooks that reached
    ``deactivate_after`` (their owed deliveries are dropped: nothing of the inactive time is replayed).
    The IDs of the webhooks deactivated."""
    if not outcomes:
        return []
    done = [o.claimed.queue_id for o in outcomes if o.ok or o.retry_at is None]
    if done:
        run_count(conn, _DONE.format(ids=marks(len(done))), [owner, *done])
    again = [o for o in outcomes if not o.ok and o.retry_at is not None]
    run_many(
        conn,
        _AGAIN,
        [
            (o.claimed.attempts + 1, db_time(conn, o.retry_at), o.claimed.queue_id, owner)
            for o in again
            if o.retry_at
        ],
    )
    logged = now
    insert_rows(
        conn,
        _LOG,
        _LOG_ROW,
        [
            (
                o.claimed.webhook_id,
                o.claimed.event_id,
                o.claimed.attempts + 1,
                "delivered" if o.ok else ("retrying" if o.retry_at is not None else "failed"),
                o.response_status,
                (o.error or "")[:500] or None,
                o.elapsed_ms,
                db_time(conn, logged),
            )
            for o in outcomes
        ],
    )
    # Consecutive failures per webhook: a success resets the count to the failures after it.
    after_success: dict[str, int | None] = {}
    added: dict[str, int] = defaultdict(int)
    for o in outcomes:
        hook = o.claimed.webhook_id
        if o.ok:
            after_success[hook] = 0
            added[hook] = 0
        else:
            added[hook] += 1
            if hook in after_success:
                after_success[hook] = added[hook]
    for hook, count in added.items():
        if hook in after_success:
            run_sql(conn, _RESET, [count, hook])
        elif count:
            run_sql(conn, _ADD_FAILURES, [count, hook])
    failing = sorted(h for h, n in added.items() if n)
    if not failing:
        return []
    dead = [
        r[0]
        for r in run_sql(conn, _TO_DEACTIVATE.format(ids=marks(len(failing))), [deactivate_after, *failing])
    ]
    if dead:
        run_sql(conn, _DEACTIVATE.format(ids=marks(len(dead))), dead)
        run_sql(conn, _DROP_OWED.format(ids=marks(len(dead))), dead)
    return dead


# --- the log and housekeeping -------------------------------------------------------------------------

_LOG_COLUMNS = (
    "SELECT d.id, d.webhook_id, d.event_id, d.attempt, d.status, d.response_status, d.error, "
    "d.elapsed_ms, d.created, e.resource, e.event, e.meeting_id, e.created "
    "FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
    "JOIN webhooks w ON w.id = d.webhook_id"
)


@dataclass(frozen=True)
class LoggedAttempt:
    id: int
    webhook_id: str
    event_id: int
    attempt: int
    status: str
    response_status: int | None
    error: str | None
    elapsed_ms: int
    created: datetime
    resource: str
    event: str
    meeting_id: str
    event_created: datetime


def logged_attempts(
    conn: Connection,
    webhook_id: str | None,
    status: str | None,
    before: int | None,
    after: int | None,
    limit: int,
) -> list[LoggedAttempt]:
    """Attempts, newest first (``before``/``after``: attempt IDs to page from)."""
    where: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("d.webhook_id = ?", webhook_id),
        ("d.status = ?", status),
        ("d.id < ?", before),
        ("d.id > ?", after),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = _LOG_COLUMNS + (" WHERE " + " AND ".join(where) if where else "")
    sql += f" ORDER BY d.id DESC LIMIT {int(limit)}"
    return [
        LoggedAttempt(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            from_db_time(r[8]),
            r[9],
            r[10],
            r[11],
            from_db_time(r[12]),
        )
        for r in run_sql(conn, sql, params)
    ]


def attempt_by_id(conn: Connection, attempt_id: int) -> tuple[str, int, str] | None:
    """The webhook, event and series of a logged attempt."""
    rows = run_sql(
        conn,
        "SELECT d.webhook_id, d.event_id, e.series_id FROM webhook_deliveries d "
        "JOIN webhook_events e ON e.id = d.event_id WHERE d.id = ?",
        [attempt_id],
    )
    return (rows[0][0], rows[0][1], rows[0][2]) if rows else None


def purge(conn: Connection, cutoff: datetime) -> None:
    """Forget attempts and events older than ``cutoff`` (events still owed stay)."""
    t = db_time(conn, cutoff)
    run_sql(conn, "DELETE FROM webhook_deliveries WHERE created < ?", [t])
    run_sql(
        conn,
        "DELETE FROM webhook_events WHERE created < ? AND NOT EXISTS "
        "(SELECT 1 FROM webhook_queue q WHERE q.event_id = webhook_events.id)",
        [t],
    )
