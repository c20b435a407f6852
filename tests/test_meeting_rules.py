"""The pure rules behind List and Create a Meeting: no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from meetadmin.domain.meeting_rules import (
    RuleError,
    instance_end,
    last_end,
    list_window,
    meeting_times,
    new_password,
    parse_instant,
    series_state,
    text_problems,
    zone,
)
from meetadmin.domain.occurrences import normalise_rule

NOW = datetime(2026, 11, 22, 10, 30, 15)
WEEK = timedelta(days=7)


def test_parse_instant_accepts_the_iso_forms_webex_clients_send() -> None:
    assert parse_instant("2019-03-18T09:30:00+08:00", "from") == datetime(2019, 3, 18, 1, 30)
    assert parse_instant("2019-03-18T01:30:00Z", "from") == datetime(2019, 3, 18, 1, 30)
    assert parse_instant("2019-03-18T01:30:00.789Z", "from") == datetime(2019, 3, 18, 1, 30, 0, 789000)
    assert parse_instant("2019-03-18", "from") == datetime(2019, 3, 18)
    assert parse_instant("2019-11-01 20:00:00", "start", zone("Asia/Shanghai")) == datetime(2019, 11, 1, 12)


@pytest.mark.parametrize("text", ["", "yesterday", "2019-13-01T00:00:00Z", "2019-03-18T25:00:00Z", "x" * 80])
def test_parse_instant_refuses_what_is_not_iso_8601(text: str) -> None:
    with pytest.raises(RuleError, match="from"):
        parse_instant(text, "from")


def test_unknown_zone_is_refused() -> None:
    assert zone(None) is None and zone(" ") is None
    with pytest.raises(RuleError):
        zone("Mars/Olympus")


def test_list_window_defaults_follow_webex() -> None:
    assert list_window("meetingSeries", None, None, NOW) == (NOW, NOW + WEEK)
    assert list_window("scheduledMeeting", None, None, NOW) == (NOW, NOW + WEEK)
    assert list_window("meeting", None, None, NOW) == (NOW - WEEK, NOW)
    start = datetime(2027, 1, 1)
    assert list_window("meeting", start, None, NOW) == (start, start + WEEK)
    assert list_window("meetingSeries", None, start, NOW) == (start - WEEK, start)
    assert list_window("meetingSeries", start, start, NOW) == (start, start)
    with pytest.raises(RuleError, match="after"):
        list_window("meetingSeries", start, start - timedelta(seconds=1), NOW)
    with pytest.raises(RuleError):
        list_window("meetingSeries", None, datetime(1, 1, 2), NOW)
    with pytest.raises(RuleError):
        list_window("meetingSeries", datetime(9999, 12, 30), None, NOW)


def test_last_end_of_finite_and_endless_rules() -> None:
    start, end = datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10)
    assert last_end(start, end, None) == end
    assert last_end(start, end, "FREQ=DAILY;COUNT=3") == datetime(2026, 1, 3, 10)
    assert last_end(start, end, "FREQ=WEEKLY;UNTIL=20260115T090000") == datetime(2026, 1, 15, 10)
    assert last_end(start, end, "FREQ=WEEKLY") is None


def test_instance_end_is_when_it_ended_or_else_its_scheduled_end() -> None:
    series_start, series_end = datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 9, 45)
    started = NOW - timedelta(minutes=10)
    assert instance_end(started, None, series_start, series_end) == started + timedelta(minutes=45)
    assert instance_end(started, NOW, series_start, series_end) == NOW  # ended early: when it ended
    assert instance_end(started, NOW + WEEK, series_start, series_end) == NOW + WEEK  # ran over


def test_series_state() -> None:
    start, end = NOW - timedelta(days=3), NOW - timedelta(days=3) + timedelta(hours=1)
    assert series_state("active", start, end, None, NOW) == "expired"
    assert series_state("active", start, end, "FREQ=DAILY;COUNT=10", NOW) == "active"
    assert series_state("active", start, end, "FREQ=DAILY", NOW) == "active"
    assert series_state("inProgress", start, end, None, NOW) == "inProgress"
    assert series_state("lobby", start, end, None, NOW) == "inProgress"


def test_meeting_times_truncate_and_move_a_start_in_this_minute() -> None:
    times = meeting_times(NOW + timedelta(hours=1, seconds=30), NOW + timedelta(hours=2, seconds=30), NOW)
    assert times.start == datetime(2026, 11, 22, 11, 30) and times.end == datetime(2026, 11, 22, 12, 30)
    moved = meeting_times(NOW, NOW + timedelta(minutes=30), NOW)
    assert moved.start == datetime(2026, 11, 22, 10, 31)


@pytest.mark.parametrize(
    ("start", "minutes", "words"),
    [
        (NOW - timedelta(minutes=2), 30, "past"),
        (NOW + timedelta(days=3653), 30, "10 years"),
        (NOW + timedelta(days=1), 9, "10 minutes"),
        (NOW + timedelta(days=1), 24 * 60, "23 hours 59 minutes"),
        (NOW + timedelta(days=1), -30, "10 minutes"),
    ],
)
def test_meeting_times_refusals(start: datetime, minutes: int, words: str) -> None:
    with pytest.raises(RuleError, match=words):
        meeting_times(start, start + timedelta(minutes=minutes), NOW)


def test_meeting_times_limits_are_inclusive() -> None:
    start = NOW + timedelta(days=1)
    assert meeting_times(start, start + timedelta(minutes=10), NOW)
    assert meeting_times(start, start + timedelta(hours=23, minutes=59), NOW)


def test_text_problems() -> None:
    assert text_problems("Plan", "x" * 1300) == []
    assert len(text_problems("", None)) == 1
    assert len(text_problems("x" * 129, "x" * 1301)) == 2


def test_generated_passwords_mix_cases_and_digits() -> None:
    for _ in range(20):
        word = new_password()
        assert len(word) == 11
        assert any(c.isupper() for c in word) and any(c.islower() for c in word)
        assert any(c.isdigit() for c in word)


def test_utc_until_is_kept_as_naive_utc() -> None:
    assert normalise_rule("RRULE:FREQ=WEEKLY;UNTIL=20270115T090000Z") == "FREQ=WEEKLY;UNTIL=20270115T090000"
    assert normalise_rule("FREQ=DAILY;COUNT=3") == "FREQ=DAILY;COUNT=3"
