"""The pure rules behind Update and Delete a Meeting, and occurrences on a zone's wall clock: no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from meetadmin.domain.meeting_changes import (
    calendar_refusal,
    cancels_exceptions,
    changed_times,
    instance_refusal,
    occurrence_refusal,
    personal_room_refusal,
    series_refusal,
)
from meetadmin.domain.meeting_rules import RuleError, last_end, password_problem
from meetadmin.domain.occurrences import (
    OccurrenceChange,
    effective_occurrences,
    is_occurrence,
    normalise_rule,
    occurrence_starts,
    wall_zone,
)

NOW = datetime(2026, 12, 1, 10, 30, 15)
HOUR = timedelta(hours=1)


def test_an_ended_instance_is_history() -> None:
    refusal = instance_refusal("ended")
    assert refusal.status == 400
    assert "ended" in refusal.description


@pytest.mark.parametrize("state", ["inProgress", "lobby"])
def test_a_running_instance_cannot_change(state: str) -> None:
    refusal = instance_refusal(state)
    assert refusal.status == 400
    assert "in progress" in refusal.description


def test_a_series_waits_while_an_occurrence_runs() -> None:
    assert series_refusal("active") is None
    assert series_refusal("expired") is None
    for state in ("inProgress", "lobby"):
        refusal = series_refusal(state)
        assert refusal is not None and refusal.status == 409


def test_a_scheduled_meeting_changes_only_while_it_lies_ahead() -> None:
    assert occurrence_refusal(NOW + HOUR, NOW + 2 * HOUR, NOW) is None
    started = occurrence_refusal(NOW - HOUR, NOW + HOUR, NOW)
    assert started is not None and started.status == 400 and "started" in started.description
    ended = occurrence_refusal(NOW - 2 * HOUR, NOW - HOUR, NOW)
    assert ended is not None and ended.status == 400 and "ended" in ended.description


def test_a_scheduled_personal_room_meeting_is_not_supported() -> None:
    assert personal_room_refusal("meeting") is None
    assert personal_room_refusal("webinar") is None
    refusal = personal_room_refusal("personalRoomMeeting")
    assert refusal is not None and refusal.status == 400


def test_meetings_from_a_calendar_connector_are_blocked() -> None:
    assert calendar_refusal(None) is None
    for integration in ("outlook", "google"):
        refusal = calendar_refusal(integration)
        assert refusal is not None and integration in refusal.description


def test_unchanged_times_are_not_checked_again() -> None:
    start = NOW.replace(second=0) - timedelta(days=30)  # a series that began last month
    end = start + HOUR
    assert changed_times(start, end, start, end, NOW) == (start, end)


def test_a_new_start_follows_creates_rules() -> None:
    start, end = NOW + timedelta(days=1), NOW + timedelta(days=1) + HOUR
    later = start + timedelta(days=1, seconds=42)
    assert changed_times(start, end, later, later + HOUR, NOW) == (
        later.replace(second=0),
        (later + HOUR).replace(second=0),
    )
    with pytest.raises(RuleError, match="past"):
        changed_times(start, end, NOW - HOUR, NOW, NOW)
    with pytest.raises(RuleError, match="10 years"):
        changed_times(start, end, NOW + timedelta(days=3700), NOW + timedelta(days=3700) + HOUR, NOW)
    with pytest.raises(RuleError, match="10 minutes"):
        changed_times(start, end, later, later + timedelta(minutes=5), NOW)


def test_a_new_end_alone_keeps_the_duration_within_bounds() -> None:
    start = NOW.replace(second=0) - timedelta(days=30)
    end = start + HOUR
    assert changed_times(start, end, start, start + 2 * HOUR, NOW) == (start, start + 2 * HOUR)
    with pytest.raises(RuleError, match="23 hours 59 minutes"):
        changed_times(start, end, start, start + timedelta(hours=24), NOW)
    with pytest.raises(RuleError, match="10 minutes"):
        changed_times(start, end, start, start - HOUR, NOW)  # an end before the start


def test_changing_start_end_or_recurrence_cancels_exceptions() -> None:
    start, end = NOW + HOUR, NOW + 2 * HOUR
    old = (start, end, "FREQ=WEEKLY;COUNT=5", "UTC")
    assert not cancels_exceptions(old, old)
    assert cancels_exceptions(old, (start + HOUR, end + HOUR, "FREQ=WEEKLY;COUNT=5", "UTC"))
    assert cancels_exceptions(old, (start, end + HOUR, "FREQ=WEEKLY;COUNT=5", "UTC"))
    assert cancels_exceptions(old, (start, end, "FREQ=WEEKLY;COUNT=6", "UTC"))
    assert cancels_exceptions(old, (start, end, None, "UTC"))
    assert cancels_exceptions(old, (start, end, "FREQ=WEEKLY;COUNT=5", "Europe/Berlin"))  # moves them all
    one_off = (start, end, None, "UTC")
    assert not cancels_exceptions(one_off, (start, end, None, "Europe/Berlin"))


def test_the_password_rule_create_and_update_share() -> None:
    assert password_problem(None) is None
    assert password_problem("P@ssword789") is None
    assert password_problem("abc") is not None
    assert password_problem("has space") is not None


# --- occurrences on the wall clock of the series' zone ------------------------------------------------


def test_a_weekly_series_keeps_its_local_time_across_daylight_saving() -> None:
    # 09:00 Europe/Berlin on Mondays; clocks go forward on Sunday 2027-03-28 (UTC+1 -> UTC+2).
    first = datetime(2027, 3, 15, 8, 0)  # 09:00 CET
    starts = list(occurrence_starts(first, "FREQ=WEEKLY;COUNT=4", "Europe/Berlin"))
    assert starts == [
        datetime(2027, 3, 15, 8, 0),
        datetime(2027, 3, 22, 8, 0),
        datetime(2027, 3, 29, 7, 0),  # 09:00 CEST
        datetime(2027, 4, 5, 7, 0),
    ]
    assert is_occurrence(first, "FREQ=WEEKLY;COUNT=4", datetime(2027, 3, 29, 7, 0), "Europe/Berlin")
    assert not is_occurrence(first, "FREQ=WEEKLY;COUNT=4", datetime(2027, 3, 29, 8, 0), "Europe/Berlin")
    assert last_end(first, first + HOUR, "FREQ=WEEKLY;COUNT=4", "Europe/Berlin") == datetime(2027, 4, 5, 8, 0)


def test_in_utc_a_series_keeps_its_utc_time() -> None:
    first = datetime(2027, 3, 15, 8, 0)
    assert list(occurrence_starts(first, "FREQ=WEEKLY;COUNT=3", "UTC"))[-1] == datetime(2027, 3, 29, 8, 0)
    assert list(occurrence_starts(first, "FREQ=WEEKLY;COUNT=3"))[-1] == datetime(2027, 3, 29, 8, 0)


def test_a_utc_until_is_read_on_the_zones_wall_clock() -> None:
    assert normalise_rule("RRULE:FREQ=DAILY;UNTIL=20270329T070000Z", wall_zone("Europe/Berlin")) == (
        "FREQ=DAILY;UNTIL=20270329T090000"
    )
    first = datetime(2027, 3, 15, 8, 0)
    starts = list(occurrence_starts(first, "FREQ=WEEKLY;UNTIL=20270329T070000Z", "Europe/Berlin"))
    assert starts[-1] == datetime(2027, 3, 29, 7, 0)  # the UNTIL instant itself is included


def test_an_unknown_zone_expands_in_utc() -> None:
    assert wall_zone("Not/AZone") is None
    assert wall_zone(None) is None


# --- exceptions ------------------------------------------------------------------------------------------

FIRST = datetime(2027, 3, 1, 9, 0)
DAILY = "FREQ=DAILY;COUNT=5"


def _occs(changes: list[OccurrenceChange], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [
        (o.original, o.start) for o in effective_occurrences(FIRST, FIRST + HOUR, DAILY, changes, start, end)
    ]


def test_a_deleted_occurrence_is_left_out() -> None:
    gone = OccurrenceChange(datetime(2027, 3, 2, 9, 0), deleted=True)
    found = effective_occurrences(FIRST, FIRST + HOUR, DAILY, [gone], FIRST, FIRST + timedelta(days=5))
    assert [o.original.day for o in found] == [1, 3, 4, 5]
    assert not any(o.modified for o in found)


def test_a_changed_occurrence_shows_its_own_values_and_keeps_its_name() -> None:
    moved = OccurrenceChange(
        datetime(2027, 3, 2, 9, 0),
        start=datetime(2027, 3, 2, 14, 0),
        end=datetime(2027, 3, 2, 14, 30),
        title="X",
    )
    found = effective_occurrences(FIRST, FIRST + HOUR, DAILY, [moved], FIRST, FIRST + timedelta(days=5))
    second = found[1]
    assert second.modified and second.change is moved
    assert (second.original, second.start, second.end) == (moved.original, moved.start, moved.end)


def test_an_occurrence_moved_out_of_the_window_leaves_it_and_one_moved_in_joins_it() -> None:
    moved = OccurrenceChange(
        datetime(2027, 3, 2, 9, 0), start=datetime(2027, 3, 4, 18, 0), end=datetime(2027, 3, 4, 19, 0)
    )
    window_of_the_2nd = (datetime(2027, 3, 2), datetime(2027, 3, 3))
    assert _occs([moved], *window_of_the_2nd) == []
    window_of_the_4th = (datetime(2027, 3, 4), datetime(2027, 3, 5))
    assert _occs([moved], *window_of_the_4th) == [
        (datetime(2027, 3, 2, 9, 0), datetime(2027, 3, 4, 18, 0)),  # in the order of the original starts
        (datetime(2027, 3, 4, 9, 0), datetime(2027, 3, 4, 9, 0)),
    ]
