"""Pure rules for listing and creating meetings: instants, windows, Create a Meeting's time rules.

Nothing here does I/O. Times are naive UTC datetimes, as the store keeps them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meetadmin.domain.occurrences import MAX_OCCURRENCES, occurrence_starts

WEEK = timedelta(days=7)
MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(hours=23, minutes=59)
MAX_AHEAD = timedelta(days=3652)  # "less than 10 years ahead"
TITLE_MAX = 128
AGENDA_MAX = 1300

MEETING_TYPES = ("meetingSeries", "scheduledMeeting", "meeting")
STATES = ("active", "scheduled", "ready", "lobby", "inProgress", "ended", "missed", "expired")
SCHEDULED_TYPES = ("meeting", "webinar", "personalRoomMeeting")
# Which scheduledType values each listing accepts (absent: all of them).
ALLOWED_SCHEDULED_TYPES = {
    "meetingSeries": ("meeting", "webinar"),
    "meeting": ("meeting", "webinar"),
    "scheduledMeeting": ("meeting", "webinar", "personalRoomMeeting"),
}
SERIES_STATES = frozenset({"active", "inProgress", "expired"})
LIVE_STATES = frozenset({"inProgress", "lobby"})

_SPACE_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})")


class RuleError(ValueError):
    """A value that breaks a rule; the message says which and why, in words a person can act on."""


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name`` (None for empty); RuleError for an unknown zone."""
    if name is None or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise RuleError(f"'{name[:64]}' is not an IANA time zone such as 'UTC' or 'Europe/Paris'.") from exc


def parse_instant(text: str, field: str, default_zone: ZoneInfo | None = None) -> datetime:
    """An ISO 8601 date or date-time as naive UTC. Without an offset the time is in ``default_zone`` (UTC).

    Accepts ``2019-03-18T09:30:00+08:00``, ``2019-03-18T01:30:00Z``, ``2019-11-01 20:00:00`` and
    ``2019-03-18`` (midnight).
    """
    value = text.strip()
    if not value or len(value) > 64:
        raise RuleError(f"'{field}' must be an ISO 8601 date and time, e.g. 2019-03-18T09:30:00Z.")
    if value[-1] in "zZ":
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RuleError(
            f"'{field}' is not an ISO 8601 date and time: '{text[:64]}' (e.g. 2019-03-18T09:30:00Z)."
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone or UTC)
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError) as exc:
        raise RuleError(f"'{field}' is out of range: '{text[:64]}'.") from exc


def list_window(
    meeting_type: str, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[from, to)`` of List Meetings with Webex's defaults; RuleError when from is after to.

    Series and scheduled meetings look ahead a week from now, instances look back a week; a lone
    ``from`` or ``to`` spans a week from or to it.
    """
    try:
        if start is None and end is None:
            if meeting_type == "meeting":
                start, end = now - WEEK, now
            else:
                start, end = now, now + WEEK
        elif start is None and end is not None:
            start = end - WEEK
        elif end is None and start is not None:
            end = start + WEEK
    except OverflowError as exc:
        raise RuleError("'from' and 'to' must lie between the years 1 and 9999.") from exc
    assert start is not None and end is not None
    if start > end:
        raise RuleError("'from' must not be after 'to'.")
    return start, end


@lru_cache(maxsize=200_000)
def last_end(
    start: datetime, end: datetime, rule: str | None, timezone: str | None = None
) -> datetime | None:
    """End of the series' last occurrence; None when the rule runs past what we expand (no end)."""
    if not rule:
        return end
    upper = rule.upper()
    if "COUNT=" not in upper and "UNTIL=" not in upper:
        return None  # runs forever (we expand at most MAX_OCCURRENCES)
    last: datetime | None = None
    count = 0
    try:
        for occ in occurrence_starts(start, rule, timezone):
            last = occ
            count += 1
    except (ValueError, TypeError, OverflowError):
        return None  # a rule the expander refuses: treat it as open-ended rather than fail the listing
    if last is None:
        return end
    if count >= MAX_OCCURRENCES:
        return None
    return last + (end - start)


def instance_end(
    start: datetime, end: datetime | None, series_start: datetime, series_end: datetime
) -> datetime:
    """An instance's ``end``: when it ended, or, while it runs (lobby, inProgress), its scheduled end: the
    series' duration after it started (its scheduled meeting is the occurrence starting then)."""
    return end if end is not None else start + (series_end - series_start)


def series_state(
    stored: str, start: datetime, end: datetime, rule: str | None, now: datetime, timezone: str | None = None
) -> str:
    """``inProgress`` while an occurrence runs, ``expired`` once every occurrence has passed, else active."""
    if stored in LIVE_STATES:
        return "inProgress"
    if stored == "expired":
        return "expired"
    finish = last_end(start, end, rule, timezone)
    if finish is not None and finish <= now:
        return "expired"
    return "active"


@dataclass(frozen=True)
class NewMeetingTimes:
    start: datetime
    end: datetime


def meeting_times(start: datetime, end: datetime, now: datetime) -> NewMeetingTimes:
    """Create a Meeting's time rules; RuleError names the broken one.

    Times are truncated to the minute; a start within the current minute moves to the next minute; a
    start in the past, or 10 years or more ahead, is refused; the meeting lasts 10 minutes to 23 hours
    59 minutes.
    """
    start = start.replace(second=0, microsecond=0)
    end = end.replace(second=0, microsecond=0)
    this_minute = now.replace(second=0, microsecond=0)
    if start < this_minute:
        raise RuleError("'start' must not be in the past.")
    if start == this_minute:
        start = this_minute + timedelta(minutes=1)
    if start >= now + MAX_AHEAD:
        raise RuleError("'start' must be less than 10 years ahead.")
    duration = end - start
    if duration < MIN_DURATION or duration > MAX_DURATION:
        raise RuleError("The meeting must last at least 10 minutes and at most 23 hours 59 minutes.")
    return NewMeetingTimes(start, end)


def text_problems(title: str, agenda: str | None) -> list[str]:
    problems = []
    if not title.strip():
        problems.append("'title' must not be empty.")
    if len(title) > TITLE_MAX:
        problems.append(f"'title' must be at most {TITLE_MAX} characters.")
    if agenda is not None and len(agenda) > AGENDA_MAX:
        problems.append(f"'agenda' must be at most {AGENDA_MAX} characters.")
    return problems


def password_problem(password: str | None) -> str | None:
    """The site's password rule as meetadmin applies it (Create and Update alike)."""
    if password is not None and (
        len(password) < 4 or len(password) > 64 or any(c.isspace() for c in password)
    ):
        return "'password' must be 4 to 64 characters without spaces."
    return None


_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def new_password() -> str:
    """A meeting password with upper- and lower-case letters and digits (Webex's usual site rule)."""
    while True:
        word = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(11))
        if (
            any(c.isupper() for c in word)
            and any(c.islower() for c in word)
            and any(c.isdigit() for c in word)
        ):
            return word
