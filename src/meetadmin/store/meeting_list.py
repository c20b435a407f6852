"""Queries behind List Meetings: keyset-ordered batches of series and instances, filtered in SQL.

Series come ordered by ``(start, id)`` (the series' first start), instances by ``(start, id)`` (when
they began). A keyset position ``after`` continues strictly after the last row seen, so rows added or
removed between page fetches never shift the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, String, and_, func, or_, select, type_coerce
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from meetadmin.store.db import db_time
from meetadmin.store.driver import marks, run_sql, sql
from meetadmin.store.meeting_exceptions import changes_of
from meetadmin.store.meeting_reads import HostView, InstanceView, SeriesView
from meetadmin.store.models import MeetingInstance, MeetingSeries, Person, Site


@dataclass(frozen=True)
class SeriesFilter:
    """Who and what: ``host_key`` None means the whole organisation (an admin)."""

    org_id: str
    host_key: int | None
    site_id: int | None
    scheduled_types: tuple[str, ...]
    meeting_number: str | None = None


def _host(person: Person) -> HostView:
    return HostView(person.id, person.person_id, person.email, person.display_name)


def _after(
    start_col: ColumnElement[datetime], id_col: ColumnElement[str], start: datetime, key: str
) -> object:
    # The leading ``start >= ...`` lets both databases seek the (..., start) index to the position;
    # the OR alone made SQLite walk the index from its first entry on every page after the first.
    return and_(start_col >= start, or_(start_col > start, id_col > key))


@dataclass(frozen=True)
class SeriesKey:
    """What tells whether a series can have an occurrence in a window, without loading the series."""

    id: str
    start: datetime
    end: datetime
    recurrence: str | None
    timezone: str
    exceptions_end: datetime | None


def series_keys(
    session: Session,
    flt: SeriesFilter,
    window_from: datetime,
    window_to: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[SeriesKey]:
    """Series that may overlap ``[window_from, window_to)``, ordered by ``(start, id)``: their keys only.

    SQL keeps those that start before ``window_to`` and either recur, end after ``window_from`` or have
    an occurrence moved into the window; the caller rules out recurring ones that ended before the
    window (``domain.meeting_rules.last_end``) and expands the others (with their exceptions) to see
    whether an occurrence really falls in the window. Deleted series are left out.
    """
    conn = session.connection()
    if not flt.scheduled_types:
        return []
    if flt.host_key is not None and flt.meeting_number is None:
        text, params = host_keys_query(conn, flt, window_from, window_to, after, limit)
        rows = [_KeyRow._make(r) for r in run_sql(conn, text, params)]
    else:
        stmt = series_keys_statement(flt, window_from, window_to, after, limit)
        rows = [_KeyRow._make(r) for r in conn.execute(stmt)]
    return [
        SeriesKey(
            r.id,
            _when(r.start),
            _when(r.end),
            r.recurrence,
            r.timezone,
            _when(r.exceptions_end) if r.exceptions_end is not None else None,
        )
        for r in rows
    ]


class _KeyRow(NamedTuple):
    id: str
    start: Any
    end: Any
    recurrence: str | None
    timezone: str
    exceptions_end: Any


def _host_keys_sql(site: bool, after: bool) -> str:
    return (
        'SELECT id, start, "end", recurrence, timezone, exceptions_end FROM meeting_series'
        " WHERE host_id = ? AND (org_id || '') = ? AND start < ?"
        " AND ((recurrence IS NOT NULL AND recurrence != '') OR \"end\" > ? OR exceptions_end > ?)"
        " AND deleted_at IS NULL AND scheduled_type IN ({types})"
        + (" AND site_id = ?" if site else "")
        + (" AND start >= ? AND (start > ? OR id > ?)" if after else "")
        + " ORDER BY start, id LIMIT ?"
    )


# One host's keys, by (site filter, keyset position): the query of ``series_keys_statement`` written
# out, so a request neither builds nor compiles it (that was a third of the keys' cost).
_HOST_KEYS = {
    (site, after): sql(_host_keys_sql(site, after), row=_KeyRow)
    for site in (False, True)
    for after in (False, True)
}


def host_keys_query(
    conn: Connection,
    flt: SeriesFilter,
    window_from: datetime,
    window_to: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The SQL (``?`` placeholders, for ``run_sql``) and parameters of one host's :func:`series_keys`
    (no meeting number); it reads only ``ix_meeting_series_host_list``."""
    assert flt.host_key is not None
    start_from = db_time(conn, window_from)
    params: list[Any] = [flt.host_key, flt.org_id, db_time(conn, window_to), start_from, start_from]
    params.extend(flt.scheduled_types)
    if flt.site_id is not None:
        params.append(flt.site_id)
    if after is not None:
        seek = db_time(conn, after[0])
        params.extend([seek, seek, after[1]])
    params.append(limit)
    text = _HOST_KEYS[(flt.site_id is not None, after is not None)]
    return text.replace("{types}", marks(len(flt.scheduled_types))), params


def series_keys_statement(
    flt: SeriesFilter,
    window_from: datetime,
    window_to: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Select[*tuple[Any, ...]]:
    """The query of :func:`series_keys`. For one host it reads only ``ix_meeting_series_host_list``,
    which holds every column it names: a host's rows lie scattered over the table (cold at a million
    series), their index entries side by side."""
    s = MeetingSeries
    stmt = (
        select(s.id, _raw(s.start), _raw(s.end), s.recurrence, s.timezone, _raw(s.exceptions_end))
        .where(
            # One host's series: let the host index find their few rows (and sort those), rather than
            # walk the organisation's series in start order (``org_id || ''`` hides the org index).
            (s.org_id.concat("") if flt.host_key is not None else s.org_id) == flt.org_id,
            # No occurrence starts before its series (a scheduled meeting can't be moved there).
            s.start < window_to,
            or_(
                and_(s.recurrence.is_not(None), s.recurrence != ""),
                s.end > window_from,
                s.exceptions_end > window_from,  # an occurrence moved later
            ),
            s.deleted_at.is_(None),
            s.scheduled_type.in_(flt.scheduled_types),
        )
        .order_by(s.start, s.id)
        .limit(limit)
    )
    if flt.host_key is not None:
        stmt = stmt.where(s.host_id == flt.host_key)
    if flt.site_id is not None:
        stmt = stmt.where(s.site_id == flt.site_id)
    if flt.meeting_number is not None:
        stmt = stmt.where(s.meeting_number == flt.meeting_number)
    if after is not None:
        stmt = stmt.where(_after(s.start, s.id, after[0], after[1]))  # type: ignore[arg-type]
    return stmt


def _raw(column: QueryableAttribute[Any]) -> ColumnElement[object]:
    """The column as the driver gives it: SQLite's text is parsed by ``_when``, ~20 times faster than
    SQLAlchemy's DateTime processor (which cost more than the query on a batch of 1,000 keys)."""
    return type_coerce(column, _AS_GIVEN)


_AS_GIVEN = String()


def _when(value: object) -> datetime:
    if isinstance(value, datetime):  # PostgreSQL
        return value
    return datetime.fromisoformat(str(value))


def series_views(session: Session, ids: Sequence[str]) -> dict[str, SeriesView]:
    """The named series (found by :func:`series_keys`) with their site, host and exceptions."""
    if not ids:
        return {}
    rows = list(
        session.execute(
            select(MeetingSeries, Site.site_url, Person)
            .join(Site, Site.id == MeetingSeries.site_id)
            .join(Person, Person.id == MeetingSeries.host_id)
            .where(MeetingSeries.id.in_(list(ids)))
        )
    )
    changes = changes_of(session.connection(), [s.id for s, _, _ in rows]) if rows else {}
    return {s.id: SeriesView(s, url, _host(p), changes.get(s.id, ())) for s, url, p in rows}


def series_batch(
    session: Session,
    flt: SeriesFilter,
    window_from: datetime,
    window_to: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[SeriesView]:
    """:func:`series_keys` loaded as views, in the same order."""
    keys = series_keys(session, flt, window_from, window_to, after, limit)
    views = series_views(session, [k.id for k in keys])
    return [views[k.id] for k in keys if k.id in views]


@dataclass(frozen=True)
class InstanceFilter:
    org_id: str
    host_key: int | None
    site_id: int | None
    scheduled_types: tuple[str, ...]
    states: tuple[str, ...] | None
    series_id: str | None = None
    meeting_number: str | None = None


def instance_batch(
    session: Session,
    flt: InstanceFilter,
    window_from: datetime | None,
    window_to: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[InstanceView]:
    """Instances overlapping ``[window_from, window_to)`` (no bound when None), ordered by ``(start, id)``.

    ``host_key`` matches the host an instance ran under, not the series' current host: after a
    reassignment the original host keeps the instances they hosted.
    """
    ran_by = aliased(Person)
    series_host = aliased(Person)
    stmt = (
        select(MeetingInstance, ran_by, MeetingSeries, Site.site_url, series_host)
        .join(MeetingSeries, MeetingSeries.id == MeetingInstance.series_id)
        .join(Site, Site.id == MeetingSeries.site_id)
        .join(ran_by, ran_by.id == MeetingInstance.host_id)
        .join(series_host, series_host.id == MeetingSeries.host_id)
        # ``org_id || ''`` keeps SQLite from driving the join from the organisation's series (and then
        # sorting every instance): the instances' (start, id) index gives the order and the page size.
        .where(MeetingSeries.org_id.concat("") == flt.org_id)
        .order_by(MeetingInstance.start, MeetingInstance.id)
        .limit(limit)
    )
    if window_to is not None:
        stmt = stmt.where(MeetingInstance.start < window_to)
    if window_from is not None:
        stmt = stmt.where(or_(MeetingInstance.end.is_(None), MeetingInstance.end > window_from))
        if flt.host_key is None and flt.series_id is None:
            # The whole organisation: start the (start, id) walk at the earliest instance that may
            # overlap the window, not at the first instance ever.
            earliest = earliest_start_after(session, window_from)
            if earliest is None:
                return []
            stmt = stmt.where(MeetingInstance.start >= earliest)
    if flt.scheduled_types:
        stmt = stmt.where(MeetingSeries.scheduled_type.in_(flt.scheduled_types))
    if flt.host_key is not None:
        stmt = stmt.where(MeetingInstance.host_id == flt.host_key)
    if flt.site_id is not None:
        stmt = stmt.where(MeetingSeries.site_id == flt.site_id)
    if flt.states is not None:
        stmt = stmt.where(MeetingInstance.state.in_(flt.states))
    if flt.series_id is not None:
        stmt = stmt.where(MeetingInstance.series_id == flt.series_id)
    if flt.meeting_number is not None:
        stmt = stmt.where(MeetingSeries.meeting_number == flt.meeting_number)
    if after is not None:
        stmt = stmt.where(_after(MeetingInstance.start, MeetingInstance.id, after[0], after[1]))  # type: ignore[arg-type]
    out = []
    for instance, person, series, url, host in session.execute(stmt):
        view = SeriesView(series, url, _host(host))
        out.append(
            InstanceView(instance.id, view, _host(person), instance.start, instance.end, instance.state)
        )
    return out


def earliest_start_after(session: Session, when: datetime) -> datetime | None:
    """The earliest start of an instance (of any organisation) that ends after ``when`` or still runs.

    Both come from the (end, start) index: the running ones (no end) first in it, the others by a
    range of ends, so the cost grows with the instances that ended since ``when``, not with history.
    """
    i = MeetingInstance
    running = session.scalar(select(func.min(i.start)).where(i.end.is_(None)))
    # min() of an expression: a bare min(start) lets both planners walk the (start, id) index from its
    # first entry until an instance ends after ``when`` (the very walk this bound is here to avoid).
    ended = session.scalar(select(func.min(func.coalesce(i.start, i.start))).where(i.end > when))
    found = [t for t in (running, ended) if t is not None]
    return min(found) if found else None


def instance_starts(
    session: Session, series_ids: Sequence[str], before: datetime
) -> dict[str, list[datetime]]:
    """When each series' instances began (before ``before``): tells ended occurrences from missed ones."""
    found: dict[str, list[datetime]] = defaultdict(list)
    ids = sorted(set(series_ids))
    for i in range(0, len(ids), 500):
        rows = session.execute(
            select(MeetingInstance.series_id, MeetingInstance.start).where(
                MeetingInstance.series_id.in_(ids[i : i + 500]), MeetingInstance.start < before
            )
        )
        for series_id, start in rows:
            found[series_id].append(start)
    return found
