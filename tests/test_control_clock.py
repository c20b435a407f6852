"""The sandbox clock (contract-notes §8.4): frozen, shifted, real again; and what follows it: quarantine
expiry, meeting states and lists, audit times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from meetadmin import clock
from meetadmin.store.models import AuditEvent
from tests.control_plane import CONTROL_AUTH, sandbox_client
from tests.worlds import ADMIN, SITE, WEBINAR, auth

JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
JOHN_ROOM = "prABCD23670651"
REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"


@pytest.fixture
def sandbox(engine: Engine, database_url: str, world: Any) -> Iterator[TestClient]:
    with sandbox_client(engine, database_url) as client:
        yield client


def set_clock(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.put("/_meetadmin/clock", headers=CONTROL_AUTH, json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def get_clock(client: TestClient) -> dict[str, Any]:
    answer = client.get("/_meetadmin/clock", headers=CONTROL_AUTH)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def refresh(client: TestClient, email: str, room: str) -> Any:
    body = {"siteUrl": SITE, "personalMeetingRoomIds": [{"email": email, "personalMeetingRoomId": room}]}
    return client.post(REFRESH, headers=auth(ADMIN), json=body)


def test_freeze_shift_and_back_to_real_time(sandbox: TestClient) -> None:
    assert get_clock(sandbox)["mode"] == "real"
    frozen = set_clock(sandbox, {"now": "2027-06-01T12:00:00Z"})
    assert frozen == {
        "now": "2027-06-01T12:00:00.000Z",
        "mode": "frozen",
        "offsetSeconds": None,
        "frozenAt": "2027-06-01T12:00:00.000Z",
    }
    assert get_clock(sandbox)["now"] == "2027-06-01T12:00:00.000Z"  # it stays there
    assert set_clock(sandbox, {"advanceSeconds": 3600})["now"] == "2027-06-01T13:00:00.000Z"
    assert set_clock(sandbox, {"now": "2027-06-01T14:00:00+02:00"})["now"] == "2027-06-01T12:00:00.000Z"

    shifted = set_clock(sandbox, {"offsetSeconds": 365 * 86400})
    assert (
        shifted["mode"] == "offset"
        and shifted["offsetSeconds"] == 365 * 86400
        and shifted["frozenAt"] is None
    )
    ahead = instant(get_clock(sandbox)["now"]) - datetime.now(UTC)
    assert timedelta(days=364) < ahead < timedelta(days=366)

    assert sandbox.delete("/_meetadmin/clock", headers=CONTROL_AUTH).status_code == 204
    real = get_clock(sandbox)
    assert real["mode"] == "real" and real["offsetSeconds"] == 0
    assert abs(instant(real["now"]) - datetime.now(UTC)) < timedelta(hours=1)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"now": "2027-06-01T12:00:00Z", "offsetSeconds": 5},
        {"now": "tomorrow"},
        {"now": 12},
        {"offsetSeconds": "5"},
        {"offsetSeconds": True},
        {"offsetSeconds": 1e12},
        {"when": "2027-06-01T12:00:00Z"},
        [],
    ],
)
def test_a_bad_clock_body_is_a_400_and_changes_nothing(sandbox: TestClient, body: Any) -> None:
    answer = sandbox.put("/_meetadmin/clock", headers=CONTROL_AUTH, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["description"]
    assert get_clock(sandbox)["mode"] == "real"


def test_a_quarantined_room_id_is_free_for_someone_else_91_days_on(sandbox: TestClient) -> None:
    set_clock(sandbox, {"now": "2027-03-01T08:00:00Z"})
    assert refresh(sandbox, JOHN_EMAIL, "john-new").status_code == 200  # John's old ID: quarantined 90 days
    refused = refresh(sandbox, MARCUS_EMAIL, JOHN_ROOM)
    assert refused.status_code == 400, refused.text
    set_clock(sandbox, {"advanceSeconds": 89 * 86400})
    assert refresh(sandbox, MARCUS_EMAIL, JOHN_ROOM).status_code == 400  # still reserved on day 89
    set_clock(sandbox, {"now": "2027-05-31T08:00:00Z"})  # 91 days after the release
    taken = refresh(sandbox, MARCUS_EMAIL, JOHN_ROOM)
    assert taken.status_code == 200, taken.text


def test_meeting_states_and_lists_follow_the_clock(sandbox: TestClient) -> None:
    occurrence = f"{WEBINAR}_20270120T180000Z"  # 18:00 to 19:30 UTC, the series' only occurrence

    def state(meeting_id: str) -> str:
        answer = sandbox.get(f"/v1/meetings/{meeting_id}", headers=auth(ADMIN))
        assert answer.status_code == 200, answer.text
        found: str = answer.json()["state"]
        return found

    def listed() -> set[str]:
        answer = sandbox.get("/v1/meetings", headers=auth(ADMIN), params={"max": 100})
        assert answer.status_code == 200, answer.text
        return {item["id"] for item in answer.json()["items"]}

    set_clock(sandbox, {"now": "2027-01-10T12:00:00Z"})
    assert state(occurrence) == "scheduled" and state(WEBINAR) == "active"
    assert WEBINAR not in listed()  # more than a week ahead: outside the default window
    set_clock(sandbox, {"now": "2027-01-20T17:50:00Z"})
    assert state(occurrence) == "ready" and WEBINAR in listed()
    set_clock(sandbox, {"now": "2027-01-21T12:00:00Z"})
    assert state(occurrence) == "ended"
    assert state(WEBINAR) == "expired" and WEBINAR not in listed()


def test_audit_times_follow_the_clock(sandbox: TestClient, engine: Engine) -> None:
    set_clock(sandbox, {"now": "2027-04-04T04:04:04Z"})
    assert refresh(sandbox, JOHN_EMAIL, "john-audited").status_code == 200
    with engine.connect() as conn:
        created = conn.scalars(select(AuditEvent.created)).all()
    assert created == [datetime(2027, 4, 4, 4, 4, 4)]


def test_every_process_follows_the_clock_in_the_database(
    engine: Engine, database_url: str, world: Any
) -> None:
    with sandbox_client(engine, database_url, clock_refresh_seconds=3600) as client:
        set_clock(client, {"now": "2030-01-01T00:00:00Z"})
        clock.follow(clock.REAL)  # as if another process had changed it: this one has not seen it yet
        assert get_clock(client)["now"] == "2030-01-01T00:00:00.000Z"  # GET reads the database
    assert clock.current() == clock.REAL  # a stopped server leaves the process on real time
    with sandbox_client(engine, database_url) as restarted:  # a new process starts on the stored setting
        assert clock.now() == datetime(2030, 1, 1)
        assert restarted.delete("/_meetadmin/clock", headers=CONTROL_AUTH).status_code == 204


def test_an_idempotency_key_expires_when_the_clock_passes_its_ttl(sandbox: TestClient) -> None:
    set_clock(sandbox, {"now": "2027-03-01T08:00:00Z"})
    keyed = {**auth(ADMIN), "Idempotency-Key": "clocked-key"}
    first = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john-k1"}],
    }
    other = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john-k2"}],
    }
    assert sandbox.post(REFRESH, headers=keyed, json=first).status_code == 200
    set_clock(sandbox, {"advanceSeconds": 23 * 3600})
    assert sandbox.post(REFRESH, headers=keyed, json=other).status_code == 409  # still remembered
    set_clock(sandbox, {"advanceSeconds": 2 * 3600})  # 25 hours on: past the 24-hour TTL
    assert sandbox.post(REFRESH, headers=keyed, json=other).status_code == 200
