"""List Meetings: series, their occurrences and their instances, one keyset page at a time.

Who sees what: a person lists what they host (series they host now; instances they ran); an admin lists
their whole organisation, or one user's meetings with ``hostEmail``. SQL narrows by organisation, host,
site, type and time; recurring series are expanded in Python only when SQL cannot rule them out, and
one request scans a bounded number of rows (a short page then still carries a ``next`` position).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from meetadmin.domain.ids import MeetingIdKind, parse_meeting_id
from meetadmin.domain.meeting_rules import (
    ALLOWED_SCHEDULED_TYPES,
    SERIES_STATES,
    RuleError,
    list_window,
    series_state,
)
from meetadmin.domain.occurrences import Occurrence
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import BadRequest, NotFound
from meetadmin.services.common import utcnow
from meetadmin.services.meeting_list_types import Cursor, Listed, ListPage, ListQuery
from meetadmin.services.meeting_list_window import in_window, may_overlap
from meetadmin.services.meetings import scheduled_state, upcoming_occurrence
from meetadmin.store.meeting_list import (
    InstanceFilter,
    SeriesFilter,
    instance_batch,
    instance_starts,
    series_batch,
    series_keys,
    series_views,
)
from meetadmin.store.meeting_reads import InstanceView, SeriesView, person_key_by_email, series_view
from meetadmin.store.sites import site_by_url
from meetadmin.store.writer import orm

BATCH = 1000  # series keys read at a time, at most
VIEW_CHUNK = 50  # series loaded at a time (those that may have an occurrence in the window)
SCAN_LIMIT = 20_000  # series keys one request may look at before it answers with what it has
STARTED_EARLY = timedelta(minutes=15)  # an instance this early still counts for its occurrence
OCCURRENCE_STATES = frozenset({"scheduled", "ready", "ended", "missed"})


def list_meetings(conn: Connection, caller: TokenOwner, as_admin: bool, query: ListQuery) -> ListPage:
    now = utcnow()
    with orm(conn) as session:
        viewer = _viewer(session, caller, as_admin, query.host_email)
        if query.never_matches:
            return ListPage()
        if query.meeting_number is not None:
            return _by_number(session, caller.org_id, viewer, query, now)
        if query.series_id is not None:
            return _one_series(session, caller.org_id, viewer, query, now)
        meeting_type = query.meeting_type or "meetingSeries"
        allowed = ALLOWED_SCHEDULED_TYPES[meeting_type]
        if query.scheduled_type is not None and query.scheduled_type not in allowed:
            raise BadRequest(
                f"'scheduledType' {query.scheduled_type} cannot be listed with meetingType {meeting_type}; "
                f"use one of: {', '.join(allowed)}."
            )
        types = (query.scheduled_type,) if query.scheduled_type else allowed
        site_id = None
        if query.site_url is not None and query.site_url.strip():
            site = site_by_url(session.connection(), caller.org_id, query.site_url)
            if site is None:
                raise BadRequest(
                    f"The site '{query.site_url.strip()[:255]}' is not a site of your organisation."
                )
            site_id = site.id
        cursor = Cursor.read(query.cursor, meeting_type)
        window = cursor.window if cursor else _window(meeting_type, query, now)
        if meeting_type == "meeting":
            # Ended or running personal room meetings are listed under the meeting type.
            if query.scheduled_type is None:
                types = ("meeting", "webinar", "personalRoomMeeting")
            elif query.scheduled_type == "meeting":
                types = ("meeting", "personalRoomMeeting")
            flt = InstanceFilter(caller.org_id, viewer, site_id, types, _instance_states(query.state))
            return _instances(session, flt, window, cursor, query, meeting_type)
        sflt = SeriesFilter(caller.org_id, viewer, site_id, types)
        if meeting_type == "scheduledMeeting":
            return _occurrences(session, sflt, window, cursor, query, now)
        return _series(session, sflt, window, cursor, query, now)


def _viewer(session: Session, caller: TokenOwner, as_admin: bool, host_email: str | None) -> int | None:
    """None for the whole organisation (an admin without hostEmail), else whose meetings to list."""
    if not as_admin:
        return caller.person_key
    if host_email is None or not host_email.strip():
        return None
    key = person_key_by_email(session, caller.org_id, host_email)
    if key is None:
        raise NotFound(f"No user with the email '{host_email.strip()[:320]}' is in your organisation.")
    return key


def _window(meeting_type: str, query: ListQuery, now: datetime) -> tuple[datetime, datetime]:
    try:
        return list_window(meeting_type, query.start, query.end, now)
    except RuleError as exc:
        raise BadRequest(str(exc)) from exc


def _instance_states(state: str | None) -> tuple[str, ...] | None:
    if state is None:
        return None
    return (state,) if state in ("lobby", "inProgress", "ended") else ()


# --- series ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stop:
    """Where a scan stopped early: everything up to and including this ``(start, id)`` has been seen."""

    start: datetime
    id: str


def _scan_series(
    session: Session,
    flt: SeriesFilter,
    window: tuple[datetime, datetime],
    after: tuple[datetime, str] | None,
    want: int,
    inclusive_first: str | None = None,
) -> Iterator[tuple[SeriesView, list[Occurrence]] | _Stop]:
    """Series with an occurrence in the window, in ``(start, id)`` order, with those occurrences.

    SQL gives the keys of candidate series; recurring ones whose rule ended before the window are
    dropped without loading them, and the rest are loaded VIEW_CHUNK at a time (a page that fills up
    early loads no more). The first batch of keys is sized for ``want`` items, later ones grow to
    BATCH. At most SCAN_LIMIT keys are looked at; a final ``_Stop`` then marks where the scan stopped.
    ``inclusive_first`` names a series to look at again first (a page that ended among its
    occurrences).
    """
    scanned = 0
    if inclusive_first is not None:
        first = series_view(session, flt.org_id, inclusive_first)
        if first is not None and _matches(first, flt):
            occs = in_window(first, window)
            if occs:
                yield first, occs
    size = min(BATCH, 2 * want + 20)
    while True:
        keys = series_keys(session, flt, window[0], window[1], after, size)
        stop = len(keys)
        if scanned + len(keys) >= SCAN_LIMIT:
            stop = SCAN_LIMIT - scanned
        live = [k.id for k in keys[:stop] if may_overlap(k, window)]
        for i in range(0, len(live), VIEW_CHUNK):
            ids = live[i : i + VIEW_CHUNK]
            views = series_views(session, ids)
            for series_id in ids:
                view = views.get(series_id)
                occs = in_window(view, window) if view is not None else []
                if view is not None and occs:
                    yield view, occs
        scanned += stop
        if stop < len(keys) or (scanned >= SCAN_LIMIT and len(keys) == size):
            yield _Stop(keys[stop - 1].start, keys[stop - 1].id)
            return
        if len(keys) < size:
            return
        after = (keys[-1].start, keys[-1].id)
        size = min(BATCH, size * 4)


def _matches(view: SeriesView, flt: SeriesFilter) -> bool:
    s = view.series
    return (
        (flt.host_key is None or view.host.key == flt.host_key)
        and (flt.site_id is None or s.site_id == flt.site_id)
        and s.scheduled_type in flt.scheduled_types
    )


def _series(
    session: Session,
    flt: SeriesFilter,
    window: tuple[datetime, datetime],
    cursor: Cursor | None,
    query: ListQuery,
    now: datetime,
) -> ListPage:
    page = ListPage()
    if query.state is not None and query.state not in SERIES_STATES:
        return page
    after = (cursor.start, cursor.id) if cursor else None
    for entry in _scan_series(session, flt, window, after, query.max):
        if isinstance(entry, _Stop):  # the scan stopped early: carry on after this series next time
            page.next = Cursor.write("meetingSeries", window, entry.start, entry.id)
            return page
        view, occs = entry
        s = view.series
        state = series_state(s.state, s.start, s.end, s.recurrence, now, s.timezone)
        if query.state is not None and state != query.state:
            continue
        if len(page.items) == query.max:
            last = page.items[-1].series.series
            page.next = Cursor.write("meetingSeries", window, last.start, last.id)
            return page
        start, end = s.start, s.end
        if query.current:
            shown = next((o for o in occs if o.end > now), occs[0])
            start, end = shown.start, shown.end
        page.items.append(Listed(MeetingIdKind.SERIES, view, start, end, state))
    return page


def _occurrence_state(start: datetime, end: datetime, now: datetime, ran: list[datetime]) -> str:
    state = scheduled_state(start, end, now)
    if state == "ended" and not any(start - STARTED_EARLY <= r < end for r in ran):
        return "missed"
    return state


def _occurrences(
    session: Session,
    flt: SeriesFilter,
    window: tuple[datetime, datetime],
    cursor: Cursor | None,
    query: ListQuery,
    now: datetime,
) -> ListPage:
    page = ListPage()
    if query.state is not None and query.state not in OCCURRENCE_STATES:
        return page
    after = (cursor.start, cursor.id) if cursor else None
    chunk: list[tuple[SeriesView, list[Occurrence]] | _Stop] = []
    for entry in _scan_series(session, flt, window, after, query.max, cursor.id if cursor else None):
        chunk.append(entry)
        if len(chunk) >= 50 or isinstance(entry, _Stop):
            if _fill(session, chunk, page, query, now, window, cursor):
                return page
            chunk = []
    _fill(session, chunk, page, query, now, window, cursor)
    return page


def _scheduled_item(view: SeriesView, occ: Occurrence, state: str) -> Listed:
    return Listed(MeetingIdKind.SCHEDULED, view, occ.start, occ.end, state, occurrence=occ)


def _seen(cursor: Cursor | None, series_id: str, start: datetime) -> bool:
    """Whether the occurrence was on an earlier page (pages may end among one series' occurrences)."""
    if cursor is None or cursor.occurrence is None or series_id != cursor.id:
        return False
    return start <= cursor.occurrence


def _fill(
    session: Session,
    chunk: list[tuple[SeriesView, list[Occurrence]] | _Stop],
    page: ListPage,
    query: ListQuery,
    now: datetime,
    window: tuple[datetime, datetime],
    cursor: Cursor | None,
) -> bool:
    """Add the occurrences of a few series to the page; True when the page is finished."""
    past = [e[0].series.id for e in chunk if not isinstance(e, _Stop) and min(o.start for o in e[1]) < now]
    ran = instance_starts(session, past, now) if past else {}
    for entry in chunk:
        if isinstance(entry, _Stop):
            page.next = Cursor.write("scheduledMeeting", window, entry.start, entry.id)
            return True
        view, occs = entry
        s = view.series
        for occ in occs:
            if _seen(cursor, s.id, occ.original):
                continue
            if query.is_modified is not None and occ.modified != query.is_modified:
                continue
            state = _occurrence_state(occ.start, occ.end, now, ran.get(s.id, []))
            if query.state is not None and state != query.state:
                continue
            if len(page.items) == query.max:
                prev = page.items[-1]
                assert prev.occurrence is not None
                page.next = Cursor.write(
                    "scheduledMeeting",
                    window,
                    prev.series.series.start,
                    prev.series.series.id,
                    prev.occurrence.original,
                )
                return True
            page.items.append(_scheduled_item(view, occ, state))
    return False


# --- instances ---------------------------------------------------------------------------------------


def _instances(
    session: Session,
    flt: InstanceFilter,
    window: tuple[datetime, datetime],
    cursor: Cursor | None,
    query: ListQuery,
    mode: str,
) -> ListPage:
    page = ListPage()
    if query.wants_content or flt.states == ():
        return page
    after = (cursor.start, cursor.id) if cursor else None
    rows = instance_batch(session, flt, window[0], window[1], after, query.max + 1)
    for inst in rows[: query.max]:
        page.items.append(_instance_item(inst))
    if len(rows) > query.max:
        last = rows[query.max - 1]
        page.next = Cursor.write(mode, window, last.start, last.id)
    return page


def _instance_item(inst: InstanceView) -> Listed:
    return Listed(MeetingIdKind.INSTANCE, inst.series, inst.start, inst.end, inst.state, instance=inst)


# --- one series: its occurrences and instances -------------------------------------------------------

_OPEN = (datetime(1970, 1, 1), datetime(9999, 1, 1))


def _one_series(
    session: Session, org_id: str, viewer: int | None, query: ListQuery, now: datetime
) -> ListPage:
    assert query.series_id is not None
    parsed = parse_meeting_id(query.series_id)
    if parsed.kind is not MeetingIdKind.SERIES:
        raise BadRequest("'meetingSeriesId' must be the ID of a meeting series (32 hex characters).")
    mode = "series:" + (query.meeting_type or "all")
    cursor = Cursor.read(query.cursor, mode)
    if cursor:
        window = cursor.window
    elif query.start is None and query.end is None:
        window = _OPEN
    else:
        window = _window(query.meeting_type or "meetingSeries", query, now)
    view = series_view(session, org_id, parsed.series_id, include_deleted=True)
    page = ListPage()
    if view is None:
        return page
    live = not view.deleted  # a deleted series keeps only the instances that ran
    if view.series.scheduled_type == "personalRoomMeeting":
        raise BadRequest("'meetingSeriesId' cannot name a personal room meeting.")
    hosts_series = live and (viewer is None or view.host.key == viewer)
    items: list[Listed] = []
    if query.meeting_type == "meetingSeries" and hosts_series and in_window(view, window):
        s = view.series
        state = series_state(s.state, s.start, s.end, s.recurrence, now, s.timezone)
        items.append(Listed(MeetingIdKind.SERIES, view, s.start, s.end, state))
    if query.meeting_type in (None, "scheduledMeeting") and hosts_series:
        occs = [o for o in in_window(view, window) if query.is_modified in (None, o.modified)]
        ran = instance_starts(session, [view.series.id], now).get(view.series.id, [])
        items.extend(_scheduled_item(view, o, _occurrence_state(o.start, o.end, now, ran)) for o in occs)
    if query.meeting_type in (None, "meeting") and not query.wants_content:
        flt = InstanceFilter(org_id, viewer, None, (), None, series_id=view.series.id)
        f, t = (None, None) if window == _OPEN else window
        items.extend(_instance_item(i) for i in instance_batch(session, flt, f, t, None, 10_000))
    if query.state is not None:
        items = [i for i in items if i.state == query.state]
    items.sort(key=_position)
    if cursor is not None:
        items = [i for i in items if _position(i) > (cursor.start, cursor.id)]
    page.items = items[: query.max]
    if len(items) > query.max:
        last = page.items[-1]
        page.next = Cursor.write(mode, window, last.start, last.id)
    return page


def _position(item: Listed) -> tuple[datetime, str]:
    return (item.start, item.id)


# --- by meeting number -------------------------------------------------------------------------------


def _by_number(
    session: Session, org_id: str, viewer: int | None, query: ListQuery, now: datetime
) -> ListPage:
    assert query.meeting_number is not None
    flt = SeriesFilter(
        org_id, viewer, None, ("meeting", "webinar", "personalRoomMeeting"), query.meeting_number
    )
    page = ListPage()
    for view in series_batch(session, flt, _OPEN[0], _OPEN[1], None, 10):
        s = view.series
        state = series_state(s.state, s.start, s.end, s.recurrence, now, s.timezone)
        upcoming = upcoming_occurrence(view, now) if query.current else None
        if upcoming is not None:
            page.items.append(
                _scheduled_item(view, upcoming, scheduled_state(upcoming.start, upcoming.end, now))
            )
        else:
            page.items.append(Listed(MeetingIdKind.SERIES, view, s.start, s.end, state))
    return page
