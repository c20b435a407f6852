"""Occurrences of a meeting series from its RFC 5545 recurrence rule (via dateutil).

A series keeps its first start in UTC and the time zone it was scheduled in. The rule runs on the wall
clock of that zone, as calendars do: a weekly meeting at 09:00 Europe/Berlin stays at 09:00 local time
across a daylight-saving change, so its UTC start moves by an hour. Times in and out are naive UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

# Webex caps how far a series reaches; we cap how many occurrences we ever expand.
MAX_OCCURRENCES = 2000


_UTC_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
_UNTIL_FORMAT = "%Y%m%dT%H%M%S"


class RecurrenceError(ValueError):
    pass


@lru_cache(maxsize=512)
def wall_zone(name: str | None) -> ZoneInfo | None:
    """The zone whose wall clock a rule runs on; None for UTC (or an unknown name: UTC then)."""
    if not name or name.strip().upper() in ("UTC", "Z", "ETC/UTC", "GMT"):
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def to_local(moment: datetime, tz: ZoneInfo | None) -> datetime:
    """Naive UTC to the naive wall-clock time of ``tz``."""
    if tz is None:
        return moment
    return moment.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def to_utc(local: datetime, tz: ZoneInfo | None) -> datetime:
    """A naive wall-clock time of ``tz`` to naive UTC (a time in a spring-forward gap moves forward)."""
    if tz is None:
        return local
    return local.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def normalise_rule(rule: str, tz: ZoneInfo | None = None) -> str:
    """The rule without an ``RRULE:`` prefix, with ``UNTIL=...Z`` as the naive wall-clock time of ``tz``
    that the rule is expanded in (dateutil refuses a UTC ``UNTIL`` with a naive start)."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]

    def local_until(match: re.Match[str]) -> str:
        try:
            until = datetime.strptime(match.group(1), _UNTIL_FORMAT)
        except ValueError:
            return f"UNTIL={match.group(1)}"  # dateutil says what is wrong with it
        return f"UNTIL={to_local(until, tz).strftime(_UNTIL_FORMAT)}"

    return _UTC_UNTIL.sub(local_until, text)


def parse_rule(rule: str, start: datetime, timezone: str | None = None) -> None:
    """Raise RecurrenceError unless ``rule`` is an RRULE that dateutil accepts."""
    tz = wall_zone(timezone)
    text = normalise_rule(rule, tz)
    if not text or len(text) > 512:
        raise RecurrenceError("The recurrence is empty or too long.")
    try:
        rrulestr(text, dtstart=to_local(start, tz))
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"The recurrence is not a valid RFC 5545 rule: {exc}.") from exc


def occurrence_starts(start: datetime, rule: str | None, timezone: str | None = None) -> Iterator[datetime]:
    """Every occurrence start (naive UTC), first to last (at most MAX_OCCURRENCES), on the wall clock of
    ``timezone`` (UTC without one)."""
    if not rule:
        yield start
        return
    tz = wall_zone(timezone)
    for count, occurrence in enumerate(rrulestr(normalise_rule(rule, tz), dtstart=to_local(start, tz))):
        if count >= MAX_OCCURRENCES:
            return
        local = occurrence.replace(tzinfo=None) if isinstance(occurrence, datetime) else occurrence
        yield to_utc(local, tz)


def occurrences_between(
    start: datetime,
    end: datetime,
    rule: str | None,
    window_from: datetime,
    window_to: datetime,
    timezone: str | None = None,
) -> list[tuple[datetime, datetime]]:
    """Occurrences ``(start, end)`` overlapping ``[window_from, window_to)``."""
    duration: timedelta = end - start
    found: list[tuple[datetime, datetime]] = []
    for occ in occurrence_starts(start, rule, timezone):
        if occ >= window_to:
            break
        if occ + duration > window_from:
            found.append((occ, occ + duration))
    return found


def is_occurrence(
    start: datetime, rule: str | None, candidate: datetime, timezone: str | None = None
) -> bool:
    for occ in occurrence_starts(start, rule, timezone):
        if occ == candidate:
            return True
        if occ > candidate:
            return False
    return False


# --- exceptions: occurrences changed or deleted on their own -------------------------------------------


@dataclass(frozen=True)
class OccurrenceChange:
    """An exception of a series: the occurrence that was due at ``original`` (its scheduled-meeting ID
    keeps that time) is deleted, or has values of its own (None: the series' value)."""

    original: datetime
    deleted: bool = False
    start: datetime | None = None
    end: datetime | None = None
    title: str | None = None
    agenda: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Occurrence:
    """One scheduled meeting of a series as it stands: ``original`` names it, ``start``/``end`` are its
    times now, ``change`` its exception if it has one."""

    original: datetime
    start: datetime
    end: datetime
    change: OccurrenceChange | None = None

    @property
    def modified(self) -> bool:
        return self.change is not None


def apply_change(original: datetime, duration: timedelta, change: OccurrenceChange | None) -> Occurrence:
    if change is None:
        return Occurrence(original, original, original + duration)
    start = change.start or original
    return Occurrence(original, start, change.end or start + duration, change)


def effective_occurrences(
    start: datetime,
    end: datetime,
    rule: str | None,
    changes: Sequence[OccurrenceChange],
    window_from: datetime,
    window_to: datetime,
    timezone: str | None = None,
) -> list[Occurrence]:
    """The occurrences overlapping ``[window_from, window_to)`` as they stand: deleted ones left out,
    changed ones with their own times (an occurrence moved into the window is in it, one moved out is
    not), in the order of their original starts."""
    duration = end - start
    by_original = {c.original: c for c in changes}
    found: list[Occurrence] = []
    seen: set[datetime] = set()
    for original, _ in occurrences_between(start, end, rule, window_from, window_to, timezone):
        seen.add(original)
        change = by_original.get(original)
        if change is not None and change.deleted:
            continue
        occ = apply_change(original, duration, change)
        if occ.start < window_to and occ.end > window_from:
            found.append(occ)
    for change in changes:  # moved into the window from outside it
        if change.deleted or change.original in seen:
            continue
        occ = apply_change(change.original, duration, change)
        if occ.start < window_to and occ.end > window_from:
            found.append(occ)
    found.sort(key=lambda o: o.original)
    return found
