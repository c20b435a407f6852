"""GET /v1/meetings (List Meetings) through the real app and database: defaults, paging, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, LIVE, MARCUS, OTHER_ADMIN, SITE, auth, example_world, other_world

NOW = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
RECURRING = "cc000000000000000000000000000001"  # Marcus, weekly from 30 days ago, 3 ended instances
DAILY = "cc000000000000000000000000000002"  # John, daily for 8 days from tomorrow
FAR = "cc000000000000000000000000000003"  # John, in 20 days
PAST = "cc000000000000000000000000000004"  # John, 10 days ago, 1 ended instance


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def meeting(id_: str | None, host: str, start: datetime, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    doc = {
        "siteUrl": SITE,
        "host": host,
        "title": extra.pop("title", f"Meeting {id_ or ''}"),
        "sessionTypeId": "3",
        "start": iso(start),
        "end": iso(start + timedelta(minutes=minutes)),
        **extra,
    }
    if id_:
        doc["id"] = id_
    return doc


def john_weekly_batch(count: int) -> list[dict[str, Any]]:
    """``count`` one-off meetings for John within the coming week, an hour apart."""
    return [
        meeting(None, "john.andersen@example.com", NOW + timedelta(hours=2 + i), title=f"John {i:02d}")
        for i in range(count)
    ]


@pytest.fixture
def listing_world(engine: Engine) -> dict[str, Any]:
    doc = example_world()
    doc["meetings"] = [
        meeting(
            RECURRING,
            "marcus.hoffmann@example.com",
            NOW - timedelta(days=30),
            recurrence="FREQ=WEEKLY;COUNT=10",
            endedInstances=3,
            title="Weekly sync",
        ),
        meeting(DAILY, "john.andersen@example.com", NOW + timedelta(days=1), recurrence="FREQ=DAILY;COUNT=8"),
        meeting(FAR, "john.andersen@example.com", NOW + timedelta(days=20)),
        meeting(PAST, "john.andersen@example.com", NOW - timedelta(days=10), endedInstances=1),
        meeting(
            "cc000000000000000000000000000005",
            "marcus.hoffmann@example.com",
            NOW + timedelta(days=2),
            siteUrl="other.webex.com",
            title="On the other site",
        ),
        meeting(
            "cc000000000000000000000000000006",
            "marcus.hoffmann@example.com",
            NOW + timedelta(days=3),
            scheduledType="personalRoomMeeting",
            title="In my room",
        ),
    ]
    load_world(engine, doc, other_world())
    return doc


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def next_url(response: Any) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    assert link.startswith("<http") and link.endswith('>; rel="next"')
    return str(link[1 : link.index(">")])


def test_default_lists_series_of_the_coming_week_that_the_caller_hosts(
    client: TestClient, listing_world: dict[str, Any]
) -> None:
    r = client.get("/v1/meetings", headers=auth(JOHN))
    assert ids(r) == [DAILY]
    assert "link" not in r.headers
    item = r.json()["items"][0]
    assert item["meetingType"] == "meetingSeries"
    assert item["meetingSeriesId"] == DAILY
    assert item["state"] == "active"
    assert item["hostEmail"] == "john.andersen@example.com"
    # current=true by default: the next occurrence's times
    assert item["start"] == iso(NOW + timedelta(days=1))
    assert item["recurrence"] == "FREQ=DAILY;COUNT=8"


def test_marcus_sees_his_recurring_series_whose_first_start_is_long_past(
    client: TestClient, listing_world: dict[str, Any]
) -> None:
    r = client.get("/v1/meetings", headers=auth(MARCUS))
    assert RECURRING in ids(r)
    item = next(i for i in r.json()["items"] if i["id"] == RECURRING)
    assert datetime.strptime(item["start"], "%Y-%m-%dT%H:%M:%SZ") >= NOW - timedelta(hours=1)
    # the personal room meeting and the other site's meeting: other site included, personal room not
    assert "cc000000000000000000000000000005" in ids(r)
    assert "cc000000000000000000000000000006" not in ids(r)
    first = client.get("/v1/meetings", headers=auth(MARCUS), params={"current": "false"})
    item = next(i for i in first.json()["items"] if i["id"] == RECURRING)
    assert item["start"] == iso(NOW - timedelta(days=30))


def test_window_from_and_to(client: TestClient, listing_world: dict[str, Any]) -> None:
    lone_from = client.get("/v1/meetings", headers=auth(JOHN), params={"from": iso(NOW + timedelta(days=15))})
    assert ids(lone_from) == [FAR]  # to = from + 7 days
    lone_to = client.get("/v1/meetings", headers=auth(JOHN), params={"to": iso(NOW - timedelta(days=5))})
    assert ids(lone_to) == [PAST]  # from = to - 7 days
    both = client.get(
        "/v1/meetings",
        headers=auth(JOHN),
        params={"from": iso(NOW - timedelta(days=11)), "to": iso(NOW + timedelta(days=30))},
    )
    assert ids(both) == [PAST, DAILY, FAR]
    expired = client.get(
        "/v1/meetings",
        headers=auth(JOHN),
        params={
            "from": iso(NOW - timedelta(days=11)),
            "to": iso(NOW + timedelta(days=30)),
            "state": "expired",
        },
    )
    assert ids(expired) == [PAST]


def test_admin_lists_the_organisation_and_narrows_with_host_email(
    client: TestClient, listing_world: dict[str, Any]
) -> None:
    everyone = set(ids(client.get("/v1/meetings", headers=auth(ADMIN), params={"max": 100})))
    assert {DAILY, RECURRING} <= everyone
    john = ids(
        client.get(
            "/v1/meetings", headers=auth(ADMIN), params={"hostEmail": "John.Andersen@example.com", "max": 100}
        )
    )
    assert john == [DAILY]
    # a user's hostEmail is not an admin's: John still sees only his own
    assert ids(
        client.get("/v1/meetings", headers=auth(JOHN), params={"hostEmail": "marcus.hoffmann@example.com"})
    ) == [DAILY]
    unknown = client.get("/v1/meetings", headers=auth(ADMIN), params={"hostEmail": "nobody@example.com"})
    assert unknown.status_code == 404


def test_another_organisation_never_sees_our_meetings(
    client: TestClient, listing_world: dict[str, Any]
) -> None:
    wide = {"from": iso(NOW - timedelta(days=365)), "to": iso(NOW + timedelta(days=365)), "max": 100}
    for meeting_type in ("meetingSeries", "scheduledMeeting", "meeting"):
        r = client.get(
            "/v1/meetings", headers=auth(OTHER_ADMIN), params={**wide, "meetingType": meeting_type}
        )
        assert not any(i.startswith(("cc", "aa", "87", "41", "5f")) for i in ids(r))
    r = client.get("/v1/meetings", headers=auth(OTHER_ADMIN), params={"meetingSeriesId": RECURRING})
    assert ids(r) == []
    r = client.get(
        "/v1/meetings", headers=auth(OTHER_ADMIN), params={"hostEmail": "john.andersen@example.com"}
    )
    assert r.status_code == 404


def test_site_filter(client: TestClient, listing_world: dict[str, Any]) -> None:
    r = client.get("/v1/meetings", headers=auth(MARCUS), params={"siteUrl": "other.webex.com"})
    assert ids(r) == ["cc000000000000000000000000000005"]
    assert (
        client.get("/v1/meetings", headers=auth(MARCUS), params={"siteUrl": "globex.webex.com"}).status_code
        == 400
    )


def test_paging_follows_the_link_and_survives_inserts(
    client: TestClient, engine: Engine, listing_world: dict[str, Any]
) -> None:
    for i in range(24):
        start = NOW + timedelta(hours=3 + i)
        body = {"title": f"Batch {i:02d}", "start": iso(start), "end": iso(start + timedelta(minutes=30))}
        assert client.post("/v1/meetings", headers=auth(JOHN), json=body).status_code == 200
    before = ids(client.get("/v1/meetings", headers=auth(JOHN), params={"max": 100}))
    assert len(before) == 25
    seen: list[str] = []
    r = client.get("/v1/meetings", headers=auth(JOHN), params={"max": 7})
    pages = 0
    while True:
        page = ids(r)
        assert len(page) <= 7
        seen.extend(page)
        pages += 1
        url = next_url(r)
        if url is None:
            break
        # between fetches: one meeting before everything seen so far, one after
        for hours in (1, 40):
            start = NOW + timedelta(hours=hours, minutes=pages)
            body = {"title": "Inserted", "start": iso(start), "end": iso(start + timedelta(minutes=30))}
            assert client.post("/v1/meetings", headers=auth(JOHN), json=body).status_code == 200
        r = client.get(url, headers=auth(JOHN))
    assert len(seen) == len(set(seen)), "an item came twice"
    assert set(before) <= set(seen), "an item that existed throughout was skipped"
    assert pages >= 4


def test_paging_through_occurrences_of_one_series(client: TestClient, listing_world: dict[str, Any]) -> None:
    window = {"from": iso(NOW), "to": iso(NOW + timedelta(days=30))}
    params = {"meetingType": "scheduledMeeting", "max": 3, **window}
    r = client.get("/v1/meetings", headers=auth(JOHN), params=params)
    seen: list[str] = []
    while True:
        seen.extend(ids(r))
        url = next_url(r)
        if url is None:
            break
        r = client.get(url, headers=auth(JOHN))
    daily = [f"{DAILY}_{(NOW + timedelta(days=d)).strftime('%Y%m%dT%H%M%SZ')}" for d in range(1, 9)]
    assert seen == [*daily, f"{FAR}_{(NOW + timedelta(days=20)).strftime('%Y%m%dT%H%M%SZ')}"]
    item = client.get("/v1/meetings", headers=auth(JOHN), params=params).json()["items"][0]
    assert item["meetingSeriesId"] == DAILY
    assert item["meetingType"] == "scheduledMeeting"
    assert item["state"] == "scheduled"
    assert item["isModified"] is False


def test_ended_and_missed_occurrences(client: TestClient, listing_world: dict[str, Any]) -> None:
    params = {
        "meetingType": "scheduledMeeting",
        "from": iso(NOW - timedelta(days=31)),
        "to": iso(NOW),
        "max": 100,
    }
    items = client.get("/v1/meetings", headers=auth(MARCUS), params=params).json()["items"]
    states = [i["state"] for i in items if i["meetingSeriesId"] == RECURRING]
    assert states == ["ended", "ended", "ended", "missed", "missed"]
    only_missed = client.get("/v1/meetings", headers=auth(MARCUS), params={**params, "state": "missed"})
    assert len(ids(only_missed)) == 2


def test_instances_default_to_the_past_week(client: TestClient, listing_world: dict[str, Any]) -> None:
    assert ids(client.get("/v1/meetings", headers=auth(JOHN), params={"meetingType": "meeting"})) == []
    r = client.get(
        "/v1/meetings",
        headers=auth(JOHN),
        params={"meetingType": "meeting", "from": iso(NOW - timedelta(days=12))},
    )
    (instance,) = r.json()["items"]
    assert instance["id"].startswith(f"{PAST}_I_")
    assert instance["meetingType"] == "meeting"
    assert instance["state"] == "ended"
    assert instance["meetingSeriesId"] == PAST
    assert instance["scheduledMeetingId"] == f"{PAST}_{(NOW - timedelta(days=10)).strftime('%Y%m%dT%H%M%SZ')}"


def test_ended_instances_stay_with_the_original_host_after_reassignment(
    client: TestClient, listing_world: dict[str, Any]
) -> None:
    window = {"meetingType": "meeting", "from": iso(NOW - timedelta(days=40)), "to": iso(NOW), "max": 100}
    marcus_before = [i for i in ids(client.get("/v1/meetings", headers=auth(MARCUS), params=window))]
    ran = [i for i in marcus_before if i.startswith(f"{RECURRING}_I_")]
    assert len(ran) == 3
    moved = client.post(
        "/v1/meetings/reassignHost",
        headers=auth(ADMIN),
        json={"hostEmail": "john.andersen@example.com", "meetingIds": [RECURRING]},
    )
    assert moved.status_code == 204, moved.text
    marcus_after = ids(client.get("/v1/meetings", headers=auth(MARCUS), params=window))
    assert [i for i in marcus_after if i.startswith(f"{RECURRING}_I_")] == ran
    john_after = ids(client.get("/v1/meetings", headers=auth(JOHN), params=window))
    assert not any(i.startswith(f"{RECURRING}_I_") for i in john_after)
    # the series itself now belongs to John
    assert RECURRING in ids(client.get("/v1/meetings", headers=auth(JOHN)))
    assert RECURRING not in ids(client.get("/v1/meetings", headers=auth(MARCUS)))
    # by series: Marcus keeps the instances but no longer sees the occurrences; John the reverse
    marcus_series = ids(
        client.get("/v1/meetings", headers=auth(MARCUS), params={"meetingSeriesId": RECURRING})
    )
    assert marcus_series == ran
    john_series = ids(
        client.get("/v1/meetings", headers=auth(JOHN), params={"meetingSeriesId": RECURRING, "max": 100})
    )
    assert len(john_series) == 10 and not any("_I_" in i for i in john_series)
    # the admin sees the instances still carry Marcus as their host
    admin_items = client.get("/v1/meetings", headers=auth(ADMIN), params=window).json()["items"]
    hosts = {i["hostEmail"] for i in admin_items if i["id"] in ran}
    assert hosts == {"marcus.hoffmann@example.com"}


def test_series_listing_by_id_mixes_occurrences_and_instances_in_time_order(
    client: TestClient, listing_world: dict[str, Any]
) -> None:
    r = client.get("/v1/meetings", headers=auth(MARCUS), params={"meetingSeriesId": RECURRING, "max": 100})
    items = r.json()["items"]
    assert len(items) == 13  # 10 occurrences, 3 instances
    assert [i["meetingType"] for i in items[:2]] == ["scheduledMeeting", "meeting"]
    starts = [i["start"] for i in items]
    assert starts == sorted(starts)
    only = client.get(
        "/v1/meetings",
        headers=auth(MARCUS),
        params={"meetingSeriesId": RECURRING, "meetingType": "meeting", "max": 100},
    )
    assert len(ids(only)) == 3
    paged = client.get("/v1/meetings", headers=auth(MARCUS), params={"meetingSeriesId": RECURRING, "max": 5})
    seen = ids(paged)
    while (url := next_url(paged)) is not None:
        paged = client.get(url, headers=auth(MARCUS))
        seen.extend(ids(paged))
    assert seen == [i["id"] for i in items]


def test_meeting_number_finds_one_meeting(client: TestClient, listing_world: dict[str, Any]) -> None:
    series = client.get(f"/v1/meetings/{FAR}", headers=auth(JOHN)).json()
    r = client.get(
        "/v1/meetings",
        headers=auth(JOHN),
        params={"meetingNumber": series["meetingNumber"], "current": "false"},
    )
    assert ids(r) == [FAR]
    assert (
        ids(
            client.get(
                "/v1/meetings", headers=auth(MARCUS), params={"meetingNumber": series["meetingNumber"]}
            )
        )
        == []
    )


def test_timezone_header_converts_times(client: TestClient, listing_world: dict[str, Any]) -> None:
    r = client.get("/v1/meetings", headers={**auth(JOHN), "timezone": "Asia/Shanghai"})
    start = r.json()["items"][0]["start"]
    assert start.endswith("+08:00")
    assert datetime.fromisoformat(start).astimezone(UTC).replace(tzinfo=None) == NOW + timedelta(days=1)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-13-45T00:00:00Z"},
        {"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
        {"meetingType": "webinar"},
        {"state": "finished"},
        {"scheduledType": "townhall"},
        {"scheduledType": "personalRoomMeeting"},
        {"max": "0"},
        {"max": "-3"},
        {"max": "ten"},
        {"max": "2.5"},
        {"max": "inf"},
        {"current": "maybe"},
        {"meetingSeriesId": "not-a-series"},
        {"meetingSeriesId": f"{DAILY}_20270101T000000Z"},
        {"cursor": "!!!"},
        {"cursor": "eyJ4IjoxfQ"},
        {"to": "0001-01-02T00:00:00Z"},
        {"from": "9999-12-30T00:00:00Z"},
        {"from": "0001-01-01T00:00:00+01:00"},
    ],
)
def test_bad_parameters_are_400(
    client: TestClient, listing_world: dict[str, Any], params: dict[str, str]
) -> None:
    r = client.get("/v1/meetings", headers=auth(JOHN), params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] and body["errors"][0]["description"] and body["trackingId"]


def test_max_is_clamped_and_defaults_to_ten(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    doc["meetings"] = john_weekly_batch(105)
    load_world(engine, doc)
    assert len(ids(client.get("/v1/meetings", headers=auth(JOHN)))) == 10
    r = client.get("/v1/meetings", headers=auth(JOHN), params={"max": "1000"})
    assert len(ids(r)) == 100
    assert next_url(r) is not None
    rest = client.get(str(next_url(r)), headers=auth(JOHN))
    assert len(ids(rest)) == 5 and next_url(rest) is None


def test_scopes(client: TestClient, listing_world: dict[str, Any]) -> None:
    assert client.get("/v1/meetings").status_code == 401
    assert client.get("/v1/meetings", headers=auth("no-such-token")).status_code == 401
    # the admin's read-only token lists the organisation too
    assert DAILY in ids(
        client.get("/v1/meetings", headers=auth("example-admin-readonly"), params={"max": 100})
    )


def test_an_instance_in_progress_carries_its_scheduled_end(client: TestClient, world: dict[str, Any]) -> None:
    """The official schema requires ``end`` of every listed meeting and of Get a Meeting: a running
    instance (the world's LIVE series, an hour long, started ten minutes before the load) has its
    scheduled end, an hour after it started."""
    r = client.get("/v1/meetings", headers=auth(MARCUS), params={"meetingType": "meeting"})
    live = [item for item in r.json()["items"] if item["meetingSeriesId"] == LIVE]
    assert [item["state"] for item in live] == ["inProgress"]
    (instance,) = live
    start = datetime.strptime(instance["start"], "%Y-%m-%dT%H:%M:%SZ")
    assert instance["end"] == iso(start + timedelta(hours=1))
    one = client.get(f"/v1/meetings/{instance['id']}", headers=auth(MARCUS))
    assert one.status_code == 200, one.text
    assert (one.json()["state"], one.json()["end"]) == ("inProgress", instance["end"])
