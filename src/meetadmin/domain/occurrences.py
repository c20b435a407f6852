"""Occurrences of a meeting series from its RFC 5545 recurrence rule (via dateutil)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from dateutil.rrule import rrulestr

# Webex caps how far a series reaches; we cap how many occurrences we ever expand.
MAX_OCCURRENCES = 2000


_UTC_UNTIL = re.compile(r"(UNTIL=\d{8}T\d{6})Z", re.IGNORECASE)


class RecurrenceError(ValueError):
    pass


def normalise_rule(rule: str) -> str:
    """The rule without an ``RRULE:`` prefix, ``UNTIL=...Z`` as the naive UTC time the store expands
    rules with (dateutil refuses a UTC ``UNTIL`` with a naive start)."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return _UTC_UNTIL.sub(r"\1", text)


def parse_rule(rule: str, start: datetime) -> None:
    """Raise RecurrenceError unless ``rule`` is an RRULE that dateutil accepts."""
    text = normalise_rule(rule)
    if not text or len(text) > 512:
        raise RecurrenceError("The recurrence is empty or too long.")
    try:
        rrulestr(text, dtstart=start)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"The recurrence is not a valid RFC 5545 rule: {exc}.") from exc


def occurrence_starts(start: datetime, rule: str | None) -> Iterator[datetime]:
    """Every occurrence start, first to last (at most MAX_OCCURRENCES)."""
    if not rule:
        yield start
        return
    for count, occurrence in enumerate(rrulestr(normalise_rule(rule), dtstart=start)):
        if count >= MAX_OCCURRENCES:
            return
        yield occurrence.replace(tzinfo=None) if isinstance(occurrence, datetime) else occurrence


def occurrences_between(
    start: datetime, end: datetime, rule: str | None, window_from: datetime, window_to: datetime
) -> list[tuple[datetime, datetime]]:
    """Occurrences ``(start, end)`` overlapping ``[window_from, window_to)``."""
    duration: timedelta = end - start
    found: list[tuple[datetime, datetime]] = []
    for occ in occurrence_starts(start, rule):
        if occ >= window_to:
            break
        if occ + duration > window_from:
            found.append((occ, occ + duration))
    return found


def is_occurrence(start: datetime, rule: str | None, candidate: datetime) -> bool:
    for occ in occurrence_starts(start, rule):
        if occ == candidate:
            return True
        if occ > candidate:
            return False
    return False
