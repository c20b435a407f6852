"""Reading one meeting by any of its three ID kinds, with Webex's visibility rules.

Admins (admin read scope) see every meeting of their organisation; users see what they host. An ended
instance belongs to the host it ran under, so after a reassignment the original host still sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from meetadmin.domain.ids import MeetingIdKind, parse_meeting_id
from meetadmin.domain.occurrences import Occurrence, apply_change, effective_occurrences, is_occurrence
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import NotFound
from meetadmin.services.common import utcnow
from meetadmin.store.meeting_reads import (
    InstanceView,
    SeriesView,
    instance_view,
    person_key_by_email,
    series_view,
)
from meetadmin.store.writer import orm

NOT_FOUND = "The meeting is not found."
READY_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class FoundMeeting:
    """What GET /meetings/{id} found: a series (maybe at one occurrence) or an instance."""

    kind: MeetingIdKind
    series: SeriesView
    instance: InstanceView | None = None
    start: datetime | None = None
    end: datetime | None = None
    state: str | None = None
    occurrence: Occurrence | None = None  # a scheduled meeting: which one, and its exception if any


def scheduled_state(start: datetime, end: datetime, now: datetime) -> str:
    if end <= now:
        return "ended"
    if start - now <= READY_WINDOW:
        return "ready"
    return "scheduled"


def occurrence_of(view: SeriesView, original: datetime) -> Occurrence | None:
    """The series' scheduled meeting due at ``original`` as it stands; None if there is no such
    occurrence or it was deleted."""
    s = view.series
    if not is_occurrence(s.start, s.recurrence, original, s.timezone):
        return None
    change = next((c for c in view.changes if c.original == original), None)
    if change is not None and change.deleted:
        return None
    return apply_change(original, s.end - s.start, change)


def upcoming_occurrence(view: SeriesView, now: datetime) -> Occurrence | None:
    """The occurrence running now or the next one (exceptions applied)."""
    s = view.series
    found = effective_occurrences(s.start, s.end, s.recurrence, view.changes, now, datetime.max, s.timezone)
    return found[0] if found else None


def get_meeting(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    meeting_id: str,
    host_email: str | None,
    current: bool,
) -> FoundMeeting:
    parsed = parse_meeting_id(meeting_id)
    if parsed.kind is MeetingIdKind.UNKNOWN:
        raise NotFound(NOT_FOUND)
    with orm(conn) as session:
        viewer = viewer_key(session, caller, as_admin, host_email)
        if parsed.kind is MeetingIdKind.INSTANCE:
            instance = instance_view(session, caller.org_id, meeting_id)
            if instance is None or (viewer is not None and instance.host.key != viewer):
                raise NotFound(NOT_FOUND)
            return FoundMeeting(parsed.kind, instance.series, instance=instance)
        series = series_view(session, caller.org_id, parsed.series_id)
        if series is None or (viewer is not None and series.host.key != viewer):
            raise NotFound(NOT_FOUND)
    now = utcnow()
    if parsed.kind is MeetingIdKind.SCHEDULED:
        occ = occurrence_of(series, parsed.occurrence_start) if parsed.occurrence_start else None
        if occ is None:
            raise NotFound(NOT_FOUND)
        state = scheduled_state(occ.start, occ.end, now)
        return FoundMeeting(parsed.kind, series, start=occ.start, end=occ.end, state=state, occurrence=occ)
    if current:
        upcoming = upcoming_occurrence(series, now)
        if upcoming is not None:
            return FoundMeeting(parsed.kind, series, start=upcoming.start, end=upcoming.end)
    return FoundMeeting(parsed.kind, series)


def viewer_key(session: Session, caller: TokenOwner, as_admin: bool, host_email: str | None) -> int | None:
    """Whose meetings the caller may see: None for the whole organisation (an admin), else a person key."""
    if as_admin:
        if host_email:
            key = person_key_by_email(session, caller.org_id, host_email)
            if key is None:
                raise NotFound(NOT_FOUND)
            return key
        return None
    return caller.person_key
