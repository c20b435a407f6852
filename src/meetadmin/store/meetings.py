"""Meeting series queries for reassignment: loaded and changed in a few set-based statements.

The statements are built once (with expanding bind parameters for the ID lists) and run on the Core
connection: this is the hot path of a bulk reassignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session, aliased

from meetadmin.domain.reassign import SeriesFacts
from meetadmin.store.models import MeetingSeries, Notice, Person, SessionType, Site


@dataclass(frozen=True)
class SeriesRow:
    facts: SeriesFacts
    title: str
    host_email: str
    host_display_name: str
    start: datetime


_host = aliased(Person)
_SERIES = (
    select(
        MeetingSeries.id,
        Site.site_url,
        MeetingSeries.host_id,
        MeetingSeries.scheduled_type,
        MeetingSeries.state,
        MeetingSeries.session_type_id,
        SessionType.kind,
        MeetingSeries.callback,
        MeetingSeries.integration,
        MeetingSeries.scheduled_by_id,
        MeetingSeries.title,
        _host.email,
        _host.display_name,
        MeetingSeries.start,
        MeetingSeries.org_id,
    )
    .join(Site, Site.id == MeetingSeries.site_id)
    .join(_host, _host.id == MeetingSeries.host_id)
    .outerjoin(
        SessionType,
        and_(
            SessionType.site_id == MeetingSeries.site_id, SessionType.type_id == MeetingSeries.session_type_id
        ),
    )
    # By primary key only: with an organisation condition beside a long IN list, SQLite's planner (which
    # has no statistics) would scan the whole organisation. The organisation is checked on each row.
    .where(MeetingSeries.id.in_(bindparam("ids", expanding=True)))
    .order_by(MeetingSeries.id)
)
# Lock the rows on their own first: PostgreSQL re-checks a locked join after waiting for a concurrent
# writer, and would drop a row whose host just changed from a joined FOR UPDATE query.
_LOCK_SERIES = (
    select(MeetingSeries.id)
    .where(
        MeetingSeries.org_id == bindparam("org_id"), MeetingSeries.id.in_(bindparam("ids", expanding=True))
    )
    .order_by(MeetingSeries.id)
    .with_for_update()
)
_SET_HOST = (
    update(MeetingSeries)
    .where(MeetingSeries.id.in_(bindparam("ids", expanding=True)))
    .values(host_id=bindparam("host_id"), updated=bindparam("now"))
)
_ADD_NOTICE = insert(Notice)


def series_for_reassign(
    session: Session, org_id: str, series_ids: list[str], lock: bool
) -> dict[str, SeriesRow]:
    """The organisation's series among ``series_ids``; IDs of other organisations are simply absent.

    With ``lock`` the rows are locked for the transaction (PostgreSQL), so two concurrent reassignments
    of one series serialise instead of racing.
    """
    if not series_ids:
        return {}
    conn = session.connection()
    params = {"org_id": org_id, "ids": sorted(series_ids)}
    if lock and conn.dialect.name != "sqlite":  # SQLite writers are already serialised (BEGIN IMMEDIATE)
        conn.execute(_LOCK_SERIES, params)
    rows: dict[str, SeriesRow] = {}
    for r in conn.execute(_SERIES, {"ids": params["ids"]}):
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
            callback=r[7],
            integration=r[8],
            scheduled_on_behalf=r[9] is not None and r[9] != r[2],
        )
        rows[r[0]] = SeriesRow(
            facts=facts, title=r[10], host_email=r[11], host_display_name=r[12], start=r[13]
        )
    return rows


def set_host(session: Session, series_ids: list[str], host_key: int, now: datetime) -> None:
    """Give the series a new host. Ended instances keep the host they ran under (their own column)."""
    session.connection().execute(_SET_HOST, {"ids": series_ids, "host_id": host_key, "now": now})


def add_notices(session: Session, notices: list[dict[str, Any]]) -> None:
    if notices:
        session.connection().execute(_ADD_NOTICE, notices)
