"""POST /v1/meetings (Create a Meeting) through the real app and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from meetadmin.store.models import MeetingSeries
from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, OTHER_ADMIN, SITE, auth, example_world, other_world

INVALID = "The input parameters contain invalid items."
BRENDA = "example-brenda-token"
NOLICENCE = "example-nolicence-token"
READONLY = "example-admin-readonly"


BASE = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)  # one "now" for the whole module


def at(days: float, minutes: int = 0) -> datetime:
    return BASE + timedelta(days=days, minutes=minutes)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def body(**overrides: Any) -> dict[str, Any]:
    return {"title": "Design review", "start": iso(at(2)), "end": iso(at(2, 45)), **overrides}


@pytest.fixture
def create_world(engine: Engine) -> dict[str, Any]:
    doc = example_world()
    doc["tokens"] += [
        {"token": BRENDA, "person": "brenda.song@example.com", "scopes": ["meeting:schedules_write"]},
        {"token": NOLICENCE, "person": "nolicence@example.com", "scopes": ["meeting:schedules_write"]},
    ]
    load_world(engine, doc, other_world())
    return doc


def series_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(MeetingSeries)).scalar_one())


def test_a_user_creates_a_meeting_series(client: TestClient, engine: Engine, create_world: Any) -> None:
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(agenda="Walk through the plan"))
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["meetingType"] == "meetingSeries"
    assert created["state"] == "active"
    assert created["title"] == "Design review"
    assert created["agenda"] == "Walk through the plan"
    assert created["hostEmail"] == "john.andersen@example.com"
    assert created["siteUrl"] == SITE
    assert created["scheduledType"] == "meeting"
    assert created["sessionTypeId"] == 3
    assert created["start"] == iso(at(2)) and created["end"] == iso(at(2, 45))
    assert len(created["id"]) == 32 and created["password"]
    fetched = client.get(f"/v1/meetings/{created['id']}", headers=auth(JOHN))
    assert fetched.status_code == 200 and fetched.json()["title"] == "Design review"
    with engine.connect() as conn:
        row = conn.execute(select(MeetingSeries).where(MeetingSeries.id == created["id"])).one()
    assert row.scheduled_by_id is None and row.start == at(2)


def test_times_are_truncated_to_the_minute_and_read_in_the_given_zone(
    client: TestClient, create_world: Any
) -> None:
    start = at(3) + timedelta(seconds=42)
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(start=iso(start), end=iso(at(3, 30))))
    assert r.json()["start"] == iso(at(3))
    local = at(4) + timedelta(hours=8)
    r = client.post(
        "/v1/meetings",
        headers=auth(JOHN),
        json=body(
            start=local.strftime("%Y-%m-%d %H:%M:%S"),
            end=(local + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
            timezone="Asia/Shanghai",
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["start"] == iso(at(4)) and r.json()["timezone"] == "Asia/Shanghai"


def test_recurrence_gives_occurrences(client: TestClient, create_world: Any) -> None:
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(recurrence="FREQ=DAILY;COUNT=4"))
    assert r.status_code == 200, r.text
    series_id = r.json()["id"]
    assert r.json()["recurrence"] == "FREQ=DAILY;COUNT=4"
    listed = client.get(
        "/v1/meetings",
        headers=auth(JOHN),
        params={"meetingSeriesId": series_id, "meetingType": "scheduledMeeting"},
    )
    assert [i["start"] for i in listed.json()["items"]] == [iso(at(2 + d)) for d in range(4)]


def test_webinar_needs_its_session_type(client: TestClient, create_world: Any) -> None:
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(scheduledType="webinar", sessionTypeId=9))
    assert r.status_code == 200, r.text
    assert r.json()["scheduledType"] == "webinar" and r.json()["sessionTypeId"] == 9
    missing = client.post("/v1/meetings", headers=auth(JOHN), json=body(scheduledType="webinar"))
    assert missing.status_code == 400
    assert "sessionTypeId" in missing.json()["errors"][0]["description"]


def test_an_admin_creates_for_a_host_and_the_meeting_counts_as_created_on_behalf(
    client: TestClient, engine: Engine, create_world: Any
) -> None:
    r = client.post("/v1/meetings", headers=auth(ADMIN), json=body(hostEmail="marcus.hoffmann@example.com"))
    assert r.status_code == 200, r.text
    assert r.json()["hostEmail"] == "marcus.hoffmann@example.com"
    moved = client.post(
        "/v1/meetings/reassignHost",
        headers=auth(ADMIN),
        json={"hostEmail": "john.andersen@example.com", "meetingIds": [r.json()["id"]]},
    )
    assert moved.status_code == 207
    assert moved.json()["items"][0]["httpStatus"] == 400
    unknown = client.post("/v1/meetings", headers=auth(ADMIN), json=body(hostEmail="nobody@example.com"))
    assert unknown.status_code == 400
    foreign = client.post("/v1/meetings", headers=auth(ADMIN), json=body(hostEmail="hank@globex.com"))
    assert foreign.status_code == 400


def test_a_users_host_email_is_ignored(client: TestClient, create_world: Any) -> None:
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(hostEmail="marcus.hoffmann@example.com"))
    assert r.status_code == 200 and r.json()["hostEmail"] == "john.andersen@example.com"


def test_site_url_picks_the_site(client: TestClient, create_world: Any) -> None:
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(siteUrl="other.webex.com"))
    assert r.status_code == 200 and r.json()["siteUrl"] == "other.webex.com"
    foreign = client.post("/v1/meetings", headers=auth(JOHN), json=body(siteUrl="globex.webex.com"))
    assert foreign.status_code == 400


@pytest.mark.parametrize(
    "overrides",
    [
        {"start": iso(at(-1)), "end": iso(at(-1, 30))},
        {"start": iso(at(3660)), "end": iso(at(3660, 30))},
        {"start": iso(at(2)), "end": iso(at(2, 9))},
        {"start": iso(at(2)), "end": iso(at(3))},
        {"start": iso(at(2)), "end": iso(at(1))},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 129},
        {"agenda": "x" * 1301},
        {"recurrence": "FREQ=SOMETIMES"},
        {"timezone": "Mars/Olympus"},
        {"start": "next tuesday"},
        {"sessionTypeId": 99},
        {"sessionTypeId": 20},
        {"sessionTypeId": 9},
        {"sessionTypeId": 3.5},
        {"sessionTypeId": "3"},
        {"scheduledType": "townhall"},
        {"password": "ab"},
        {"adhoc": True},
        {"roomId": "Y2lzY29zcGFyazovL3VzL1JPT00vYWJj"},
        {"templateId": "abc"},
        {"title": None},
        {"start": None},
    ],
)
def test_invalid_input_is_400_and_creates_nothing(
    client: TestClient, engine: Engine, create_world: Any, overrides: dict[str, Any]
) -> None:
    before = series_count(engine)
    payload = {k: v for k, v in body(**overrides).items() if v is not None}
    r = client.post("/v1/meetings", headers=auth(JOHN), json=payload)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["description"] and r.json()["trackingId"]
    assert series_count(engine) == before


def test_time_rule_errors_use_webex_message(client: TestClient, create_world: Any) -> None:
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(end=iso(at(2, 5))))
    assert r.json()["message"] == INVALID
    assert "10 minutes" in r.json()["errors"][0]["description"]


def test_who_may_create(client: TestClient, engine: Engine, create_world: Any) -> None:
    before = series_count(engine)
    assert client.post("/v1/meetings", json=body()).status_code == 401
    assert client.post("/v1/meetings", headers=auth(READONLY), json=body()).status_code == 403
    assert client.post("/v1/meetings", headers=auth(BRENDA), json=body()).status_code == 403  # attendee only
    assert client.post("/v1/meetings", headers=auth(NOLICENCE), json=body()).status_code == 403
    assert client.post("/v1/meetings", headers=auth(OTHER_ADMIN), json=body(siteUrl=SITE)).status_code == 400
    not_json = client.post(
        "/v1/meetings", headers={**auth(JOHN), "content-type": "text/plain"}, content=b"title=x"
    )
    assert not_json.status_code == 415
    assert client.post(
        "/v1/meetings",
        headers=auth(JOHN),
        content=b"{",
    ).status_code in (400, 415)
    assert series_count(engine) == before


def test_a_utc_until_in_the_recurrence_is_accepted(client: TestClient, create_world: Any) -> None:
    until = (at(2) + timedelta(days=14)).strftime("%Y%m%dT%H%M%SZ")
    r = client.post("/v1/meetings", headers=auth(JOHN), json=body(recurrence=f"FREQ=WEEKLY;UNTIL={until}"))
    assert r.status_code == 200, r.text
    listed = client.get(
        "/v1/meetings",
        headers=auth(JOHN),
        params={"meetingSeriesId": r.json()["id"], "meetingType": "scheduledMeeting"},
    )
    assert len(listed.json()["items"]) == 3
