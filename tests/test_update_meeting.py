"""PATCH and PUT /v1/meetings/{meetingId} (Patch / Update a Meeting, contract-notes §9) through the real
app and database: series, scheduled meetings as exceptions, validation, who may, and every read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.change_world import (
    INVALID,
    JOHN_EMAIL,
    MARCUS_EMAIL,
    MARCUS_WEEKLY,
    NOW,
    RAN,
    RAN_START,
    SOLO,
    WEEKLY,
    WEEKLY_START,
    audit_actions,
    change_world,
    exception_count,
    iso,
    listed_ids,
    occurrence_id,
    occurrences,
    weekly,
)
from tests.worlds import ADMIN, JOHN, LIVE, MARCUS, OTHER_ADMIN, OUTLOOK, PERSONAL, auth


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    return change_world(engine)


def patch(client: TestClient, token: str, meeting_id: str, **body: Any) -> Any:
    return client.patch(f"/v1/meetings/{meeting_id}", headers=auth(token), json=body)


def get(client: TestClient, token: str, meeting_id: str, **params: Any) -> Any:
    return client.get(f"/v1/meetings/{meeting_id}", headers=auth(token), params=params)


def test_the_host_renames_a_series_and_every_read_sees_it(client: TestClient, world: Any) -> None:
    r = patch(client, JOHN, WEEKLY, title="Weekly one-to-one", agenda="Plans")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["meetingSeriesId"], body["meetingType"]) == (WEEKLY, WEEKLY, "meetingSeries")
    assert (body["title"], body["agenda"], body["state"]) == ("Weekly one-to-one", "Plans", "active")
    assert body["start"] == iso(WEEKLY_START) and body["recurrence"] == "FREQ=WEEKLY;COUNT=6"
    assert get(client, JOHN, WEEKLY).json()["title"] == "Weekly one-to-one"
    assert get(client, ADMIN, WEEKLY, current=True).json()["title"] == "Weekly one-to-one"
    series = client.get("/v1/meetings", headers=auth(JOHN), params={"current": False}).json()["items"]
    assert [m["title"] for m in series if m["id"] == WEEKLY] == ["Weekly one-to-one"]
    assert {m["title"] for m in occurrences(client, JOHN, WEEKLY)} == {"Weekly one-to-one"}


def test_put_behaves_as_patch(client: TestClient, world: Any) -> None:
    r = client.put(
        f"/v1/meetings/{WEEKLY}", headers=auth(JOHN), json={"title": "Put", "password": "Secret123"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["password"]) == ("Put", "Secret123")
    assert r.json()["start"] == iso(WEEKLY_START)  # absent fields keep their values
    assert get(client, JOHN, WEEKLY).json()["password"] == "Secret123"


def test_a_scheduled_meeting_becomes_an_exception_with_its_own_values(client: TestClient, world: Any) -> None:
    second = occurrence_id(WEEKLY, weekly(1))
    moved = weekly(1) + timedelta(hours=3)
    r = patch(
        client, JOHN, second, title="Moved once", start=iso(moved), end=iso(moved + timedelta(minutes=30))
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["meetingSeriesId"], body["meetingType"]) == (second, WEEKLY, "scheduledMeeting")
    assert (body["title"], body["isModified"], body["state"]) == ("Moved once", True, "scheduled")
    assert (body["start"], body["end"]) == (iso(moved), iso(moved + timedelta(minutes=30)))
    listed = occurrences(client, JOHN, WEEKLY)
    assert [m["id"] for m in listed] == [occurrence_id(WEEKLY, weekly(n)) for n in range(6)]
    assert [m["isModified"] for m in listed] == [False, True, False, False, False, False]
    assert listed[1]["title"] == "Moved once" and listed[1]["start"] == iso(moved)
    assert {m["title"] for i, m in enumerate(listed) if i != 1} == {"Weekly 1:1"}
    fetched = get(client, JOHN, second).json()
    assert (fetched["title"], fetched["start"], fetched["isModified"]) == ("Moved once", iso(moved), True)
    assert [m["id"] for m in occurrences(client, JOHN, WEEKLY, isModified=True)] == [second]
    assert second not in [m["id"] for m in occurrences(client, JOHN, WEEKLY, isModified=False)]
    window = {
        "meetingType": "scheduledMeeting",
        "from": iso(weekly(1)),
        "to": iso(weekly(1) + timedelta(days=1)),
    }
    assert listed_ids(client, JOHN, **window) == [second]
    # The series itself is unchanged.
    assert get(client, JOHN, WEEKLY).json()["title"] == "Weekly 1:1"


def test_an_occurrence_moved_to_another_day_is_listed_on_that_day(client: TestClient, world: Any) -> None:
    second = occurrence_id(WEEKLY, weekly(1))
    moved = weekly(1) + timedelta(days=2)
    assert (
        patch(client, JOHN, second, start=iso(moved), end=iso(moved + timedelta(hours=1))).status_code == 200
    )
    day = {"meetingType": "scheduledMeeting", "current": True}
    assert (
        listed_ids(client, JOHN, **day, **{"from": iso(weekly(1)), "to": iso(weekly(1) + timedelta(hours=2))})
        == []
    )
    assert listed_ids(client, JOHN, **day, **{"from": iso(moved), "to": iso(moved + timedelta(hours=2))}) == [
        second
    ]
    series_that_day = listed_ids(client, JOHN, **{"from": iso(moved), "to": iso(moved + timedelta(hours=2))})
    assert series_that_day == [WEEKLY]


def test_the_one_occurrence_of_a_single_meeting_moved_later_is_listed_on_its_new_day(
    client: TestClient, world: Any
) -> None:
    only = listed_ids(client, MARCUS, meetingSeriesId=SOLO, meetingType="scheduledMeeting")
    assert len(only) == 1
    moved = NOW + timedelta(days=6)
    r = patch(client, MARCUS, only[0], start=iso(moved), end=iso(moved + timedelta(hours=1)))
    assert r.status_code == 200, r.text
    new_day = {"from": iso(moved - timedelta(hours=1)), "to": iso(moved + timedelta(hours=2))}

    def solo(**window: str) -> list[str]:
        return [i for i in listed_ids(client, MARCUS, **window) if i.startswith(SOLO)]

    assert solo(meetingType="scheduledMeeting", **new_day) == only
    assert solo(**new_day) == [SOLO]
    old_day = {"from": iso(NOW + timedelta(days=2)), "to": iso(NOW + timedelta(days=4))}
    assert solo(meetingType="scheduledMeeting", **old_day) == []


def test_is_modified_filters_every_scheduled_meeting_listing(client: TestClient, world: Any) -> None:
    second = occurrence_id(WEEKLY, weekly(1))
    assert patch(client, JOHN, second, title="Changed").status_code == 200
    window = {"meetingType": "scheduledMeeting", "from": iso(NOW), "to": iso(NOW + timedelta(days=30))}
    assert listed_ids(client, JOHN, isModified=True, **window) == [second]
    unmodified = listed_ids(client, JOHN, isModified=False, **window)
    assert second not in unmodified and occurrence_id(WEEKLY, weekly(0)) in unmodified
    assert second in listed_ids(client, JOHN, **window)


@pytest.mark.parametrize(
    "change",
    [
        {
            "start": iso(weekly(0, WEEKLY_START + timedelta(hours=1))),
            "end": iso(WEEKLY_START + timedelta(hours=2)),
        },
        {"end": iso(WEEKLY_START + timedelta(minutes=45))},
        {"recurrence": "FREQ=WEEKLY;COUNT=8"},
        {"recurrence": None},
    ],
    ids=["start", "end", "recurrence", "no-recurrence"],
)
def test_changing_the_series_times_or_recurrence_cancels_its_exceptions(
    client: TestClient, engine: Engine, world: Any, change: dict[str, Any]
) -> None:
    second = occurrence_id(WEEKLY, weekly(1))
    assert patch(client, JOHN, second, title="Exception").status_code == 200
    assert exception_count(engine, WEEKLY) == 1
    r = patch(client, JOHN, WEEKLY, **change)
    assert r.status_code == 200, r.text
    assert exception_count(engine, WEEKLY) == 0
    assert all(not m["isModified"] and m["title"] == "Weekly 1:1" for m in occurrences(client, JOHN, WEEKLY))


def test_other_series_changes_keep_its_exceptions(client: TestClient, engine: Engine, world: Any) -> None:
    second = occurrence_id(WEEKLY, weekly(1))
    assert patch(client, JOHN, second, title="Exception").status_code == 200
    assert (
        patch(client, JOHN, WEEKLY, title="Renamed", agenda="New agenda", password="Other123").status_code
        == 200
    )
    # Unchanged times sent again (as a PUT of the whole meeting does) change nothing either.
    assert (
        patch(client, JOHN, WEEKLY, start=iso(WEEKLY_START), recurrence="FREQ=WEEKLY;COUNT=6").status_code
        == 200
    )
    assert exception_count(engine, WEEKLY) == 1
    titles = [m["title"] for m in occurrences(client, JOHN, WEEKLY)]
    assert titles == ["Renamed", "Exception", "Renamed", "Renamed", "Renamed", "Renamed"]


def test_null_clears_recurrence_and_agenda(client: TestClient, world: Any) -> None:
    assert patch(client, JOHN, WEEKLY, agenda="Something").status_code == 200
    r = patch(client, JOHN, WEEKLY, recurrence=None, agenda=None)
    assert r.status_code == 200, r.text
    assert "recurrence" not in r.json() and "agenda" not in r.json()
    assert [m["start"] for m in occurrences(client, JOHN, WEEKLY)] == [iso(WEEKLY_START)]


def test_a_series_that_began_long_ago_can_still_be_renamed(client: TestClient, world: Any) -> None:
    r = patch(client, MARCUS, RAN, title="Still running")
    assert r.status_code == 200, r.text
    assert r.json()["start"] == iso(RAN_START)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"title": ""}, "'title' must not be empty"),
        ({"title": "   "}, "'title' must not be empty"),
        (
            {"start": iso(NOW - timedelta(days=1)), "end": iso(NOW - timedelta(days=1) + timedelta(hours=1))},
            "past",
        ),
        ({"end": iso(WEEKLY_START - timedelta(hours=1))}, "at least 10 minutes"),
        ({"end": iso(WEEKLY_START + timedelta(minutes=5))}, "at least 10 minutes"),
        ({"end": iso(WEEKLY_START + timedelta(hours=25))}, "23 hours 59 minutes"),
        (
            {"start": iso(NOW + timedelta(days=3700)), "end": iso(NOW + timedelta(days=3700, hours=1))},
            "10 years",
        ),
        ({"start": "next tuesday"}, "ISO 8601"),
        ({"password": "a b"}, "'password'"),
        ({"timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"recurrence": "FREQ=SOMETIMES"}, "recurrence"),
        ({"sessionTypeId": 20}, "does not hold session type 20"),
        ({"sessionTypeId": 9}, "webinar session type"),
        ({"sessionTypeId": 1.5}, "positive whole number"),
    ],
)
def test_validation_is_creates(client: TestClient, world: Any, body: dict[str, Any], words: str) -> None:
    before = get(client, JOHN, WEEKLY).json()
    r = patch(client, JOHN, WEEKLY, **body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == INVALID
    assert words in " ".join(e["description"] for e in r.json()["errors"])
    assert get(client, JOHN, WEEKLY).json() == before


@pytest.mark.parametrize(
    "body", [{"title": "x" * 129}, {"title": 5}, {"sendEmail": "yes"}, {"agenda": "x" * 1301}], ids=str
)
def test_malformed_bodies_are_400(client: TestClient, world: Any, body: dict[str, Any]) -> None:
    r = patch(client, JOHN, WEEKLY, **body)
    assert r.status_code == 400, r.text
    assert r.json()["trackingId"]


def test_the_host_may_change_the_session_type_to_one_they_hold(client: TestClient, world: Any) -> None:
    r = patch(client, MARCUS, SOLO, sessionTypeId=20)
    assert r.status_code == 200, r.text
    assert r.json()["sessionTypeId"] == 20


def test_a_scheduled_meeting_keeps_series_fields_to_the_series(client: TestClient, world: Any) -> None:
    second = occurrence_id(WEEKLY, weekly(1))
    for body in ({"recurrence": "FREQ=DAILY"}, {"timezone": "Europe/Paris"}, {"sessionTypeId": 9}):
        r = patch(client, JOHN, second, **body)
        assert r.status_code == 400, r.text
        assert f"series ID {WEEKLY}" in r.json()["errors"][0]["description"]
    # The series' own values sent again (a PUT of the whole object) are fine.
    same = {"recurrence": "FREQ=WEEKLY;COUNT=6", "timezone": "UTC", "sessionTypeId": 3, "title": "Own"}
    assert patch(client, JOHN, second, **same).status_code == 200


def test_a_scheduled_meeting_cannot_move_before_its_series_begins(client: TestClient, world: Any) -> None:
    first = occurrence_id(WEEKLY, weekly(0))
    early = WEEKLY_START - timedelta(hours=2)
    r = patch(client, JOHN, first, start=iso(early), end=iso(early + timedelta(hours=1)))
    assert r.status_code == 400
    assert "before its series begins" in r.json()["errors"][0]["description"]


def test_instances_are_refused_with_a_reason(client: TestClient, world: Any) -> None:
    ended = listed_ids(client, MARCUS, meetingSeriesId=RAN, meetingType="meeting")
    assert len(ended) == 3
    r = patch(client, MARCUS, ended[0], title="Rewrite history")
    assert r.status_code == 400
    assert "ended" in r.json()["errors"][0]["description"]
    (running,) = listed_ids(client, MARCUS, meetingSeriesId=LIVE, meetingType="meeting")
    r = patch(client, MARCUS, running, title="Now")
    assert r.status_code == 400
    assert "in progress" in r.json()["errors"][0]["description"]
    assert patch(client, MARCUS, f"{RAN}_I_123456789012345678", title="x").status_code == 404


def test_a_series_in_progress_waits(client: TestClient, world: Any) -> None:
    r = patch(client, MARCUS, LIVE, title="Renamed while running")
    assert r.status_code == 409
    assert "in progress" in r.json()["errors"][0]["description"]


def test_a_past_scheduled_meeting_is_refused(client: TestClient, world: Any) -> None:
    r = patch(client, MARCUS, occurrence_id(RAN, RAN_START), title="Too late")
    assert r.status_code == 400
    assert "already ended" in r.json()["errors"][0]["description"]
    not_an_occurrence = occurrence_id(RAN, RAN_START + timedelta(hours=5))
    assert patch(client, MARCUS, not_an_occurrence, title="x").status_code == 404


def test_meetings_from_a_calendar_and_scheduled_personal_room_meetings_are_refused(
    client: TestClient, world: Any
) -> None:
    r = patch(client, MARCUS, OUTLOOK, title="From the API")
    assert r.status_code == 400 and "calendar" in r.json()["errors"][0]["description"]
    r = patch(
        client, MARCUS, occurrence_id(PERSONAL, NOW.replace(year=2027, month=2, day=7, hour=9, minute=0))
    )
    assert r.status_code == 400 and "personal room" in r.json()["errors"][0]["description"]


def test_who_may_update(client: TestClient, world: Any) -> None:
    assert patch(client, JOHN, SOLO, title="Not mine").status_code == 404  # users see what they host
    assert patch(client, "example-admin-readonly", SOLO, title="x").status_code == 403
    assert patch(client, "example-john-pretends", SOLO, title="x").status_code == 403  # not an admin
    assert patch(client, OTHER_ADMIN, SOLO, title="x").status_code == 404
    assert patch(client, ADMIN, "1d824a4a205042eba9574e00b711b226", title="x").status_code == 404
    assert patch(client, ADMIN, "not-a-meeting-id", title="x").status_code == 404
    assert patch(client, ADMIN, SOLO, title="x", hostEmail=JOHN_EMAIL).status_code == 404
    assert patch(client, ADMIN, SOLO, title="x", hostEmail="nobody@example.com").status_code == 404
    r = patch(client, ADMIN, SOLO, title="By the admin", hostEmail=MARCUS_EMAIL)
    assert r.status_code == 200 and r.json()["hostEmail"] == MARCUS_EMAIL  # hostEmail never moves a meeting
    assert patch(client, ADMIN, SOLO, title="Any meeting of the organisation").status_code == 200
    assert get(client, MARCUS, SOLO).json()["title"] == "Any meeting of the organisation"


def test_admin_changes_are_audited_and_the_hosts_own_are_not(
    client: TestClient, engine: Engine, world: Any
) -> None:
    assert patch(client, MARCUS, SOLO, title="Mine").status_code == 200
    assert audit_actions(engine) == []
    assert patch(client, ADMIN, SOLO, title="Admin's").status_code == 200
    second = occurrence_id(MARCUS_WEEKLY, weekly(1, world_start()))
    assert patch(client, ADMIN, second, title="Admin's one").status_code == 200
    assert sorted(audit_actions(engine)) == [
        ("updateMeeting", "MEETING_SERIES", SOLO),
        ("updateMeeting", "SCHEDULED_MEETING", second),
    ]
    events = client.get("/v1/adminAudit/events", headers=auth(ADMIN), params=_audit_window()).json()["items"]
    assert {e["data"]["targetId"] for e in events} >= {SOLO, second}


def world_start() -> Any:
    from tests.change_world import MARCUS_WEEKLY_START

    return MARCUS_WEEKLY_START


def _audit_window() -> dict[str, str]:
    from meetadmin.domain.ids import org_webex_id_for

    return {
        "orgId": org_webex_id_for("example"),
        "from": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "to": (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
