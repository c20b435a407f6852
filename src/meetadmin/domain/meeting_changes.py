"""Pure rules of Update and Delete a Meeting (contract-notes §9): which meetings may change, how a change
is checked (Create a Meeting's rules, reused) and when a series' exceptions are cancelled.

Nothing here does I/O. Times are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meetadmin.domain.meeting_rules import (
    LIVE_STATES,
    MAX_DURATION,
    MIN_DURATION,
    RuleError,
    meeting_times,
)

CALENDAR_INTEGRATIONS = frozenset({"outlook", "google"})


@dataclass(frozen=True)
class Refusal:
    """Why a meeting can't be changed: the HTTP status and a reason a person can act on."""

    status: int
    description: str


def instance_refusal(state: str) -> Refusal:
    """Instances (``<series>_I_<n>``) are never changed: they ran or are running."""
    if state in LIVE_STATES:
        return Refusal(
            400,
            "The meeting is in progress: a running meeting instance can't be changed or deleted. "
            "Change its series or a later scheduled meeting instead.",
        )
    return Refusal(
        400,
        "The meeting has ended: an ended meeting instance is history and can't be changed or deleted.",
    )


def series_refusal(stored_state: str) -> Refusal | None:
    """A series with a running occurrence waits until it ends (as reassignment does)."""
    if stored_state in LIVE_STATES:
        return Refusal(
            409, "The meeting series is in progress; change or delete it after the running meeting ends."
        )
    return None


def occurrence_refusal(start: datetime, end: datetime, now: datetime) -> Refusal | None:
    """A scheduled meeting can change only while it lies ahead."""
    if end <= now:
        return Refusal(400, "The scheduled meeting has already ended; past meetings can't be changed.")
    if start <= now:
        return Refusal(400, "The scheduled meeting has already started; it can't be changed while it runs.")
    return None


def personal_room_refusal(scheduled_type: str) -> Refusal | None:
    """Webex: a scheduled personal room meeting's ID is not supported by these operations."""
    if scheduled_type == "personalRoomMeeting":
        return Refusal(
            400, "A scheduled personal room meeting can't be changed through its scheduled-meeting ID."
        )
    return None


def calendar_refusal(integration: str | None) -> Refusal | None:
    """Webex blocks updates of meetings a calendar connector created (the calendar would not follow)."""
    if integration in CALENDAR_INTEGRATIONS:
        return Refusal(
            400,
            f"The meeting was created from a calendar ({integration}); change it in that calendar, "
            "or Webex and the calendar would disagree.",
        )
    return None


def changed_times(
    old_start: datetime, old_end: datetime, new_start: datetime, new_end: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """The times after a change, checked as Create checks them; RuleError names the broken rule.

    Unchanged times are not checked again (a series that began last month can still be renamed). A new
    start must follow every rule of Create; a new end alone must keep the duration within bounds.
    """
    start = new_start.replace(second=0, microsecond=0)
    end = new_end.replace(second=0, microsecond=0)
    if start != old_start.replace(second=0, microsecond=0):
        times = meeting_times(start, end, now)
        return times.start, times.end
    if end != old_end.replace(second=0, microsecond=0):
        duration = end - start
        if duration < MIN_DURATION or duration > MAX_DURATION:
            raise RuleError("The meeting must last at least 10 minutes and at most 23 hours 59 minutes.")
    return old_start, end


def cancels_exceptions(
    old: tuple[datetime, datetime, str | None, str], new: tuple[datetime, datetime, str | None, str]
) -> bool:
    """Changing a series' ``start``, ``end`` or ``recurrence`` cancels its exceptions (Webex's rule); so
    does its time zone, which moves every occurrence of a recurring series."""
    (o_start, o_end, o_rule, o_zone), (n_start, n_end, n_rule, n_zone) = old, new
    if (o_start, o_end, o_rule or None) != (n_start, n_end, n_rule or None):
        return True
    return bool(n_rule) and o_zone != n_zone
