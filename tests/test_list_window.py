"""List Meetings starts a plain daily or weekly rule near the window (services.meeting_list_window): the
occurrences it finds, their original starts and the exceptions applied are those of expanding the rule
from the series' first start, across daylight-saving changes, counts and the expansion cap."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from meetadmin.domain.meeting_rules import last_end
from meetadmin.domain.occurrences import MAX_OCCURRENCES, OccurrenceChange, effective_occurrences
from meetadmin.services.meeting_list_window import fast_forward, occurrences_in, rule_end

ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
RULES = [
    "FREQ=WEEKLY",
    "FREQ=DAILY",
    "FREQ=WEEKLY;COUNT=26",
    "FREQ=DAILY;COUNT=30",
    "FREQ=WEEKLY;INTERVAL=2",
    "RRULE:freq=daily;interval=3;count=400",
    "FREQ=DAILY;COUNT=2500",  # past the expansion cap
    "FREQ=WEEKLY;BYDAY=MO,WE",  # not plain: expanded from the start
    "FREQ=MONTHLY;COUNT=12",
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("rule", RULES)
def test_fast_forward_finds_what_a_full_expansion_finds(zone: str | None, rule: str) -> None:
    rng = random.Random(f"{zone}{rule}")
    for _ in range(25):
        # 02:30 local falls into a spring-forward gap in Berlin and New York on some days.
        start = datetime(2024, 1, 1, 2, 30) + timedelta(days=rng.randint(0, 400), minutes=rng.choice([0, 30]))
        end = start + timedelta(minutes=rng.choice([30, 60, 23 * 60]))
        window_from = start + timedelta(days=rng.randint(-10, 3000), hours=rng.randint(0, 23))
        window = (window_from, window_from + timedelta(days=rng.choice([1, 7, 30])))
        occs = effective_occurrences(start, end, rule, (), start, window[1], zone)
        changes: tuple[OccurrenceChange, ...] = ()
        if len(occs) > 3:
            moved, deleted = occs[-2], occs[-3]
            changes = (
                OccurrenceChange(deleted.original, deleted=True),
                OccurrenceChange(moved.original, start=window[0] + timedelta(hours=1)),
            )
        expected = effective_occurrences(start, end, rule, changes, window[0], window[1], zone)
        assert occurrences_in(start, end, rule, zone, changes, window) == expected


def test_fast_forward_moves_the_start_only_for_a_plain_rule_before_the_cap() -> None:
    start = datetime(2024, 1, 1, 9)
    end = start + timedelta(hours=1)
    later = datetime(2026, 1, 1)
    moved = fast_forward(start, end, "FREQ=WEEKLY", "Europe/Berlin", later)
    assert moved[0] > start and moved[0] < later and moved[1] - moved[0] == end - start
    weeks = round((moved[0] - start) / timedelta(weeks=1))
    assert moved[2] == f"FREQ=WEEKLY;INTERVAL=1;COUNT={MAX_OCCURRENCES - weeks}"
    for rule in ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;UNTIL=20270101T000000Z", "FREQ=DAILY;COUNT=10", ""):
        assert fast_forward(start, end, rule, None, later) == (start, end, rule)
    assert fast_forward(start, end, "FREQ=DAILY", None, datetime(1, 1, 1)) == (start, end, "FREQ=DAILY")


@pytest.mark.parametrize("zone", ZONES)
def test_the_end_of_a_plain_rule_with_a_count_is_that_of_its_expansion(zone: str | None) -> None:
    rng = random.Random(str(zone))
    for _ in range(40):
        start = datetime(2024, 1, 1, 2, 30) + timedelta(days=rng.randint(0, 400), minutes=rng.choice([0, 30]))
        end = start + timedelta(minutes=rng.choice([30, 90]))
        rule = rng.choice(["FREQ=DAILY;COUNT=", "FREQ=WEEKLY;INTERVAL=2;COUNT=", "FREQ=WEEKLY;COUNT="])
        rule += str(rng.choice([1, 7, 26, 30, 2500]))
        assert rule_end(start, end, rule, zone) == last_end(start, end, rule, zone)
