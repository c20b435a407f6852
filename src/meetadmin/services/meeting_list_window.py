"""Which occurrences of a series fall in a List Meetings window, without expanding its whole past.

A listing asks, for every candidate series, which of its occurrences overlap ``[from, to)``. Expanding
the rule from the series' first start costs one dateutil step per occurrence before the window: a
weekly series two years old takes a hundred steps for the one occurrence it shows this week. Two
shortcuts keep that cost near the window:

* ``may_overlap``: a recurring series whose last occurrence (and last moved occurrence) ended before the
  window has none in it; it is dropped before it is even loaded.
* ``fast_forward``: a plain daily or weekly rule (``FREQ``, ``INTERVAL``, ``COUNT`` and nothing else)
  repeats its first wall-clock start every ``INTERVAL`` days or weeks, so the series from its k-th
  occurrence on is the same rule started k steps later with ``COUNT`` lowered by k. Its occurrences,
  their original starts (the scheduled-meeting IDs) and the exceptions that apply are the same.
  ``rule_end`` likewise computes the last occurrence of such a rule with a ``COUNT`` instead of
  expanding it (as ``domain.meeting_rules.last_end`` does, whose answers it gives).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from meetadmin.domain.meeting_rules import last_end
from meetadmin.domain.occurrences import (
    MAX_OCCURRENCES,
    Occurrence,
    OccurrenceChange,
    effective_occurrences,
    to_local,
    to_utc,
    wall_zone,
)
from meetadmin.store.meeting_list import SeriesKey
from meetadmin.store.meeting_reads import SeriesView

_STEP = {"DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}


def may_overlap(key: SeriesKey, window: tuple[datetime, datetime]) -> bool:
    """False when the series certainly has no occurrence in the window (SQL checked the rest)."""
    if not key.recurrence:
        return True
    if key.exceptions_end is not None and key.exceptions_end > window[0]:
        return True  # an occurrence moved into (or past) the window
    finish = rule_end(key.start, key.end, key.recurrence, key.timezone)
    return finish is None or finish > window[0]


def in_window(view: SeriesView, window: tuple[datetime, datetime]) -> list[Occurrence]:
    """The series' occurrences overlapping the window, its exceptions applied."""
    s = view.series
    if s.recurrence and not view.changes:
        finish = rule_end(s.start, s.end, s.recurrence, s.timezone)
        if finish is not None and finish <= window[0]:
            return []
    return occurrences_in(s.start, s.end, s.recurrence, s.timezone, view.changes, window)


def rule_end(start: datetime, end: datetime, rule: str, timezone: str | None) -> datetime | None:
    """``domain.meeting_rules.last_end``; a plain rule with a count computes its last occurrence."""
    plain = _plain_rule(rule)
    if plain is None:
        return last_end(start, end, rule, timezone)
    freq, interval, count = plain
    if count is None or count >= MAX_OCCURRENCES:
        return None  # as last_end: it runs past what we expand
    tz = wall_zone(timezone)
    try:
        last = to_utc(to_local(start, tz) + (count - 1) * _STEP[freq] * interval, tz)
    except (OverflowError, ValueError):
        return last_end(start, end, rule, timezone)
    return last + (end - start)


def occurrences_in(
    start: datetime,
    end: datetime,
    rule: str | None,
    timezone: str | None,
    changes: tuple[OccurrenceChange, ...],
    window: tuple[datetime, datetime],
) -> list[Occurrence]:
    """``domain.occurrences.effective_occurrences``, started near the window when the rule allows."""
    start, end, rule = fast_forward(start, end, rule, timezone, window[0])
    return effective_occurrences(start, end, rule, changes, window[0], window[1], timezone)


def fast_forward(
    start: datetime, end: datetime, rule: str | None, timezone: str | None, window_from: datetime
) -> tuple[datetime, datetime, str | None]:
    """``(start, end, rule)`` of the same series begun at its last occurrence a step or more before
    ``window_from`` (unchanged unless the rule is a plain daily or weekly one and that start is a
    wall-clock time that exists in its zone)."""
    plain = _plain_rule(rule)
    if plain is None:
        return start, end, rule
    try:
        return _forward(start, end, rule, plain, timezone, window_from)
    except (OverflowError, ValueError):  # near the years 1 or 9999: expand from the start
        return start, end, rule


def _forward(
    start: datetime,
    end: datetime,
    rule: str | None,
    plain: tuple[str, int, int | None],
    timezone: str | None,
    window_from: datetime,
) -> tuple[datetime, datetime, str | None]:
    freq, interval, count = plain
    step = _STEP[freq] * interval
    tz = wall_zone(timezone)
    local = to_local(start, tz)
    duration = end - start
    # One step of margin: a daylight-saving change moves an occurrence's UTC time by at most an hour.
    skip = (to_local(window_from, tz) - local - duration) // step - 1
    limit = min(count, MAX_OCCURRENCES) if count is not None else MAX_OCCURRENCES
    if skip <= 0 or skip >= limit:
        return start, end, rule
    moved = local + skip * step
    moved_start = to_utc(moved, tz)
    if to_local(moved_start, tz) != moved:  # a wall-clock time the zone skips: expand from the start
        return start, end, rule
    return moved_start, moved_start + duration, _rule(freq, interval, limit - skip)


def _rule(freq: str, interval: int, count: int | None) -> str:
    return f"FREQ={freq};INTERVAL={interval}" + (f";COUNT={count}" if count is not None else "")


def _plain_rule(rule: str | None) -> tuple[str, int, int | None] | None:
    """``(FREQ, INTERVAL, COUNT)`` of a rule made of those parts only, with FREQ daily or weekly."""
    if not rule:
        return None
    text = rule.strip().upper()
    if text.startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not sep or name in parts or name not in ("FREQ", "INTERVAL", "COUNT"):
            return None
        parts[name] = value
    freq = parts.get("FREQ", "")
    interval, count = parts.get("INTERVAL", "1"), parts.get("COUNT")
    if freq not in _STEP or not _small_number(interval) or (count is not None and not _small_number(count)):
        return None
    return freq, int(interval), int(count) if count is not None else None


def _small_number(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 < int(value) < 100_000
