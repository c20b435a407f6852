"""What Update and Delete a Meeting act on: the series or one scheduled meeting of it, found with the
read rules (admins: the whole organisation, or ``hostEmail``'s meetings; users: what they host), plus
the audit event and the result an ``updated`` / ``deleted`` event needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from meetadmin.domain.ids import MeetingIdKind, parse_meeting_id
from meetadmin.domain.meeting_changes import (
    Refusal,
    instance_refusal,
    occurrence_refusal,
    personal_room_refusal,
    series_refusal,
)
from meetadmin.domain.occurrences import Occurrence
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import BadRequest, Conflict, NotFound
from meetadmin.services.common import audit_batch
from meetadmin.services.meetings import NOT_FOUND, occurrence_of, viewer_key
from meetadmin.store.audit import add_audit_batch
from meetadmin.store.meeting_exceptions import lock_series
from meetadmin.store.meeting_reads import SeriesView, instance_view, series_view
from meetadmin.store.writer import orm


@dataclass(frozen=True)
class Target:
    """A series (``occurrence`` None) or one of its scheduled meetings, as it stands."""

    meeting_id: str
    series: SeriesView
    occurrence: Occurrence | None = None

    @property
    def kind(self) -> MeetingIdKind:
        return MeetingIdKind.SERIES if self.occurrence is None else MeetingIdKind.SCHEDULED

    @property
    def title(self) -> str:
        change = self.occurrence.change if self.occurrence else None
        return (change.title if change and change.title is not None else None) or self.series.series.title


@dataclass(frozen=True)
class MeetingChange:
    """What a change did, for the answer and for the ``updated`` / ``deleted`` event and notices.

    ``before`` is the meeting as it was (a delete's event data); ``after`` as it is now (None after a
    delete). ``actor`` is the caller (the event's ``actorId``), ``host`` key/email the meeting's host.
    """

    action: str  # "updated" or "deleted"
    before: Target
    after: Target | None
    actor: TokenOwner
    by_admin: bool
    cancelled_exceptions: int = 0
    changed: tuple[str, ...] = field(default=())
    notice_sent: bool = False

    @property
    def meeting_id(self) -> str:
        return self.before.meeting_id

    @property
    def series_id(self) -> str:
        return self.before.series.series.id


def refuse(refusal: Refusal) -> Exception:
    if refusal.status == 409:
        return Conflict(refusal.description)
    return BadRequest(refusal.description)


def find_target(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    meeting_id: str,
    host_email: str | None,
    now: datetime,
) -> Target:
    """The meeting to change, locked for the change; 404 as Get a Meeting answers it, 400/409 (saying
    why) for a meeting that can't change: an instance, a running series, a past or running scheduled
    meeting, a scheduled personal room meeting."""
    parsed = parse_meeting_id(meeting_id)
    if parsed.kind is MeetingIdKind.UNKNOWN:
        raise NotFound(NOT_FOUND)
    with orm(conn) as session:
        viewer = viewer_key(session, caller, as_admin, host_email)
        if parsed.kind is MeetingIdKind.INSTANCE:
            instance = instance_view(session, caller.org_id, meeting_id)
            if instance is None or (viewer is not None and instance.host.key != viewer):
                raise NotFound(NOT_FOUND)
            raise refuse(instance_refusal(instance.state))
        lock_series(conn, caller.org_id, parsed.series_id)
        view = series_view(session, caller.org_id, parsed.series_id)
    if view is None or (viewer is not None and view.host.key != viewer):
        raise NotFound(NOT_FOUND)
    if parsed.kind is MeetingIdKind.SERIES:
        _check(series_refusal(view.series.state))
        return Target(meeting_id, view)
    _check(personal_room_refusal(view.series.scheduled_type))
    occ = occurrence_of(view, parsed.occurrence_start) if parsed.occurrence_start else None
    if occ is None:
        raise NotFound(NOT_FOUND)
    _check(occurrence_refusal(occ.start, occ.end, now))
    return Target(meeting_id, view, occ)


def _check(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise refuse(refusal)


def reload(conn: Connection, target: Target) -> Target:
    """The target as it stands after the change."""
    s = target.series.series
    with orm(conn) as session:
        view = series_view(session, s.org_id, s.id)
    assert view is not None
    if target.occurrence is None:
        return Target(target.meeting_id, view)
    occ = occurrence_of(view, target.occurrence.original)
    assert occ is not None
    return Target(target.meeting_id, view, occ)


def audit(
    conn: Connection,
    caller: TokenOwner,
    now: datetime,
    tracking_id: str,
    action: str,
    target: Target,
    data: dict[str, Any],
) -> None:
    """One admin audit event for the change (category MEETINGS)."""
    view = target.series
    base = {
        "meetingId": target.meeting_id,
        "meetingType": target.kind.value,
        "title": target.title,
        "siteUrl": view.site_url,
        "hostEmail": view.host.email,
    }
    kind = "MEETING_SERIES" if target.occurrence is None else "SCHEDULED_MEETING"
    batch = audit_batch(
        caller,
        now,
        tracking_id,
        category="MEETINGS",
        action=action,
        target_type=kind,
        targets=[(target.meeting_id, target.title, base | data)],
    )
    add_audit_batch(conn, batch)
