"""Meeting series queries for reassignment: loaded and changed in a few set-based statements.

This is the hot path of every reassignment, so its statements are hand-written SQL run on the driver
(``store.driver.run_sql``); the tables are those of ``store.models``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from meetadmin.domain.reassign import SeriesFacts
from meetadmin.store.db import db_time, from_db_time
from meetadmin.store.driver import marks, read_later, run_later, sql


class SeriesRow(NamedTuple):
    facts: SeriesFacts
    title: str
    host_email: str
    host_display_name: str
    start: str  # the first start, UTC, as Webex writes times: 2026-12-01T10:00:00Z
    timezone: str
    recurrence: str | None


class _Series(NamedTuple):  # a row of _SERIES
    id: str
    site_url: str
    host_id: int
    scheduled_type: str
    state: str
    session_type_id: str
    kind: str | None
    callback: Any
    integration: str | None
    scheduled_by_id: int | None
    title: str
    email: str
    display_name: str
    start: Any
    org_id: str
    timezone: str
    recurrence: str | None


_SERIES = sql(
    "SELECT s.id, site.site_url, s.host_id, s.scheduled_type, s.state, s.session_type_id, t.kind, "
    "s.callback, s.integration, s.scheduled_by_id, s.title, h.email, h.display_name, s.start, s.org_id, "
    "s.timezone, s.recurrence "
    "FROM meeting_series s JOIN sites site ON site.id = s.site_id JOIN people h ON h.id = s.host_id "
    "LEFT JOIN session_types t ON t.site_id = s.site_id AND t.type_id = s.session_type_id "
    # By primary key only: with an organisation condition beside a long IN list, SQLite's planner (which
    # has no statistics) would scan the whole organisation. The organisation is checked on each row.
    "WHERE s.id IN ({ids}) AND s.deleted_at IS NULL ORDER BY s.id",  # a deleted series is not found
    row=_Series,
)
# PostgreSQL: lock and read in one statement. A FOR UPDATE on the join itself would not do: PostgreSQL
# re-checks a locked join after waiting for a concurrent writer, with the other tables' rows as they
# were, and would drop a row whose host just changed. So the rows are locked in a CTE on meeting_series
# alone (a CTE with FOR UPDATE is never inlined), and every series column is taken from the CTE: after
# waiting, FOR UPDATE yields the row as the other writer left it, where a second scan of meeting_series
# would see the statement's older snapshot. The joined sites, people and session types are read as of
# the snapshot, and it is the new host_id that picks the person.
_LOCKED_SERIES = sql(
    "WITH s AS MATERIALIZED (SELECT id, site_id, host_id, scheduled_type, state, session_type_id, "
    "callback, integration, scheduled_by_id, title, start, org_id, timezone, recurrence FROM meeting_series "
    "WHERE org_id = ? AND id IN ({ids}) AND deleted_at IS NULL ORDER BY id FOR UPDATE) "
    "SELECT s.id, site.site_url, s.host_id, s.scheduled_type, s.state, s.session_type_id, t.kind, "
    "s.callback, s.integration, s.scheduled_by_id, s.title, h.email, h.display_name, s.start, s.org_id, "
    "s.timezone, s.recurrence "
    "FROM s JOIN sites site ON site.id = s.site_id JOIN people h ON h.id = s.host_id "
    "LEFT JOIN session_types t ON t.site_id = s.site_id AND t.type_id = s.session_type_id ORDER BY s.id",
    row=_Series,
    dialect="postgresql",
)
_SET_HOST = sql("UPDATE meeting_series SET host_id = ?, updated = ? WHERE id IN ({ids})")


def series_for_reassign_later(
    conn: Connection, org_id: str, series_ids: list[str], lock: bool
) -> Callable[[], dict[str, SeriesRow]]:
    """The organisation's series among ``series_ids``, asked for now and read when the returned function
    is called; IDs of other organisations are simply absent. On PostgreSQL the statement goes out with
    the next one the transaction waits for (``store.driver.read_later``), in the same round trip.

    With ``lock`` the rows are locked for the transaction (PostgreSQL), so two concurrent reassignments
    of one series serialise instead of racing."""
    if not series_ids:
        return dict
    ids = sorted(series_ids)
    if lock and conn.dialect.name != "sqlite":  # SQLite writers are already serialised (BEGIN IMMEDIATE)
        later = read_later(conn, _LOCKED_SERIES.format(ids=marks(len(ids))), [org_id, *ids])
    else:
        later = read_later(conn, _SERIES.format(ids=marks(len(ids))), ids)
    return lambda: _series_rows(org_id, later())


def _series_rows(org_id: str, found_rows: list[Any]) -> dict[str, SeriesRow]:
    rows: dict[str, SeriesRow] = {}
    for found in found_rows:
        r = _Series._make(found)
        if r.org_id != org_id:
            continue  # another organisation's meeting is simply not found
        facts = SeriesFacts(
            r.id,
            r.site_url,
            r.host_id,
            r.scheduled_type,
            r.state,
            r.session_type_id,
            r.kind,
            bool(r.callback),
            r.integration,
            r.scheduled_by_id is not None and r.scheduled_by_id != r.host_id,
        )
        rows[r.id] = SeriesRow(
            facts, r.title, r.email, r.display_name, webex_time(r.start), r.timezone, r.recurrence
        )
    return rows


def webex_time(value: Any) -> str:
    """A stored time as Webex writes it (``2026-12-01T10:00:00Z``); SQLite's text form is cut, not parsed
    (SQLAlchemy stores ``2026-12-01 10:00:00.000000``)."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == " ":
        return f"{value[:10]}T{value[11:19]}Z"
    return from_db_time(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_host(conn: Connection, series_ids: list[str], host_key: int, now: datetime) -> None:
    """Give the series a new host. Ended instances keep the host they ran under (their own column).
    Deferred on PostgreSQL (``store.driver.run_later``): it goes out with the next statement."""
    run_later(conn, _SET_HOST.format(ids=marks(len(series_ids))), [host_key, db_time(conn, now), *series_ids])
