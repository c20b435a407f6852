"""A weekly series across a daylight-saving change, with exceptions, through the real app: occurrences keep
the wall-clock time of the zone the series was scheduled in, and their IDs follow their UTC starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.change_world import NOW, change_world, occurrence_id, occurrences
from tests.worlds import JOHN, auth

BERLIN = ZoneInfo("Europe/Berlin")


def next_change(after: datetime) -> datetime:
    """The first local midnight in Berlin after ``after`` whose UTC offset differs from the day before."""
    day = after.replace(hour=12, minute=0)
    offset = day.replace(tzinfo=UTC).astimezone(BERLIN).utcoffset()
    for _ in range(400):
        day += timedelta(days=1)
        now_offset = day.replace(tzinfo=UTC).astimezone(BERLIN).utcoffset()
        if now_offset != offset:
            return day
    raise AssertionError("no daylight-saving change in Berlin within 400 days")


@pytest.fixture
def series(client: TestClient, engine: Any) -> dict[str, Any]:
    """John's weekly 09:00 Berlin meeting: two occurrences before the next change, three after it."""
    change_world(engine)
    change = next_change(NOW + timedelta(days=20))
    first_day = (change - timedelta(days=14)).date()
    local = f"{first_day.isoformat()}T09:00:00"
    r = client.post(
        "/v1/meetings",
        headers=auth(JOHN),
        json={
            "title": "Berlin stand-up",
            "start": local,
            "end": f"{first_day.isoformat()}T10:00:00",
            "timezone": "Europe/Berlin",
            "recurrence": "FREQ=WEEKLY;COUNT=5",
        },
    )
    assert r.status_code == 200, r.text
    created: dict[str, Any] = r.json()
    return created


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def local_clock(text: str) -> tuple[int, int]:
    moment = utc(text).replace(tzinfo=UTC).astimezone(BERLIN)
    return moment.hour, moment.minute


def test_occurrences_keep_their_local_time_across_the_change(
    client: TestClient, series: dict[str, Any]
) -> None:
    listed = occurrences(client, JOHN, series["id"])
    assert len(listed) == 5
    assert [local_clock(m["start"]) for m in listed] == [(9, 0)] * 5
    assert [local_clock(m["end"]) for m in listed] == [(10, 0)] * 5
    hours = [utc(m["start"]).hour for m in listed]
    assert hours[0] == hours[1] and hours[2] == hours[3] == hours[4] and hours[1] != hours[2]
    assert [m["id"] for m in listed] == [occurrence_id(series["id"], utc(m["start"])) for m in listed]
    # Every one of them is found by its ID, and 7 x 24 hours after a start is not an occurrence.
    for m in listed:
        assert client.get(f"/v1/meetings/{m['id']}", headers=auth(JOHN)).json()["start"] == m["start"]
    naive_week = occurrence_id(series["id"], utc(listed[1]["start"]) + timedelta(days=7))
    assert client.get(f"/v1/meetings/{naive_week}", headers=auth(JOHN)).status_code == 404
    # In the zone's own terms (the timezone header), it is 09:00 every week.
    local = client.get(
        "/v1/meetings",
        headers={**auth(JOHN), "timezone": "Europe/Berlin"},
        params={"meetingSeriesId": series["id"], "meetingType": "scheduledMeeting"},
    ).json()["items"]
    assert all(m["start"][11:19] == "09:00:00" for m in local)
    assert {m["start"][19:] for m in local} == {"+01:00", "+02:00"}


def test_exceptions_across_the_change(client: TestClient, series: dict[str, Any]) -> None:
    listed = occurrences(client, JOHN, series["id"])
    fourth = listed[3]
    moved = utc(fourth["start"]) + timedelta(hours=2)
    r = client.patch(
        f"/v1/meetings/{fourth['id']}",
        headers=auth(JOHN),
        json={
            "title": "Later this week",
            "start": moved.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (moved + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == fourth["id"] and local_clock(r.json()["start"]) == (11, 0)
    r = client.delete(f"/v1/meetings/{listed[1]['id']}", headers=auth(JOHN))
    assert r.status_code == 204
    # A local start without an offset on an exception is read in the series' zone.
    last = listed[4]
    day = utc(last["start"]).replace(tzinfo=UTC).astimezone(BERLIN).date().isoformat()
    r = client.patch(
        f"/v1/meetings/{last['id']}",
        headers=auth(JOHN),
        json={"start": f"{day}T08:30:00", "end": f"{day}T09:15:00"},
    )
    assert r.status_code == 200, r.text
    assert local_clock(r.json()["start"]) == (8, 30) and local_clock(r.json()["end"]) == (9, 15)
    after = occurrences(client, JOHN, series["id"])
    assert [m["id"] for m in after] == [listed[i]["id"] for i in (0, 2, 3, 4)]
    assert [(m["isModified"], local_clock(m["start"])) for m in after] == [
        (False, (9, 0)),
        (False, (9, 0)),
        (True, (11, 0)),
        (True, (8, 30)),
    ]
    assert after[2]["title"] == "Later this week"
    # The series renamed: its exceptions stay, in their own places.
    r = client.patch(f"/v1/meetings/{series['id']}", headers=auth(JOHN), json={"title": "Stand-up"})
    assert r.status_code == 200
    renamed = occurrences(client, JOHN, series["id"])
    assert [m["title"] for m in renamed] == ["Stand-up", "Stand-up", "Later this week", "Stand-up"]
    # Moving the series to another time zone moves every occurrence, and cancels the exceptions.
    r = client.patch(
        f"/v1/meetings/{series['id']}", headers=auth(JOHN), json={"timezone": "America/New_York"}
    )
    assert r.status_code == 200, r.text
    moved_zone = occurrences(client, JOHN, series["id"])
    assert len(moved_zone) == 5 and not any(m["isModified"] for m in moved_zone)
