"""Meeting series queries for reassignment: loaded and changed in a few set-based statements.

This is the hot path of every reassignment, so its statements are hand-written SQL run on the driver
(``store.db.run_sql``); the tables are those of ``store.models``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from meetadmin.domain.reassign import SeriesFacts
from meetadmin.store.db import db_json, db_time, from_db_time, insert_rows, marks, run_sql


@dataclass(frozen=True)
class SeriesRow:
    facts: SeriesFacts
    title: str
    host_email: str
    host_display_name: str
    start: datetime


_SERIES = (
    "SELECT s.id, site.site_url, s.host_id, s.scheduled_type, s.state, s.session_type_id, t.kind, "
    "s.callback, s.integration, s.scheduled_by_id, s.title, h.email, h.display_name, s.start, s.org_id "
    "FROM meeting_series s JOIN sites site ON site.id = s.site_id JOIN people h ON h.id = s.host_id "
    "LEFT JOIN session_types t ON t.site_id = s.site_id AND t.type_id = s.session_type_id "
    # By primary key only: with an organisation condition beside a long IN list, SQLite's planner (which
    # has no statistics) would scan the whole organisation. The organisation is checked on each row.
    "WHERE s.id IN ({ids}) AND s.deleted_at IS NULL ORDER BY s.id"  # a deleted series is not found
)
# Lock the rows on their own first: PostgreSQL re-checks a locked join after waiting for a concurrent
# writer, and would drop a row whose host just changed from a joined FOR UPDATE query.
_LOCK_SERIES = "SELECT id FROM meeting_series WHERE org_id = ? AND id IN ({ids}) ORDER BY id FOR UPDATE"
_SET_HOST = "UPDATE meeting_series SET host_id = ?, updated = ? WHERE id IN ({ids})"
_ADD_NOTICE = "INSERT INTO notices (org_id, kind, recipient, subject, payload, created, sent_at) VALUES"
_NOTICE_ROW = "(?, ?, ?, ?, ?, ?, NULL)"


def series_for_reassign(
    conn: Connection, org_id: str, series_ids: list[str], lock: bool
) -> dict[str, SeriesRow]:
    """The organisation's series among ``series_ids``; IDs of other organisations are simply absent.

    With ``lock`` the rows are locked for the transaction (PostgreSQL), so two concurrent reassignments
    of one series serialise instead of racing. (Hand-written SQL: see ``store.db.run_sql``.)
    """
    if not series_ids:
        return {}
    ids = sorted(series_ids)
    if lock and conn.dialect.name != "sqlite":  # SQLite writers are already serialised (BEGIN IMMEDIATE)
        run_sql(conn, _LOCK_SERIES.format(ids=marks(len(ids))), [org_id, *ids])
    rows: dict[str, SeriesRow] = {}
    for r in run_sql(conn, _SERIES.format(ids=marks(len(ids))), ids):
        if r[14] != org_id:
            continue  # another organisation's meeting is simply not found
        facts = SeriesFacts(
            id=r[0],
            site_url=r[1],
            host_key=r[2],
            scheduled_type=r[3],
            state=r[4],
            session_type_id=r[5],
            session_type_kind=r[6],
            callback=bool(r[7]),
            integration=r[8],
            scheduled_on_behalf=r[9] is not None and r[9] != r[2],
        )
        rows[r[0]] = SeriesRow(
            facts=facts, title=r[10], host_email=r[11], host_display_name=r[12], start=from_db_time(r[13])
        )
    return rows


def set_host(conn: Connection, series_ids: list[str], host_key: int, now: datetime) -> None:
    """Give the series a new host. Ended instances keep the host they ran under (their own column)."""
    run_sql(conn, _SET_HOST.format(ids=marks(len(series_ids))), [host_key, db_time(conn, now), *series_ids])


def add_notices(conn: Connection, notices: list[dict[str, Any]]) -> None:
    """Queue notices (``org_id``, ``kind``, ``recipient``, ``subject``, ``payload``, ``created``)."""
    insert_rows(
        conn,
        _ADD_NOTICE,
        _NOTICE_ROW,
        [
            (
                n["org_id"],
                n["kind"],
                n["recipient"],
                n["subject"],
                db_json(n["payload"]),
                db_time(conn, n["created"]),
            )
            for n in notices
        ],
    )
