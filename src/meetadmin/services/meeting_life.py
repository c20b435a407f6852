"""Meetings' life, driven by the control plane: start a meeting (the current or next occurrence of a
series, or one scheduled meeting, becomes an in-progress instance) and end it (the instance ends and
stays with the host it ran under).

While an instance runs, its series' stored state is ``inProgress``, which is what reassignment refuses
(409) and what the lists show; ending it sets the series back to ``active``.

Webhooks: each function writes its ``started`` / ``ended`` event (data: the instance) into the outbox in the
same transaction, and returns the ``LifeEvent`` naming the instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from meetadmin.domain.ids import MeetingIdKind, new_instance_id, parse_meeting_id
from meetadmin.domain.meeting_rules import LIVE_STATES
from meetadmin.domain.occurrences import apply_change, effective_occurrences, is_occurrence
from meetadmin.errors import BadRequest, Conflict, NotFound
from meetadmin.outbound.events import emit_ended, emit_started
from meetadmin.store.meeting_exceptions import changes_of
from meetadmin.store.models import MeetingInstance, MeetingSeries

NOT_FOUND = "The meeting is not found."


@dataclass(frozen=True)
class LifeEvent:
    """What happened: ``started`` / ``ended`` and the instance."""

    event: str
    org_id: str
    series_id: str
    instance_id: str
    host_key: int


def _series(conn: Connection, series_id: str) -> MeetingSeries | None:
    # a deleted series (kept hidden for its history) is not found
    query = select(MeetingSeries.__table__).where(
        MeetingSeries.id == series_id, MeetingSeries.deleted_at.is_(None)
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()  # one start or end of a series at a time
    row = conn.execute(query).one_or_none()
    return row  # type: ignore[return-value]


def _live_instance(conn: Connection, series_id: str) -> tuple[str, datetime] | None:
    row = conn.execute(
        select(MeetingInstance.id, MeetingInstance.start)
        .where(MeetingInstance.series_id == series_id, MeetingInstance.state.in_(sorted(LIVE_STATES)))
        .order_by(MeetingInstance.start.desc(), MeetingInstance.id)
        .limit(1)
    ).one_or_none()
    return (row.id, row.start) if row is not None else None


def start_meeting(conn: Connection, meeting_id: str, now: datetime) -> LifeEvent:
    """Start a series (its current or next occurrence) or a scheduled meeting, at ``now``."""
    parsed = parse_meeting_id(meeting_id)
    if parsed.kind is MeetingIdKind.UNKNOWN:
        raise NotFound(NOT_FOUND)
    if parsed.kind is MeetingIdKind.INSTANCE:
        raise BadRequest("A meeting instance cannot be started; start its series or a scheduled meeting.")
    s = _series(conn, parsed.series_id)
    if s is None:
        raise NotFound(NOT_FOUND)
    live = _live_instance(conn, s.id)
    if live is not None or s.state in LIVE_STATES:
        running = f" (instance {live[0]})" if live else ""
        raise Conflict(f"The meeting is already in progress{running}; end it first.")
    if s.state == "expired":
        raise Conflict("The meeting series has expired; it cannot start.")
    # the occurrences as they stand: in the series' time zone, with its changed and deleted ones
    changes = changes_of(conn, [s.id]).get(s.id, ())
    if parsed.kind is MeetingIdKind.SCHEDULED:
        start = parsed.occurrence_start
        if start is None or not is_occurrence(s.start, s.recurrence, start, s.timezone):
            raise NotFound(NOT_FOUND)
        change = next((c for c in changes if c.original == start), None)
        if change is not None and change.deleted:
            raise NotFound(NOT_FOUND)
        occurrence = apply_change(start, s.end - s.start, change)
        if occurrence.end <= now:
            raise Conflict("That scheduled meeting has already ended; it can no longer start.")
    elif not effective_occurrences(s.start, s.end, s.recurrence, changes, now, datetime.max, s.timezone)[:1]:
        raise Conflict("The meeting series has no current or upcoming occurrence to start.")
    instance_id = new_instance_id(s.id)
    conn.execute(
        insert(MeetingInstance).values(
            id=instance_id, series_id=s.id, host_id=s.host_id, start=now, end=None, state="inProgress"
        )
    )
    conn.execute(
        update(MeetingSeries).where(MeetingSeries.id == s.id).values(state="inProgress", updated=now)
    )
    event = LifeEvent("started", s.org_id, s.id, instance_id, s.host_id)
    _announce(conn, event)
    return event


def end_meeting(conn: Connection, meeting_id: str, now: datetime) -> LifeEvent:
    """End the in-progress instance of a series (by its series, scheduled meeting or instance ID)."""
    parsed = parse_meeting_id(meeting_id)
    if parsed.kind is MeetingIdKind.UNKNOWN:
        raise NotFound(NOT_FOUND)
    s = _series(conn, parsed.series_id)
    if s is None:
        raise NotFound(NOT_FOUND)
    live = _live_instance(conn, s.id)
    if parsed.kind is MeetingIdKind.SCHEDULED:
        start = parsed.occurrence_start
        if start is None or not is_occurrence(s.start, s.recurrence, start):
            raise NotFound(NOT_FOUND)
    if parsed.kind is MeetingIdKind.INSTANCE:
        found = conn.execute(
            select(MeetingInstance.state, MeetingInstance.start).where(
                MeetingInstance.id == meeting_id, MeetingInstance.series_id == s.id
            )
        ).one_or_none()
        if found is None:
            raise NotFound(NOT_FOUND)
        if found.state not in LIVE_STATES:
            raise Conflict(f"The meeting instance is not in progress (it is {found.state}).")
        live = (meeting_id, found.start)
    if live is None:
        raise Conflict("The meeting is not in progress; there is nothing to end.")
    instance_id, started = live
    conn.execute(
        update(MeetingInstance)
        .where(MeetingInstance.id == instance_id)
        .values(state="ended", end=max(now, started))
    )
    if s.state in LIVE_STATES:
        conn.execute(
            update(MeetingSeries).where(MeetingSeries.id == s.id).values(state="active", updated=now)
        )
    host = conn.execute(select(MeetingInstance.host_id).where(MeetingInstance.id == instance_id)).scalar_one()
    event = LifeEvent("ended", s.org_id, s.id, instance_id, host)
    _announce(conn, event)
    return event


def _announce(conn: Connection, event: LifeEvent) -> None:
    """The ``started`` / ``ended`` webhook event, written in the change's transaction."""
    emit = emit_started if event.event == "started" else emit_ended
    emit(conn, event.org_id, event.instance_id)
