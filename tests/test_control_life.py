"""Meetings' life through the control plane (contract-notes §8.4): start makes an in-progress instance
that reassignment refuses; end ends it, and it stays with the host it ran under."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.control_plane import CONTROL_AUTH, sandbox_client
from tests.worlds import ADMIN, JOHN, LIVE, MARCUS, PLANNING, UNKNOWN, WEBINAR, auth

JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"


@pytest.fixture
def sandbox(engine: Engine, database_url: str, world: Any) -> Iterator[TestClient]:
    with sandbox_client(engine, database_url) as client:
        yield client


def control(client: TestClient, meeting_id: str, action: str) -> Any:
    return client.post(f"/_meetadmin/meetings/{meeting_id}/{action}", headers=CONTROL_AUTH)


def set_clock(client: TestClient, now: str) -> None:
    assert client.put("/_meetadmin/clock", headers=CONTROL_AUTH, json={"now": now}).status_code == 200


def reassign_status(client: TestClient, meeting_id: str) -> int:
    answer = client.post(
        "/v1/meetings/reassignHost",
        headers=auth(ADMIN),
        json={"hostEmail": JOHN_EMAIL, "meetingIds": [meeting_id]},
    )
    if answer.status_code == 204:
        return 204
    assert answer.status_code == 207, answer.text
    status: int = answer.json()["items"][0]["httpStatus"]
    return status


def instances_of(client: TestClient, token: str) -> set[str]:
    answer = client.get("/v1/meetings", headers=auth(token), params={"meetingType": "meeting", "max": 100})
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["items"]}


def test_start_then_reassign_is_refused_then_end_and_the_instance_stays(sandbox: TestClient) -> None:
    set_clock(sandbox, "2026-12-03T15:58:00Z")  # PLANNING runs Thursdays 16:00 to 17:00
    started = control(sandbox, PLANNING, "start")
    assert started.status_code == 201, started.text
    instance = started.json()
    assert instance["meetingSeriesId"] == PLANNING and instance["meetingType"] == "meeting"
    assert instance["state"] == "inProgress" and instance["start"] == "2026-12-03T15:58:00Z"
    # a running instance shows its scheduled end (its start plus the series' length), as the schema requires
    assert instance["hostEmail"] == MARCUS_EMAIL and instance["end"] == "2026-12-03T16:58:00Z"
    assert instance["id"].startswith(f"{PLANNING}_I_")
    seen = sandbox.get(f"/v1/meetings/{instance['id']}", headers=auth(ADMIN))
    assert seen.status_code == 200 and seen.json()["state"] == "inProgress"
    assert sandbox.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()["state"] == "inProgress"

    assert reassign_status(sandbox, PLANNING) == 409
    again = control(sandbox, PLANNING, "start")
    assert again.status_code == 409 and instance["id"] in again.json()["errors"][0]["description"]

    set_clock(sandbox, "2026-12-03T17:01:00Z")
    ended = control(sandbox, PLANNING, "end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["id"] == instance["id"] and ended.json()["state"] == "ended"
    assert ended.json()["end"] == "2026-12-03T17:01:00Z"
    assert control(sandbox, PLANNING, "end").status_code == 409  # nothing runs any more

    assert reassign_status(sandbox, PLANNING) == 204  # the series moves now ...
    assert instance["id"] in instances_of(sandbox, MARCUS)  # ... and the ended instance stays with Marcus
    assert instance["id"] not in instances_of(sandbox, JOHN)
    assert sandbox.get(f"/v1/meetings/{instance['id']}", headers=auth(JOHN)).status_code == 404
    mine = sandbox.get(f"/v1/meetings/{instance['id']}", headers=auth(MARCUS))
    assert mine.status_code == 200 and mine.json()["hostEmail"] == MARCUS_EMAIL
    assert sandbox.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()["hostEmail"] == JOHN_EMAIL


def test_a_scheduled_meeting_starts_and_ends_by_its_ids(sandbox: TestClient) -> None:
    set_clock(sandbox, "2027-01-20T17:55:00Z")
    started = control(sandbox, f"{WEBINAR}_20270120T180000Z", "start")
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    assert control(sandbox, instance_id, "end").status_code == 200
    assert control(sandbox, instance_id, "end").status_code == 409  # already ended


def test_a_fixture_meeting_in_progress_can_be_ended(sandbox: TestClient) -> None:
    assert control(sandbox, LIVE, "start").status_code == 409  # in progress since the fixture loaded
    ended = control(sandbox, LIVE, "end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "ended" and ended.json()["hostEmail"] == MARCUS_EMAIL
    assert reassign_status(sandbox, LIVE) == 204


def test_what_cannot_start_or_end_says_why(sandbox: TestClient) -> None:
    for action in ("start", "end"):
        assert control(sandbox, UNKNOWN, action).status_code == 404
        assert control(sandbox, "not-a-meeting-id", action).status_code == 404
        assert (
            control(sandbox, f"{WEBINAR}_20270121T180000Z", action).status_code == 404
        )  # no such occurrence
    assert control(sandbox, WEBINAR, "end").status_code == 409  # not in progress
    assert control(sandbox, f"{WEBINAR}_I_123456789012345678", "start").status_code == 400
    assert control(sandbox, f"{WEBINAR}_I_123456789012345678", "end").status_code == 404
    set_clock(sandbox, "2027-02-01T00:00:00Z")  # after the webinar's only occurrence
    over = control(sandbox, WEBINAR, "start")
    assert over.status_code == 409 and "occurrence" in over.json()["errors"][0]["description"]
    late = control(sandbox, f"{WEBINAR}_20270120T180000Z", "start")
    assert late.status_code == 409 and "ended" in late.json()["errors"][0]["description"]
    assert sandbox.post(f"/_meetadmin/meetings/{WEBINAR}/start").status_code == 401


def test_what_was_deleted_cannot_start(sandbox: TestClient) -> None:
    """Start follows Update and Delete a Meeting: a deleted occurrence is not there to start, and a
    deleted series (kept hidden for its ended instances) is not found."""
    set_clock(sandbox, "2026-12-03T15:58:00Z")  # PLANNING runs Thursdays 16:00 to 17:00 UTC
    occurrence = f"{PLANNING}_20261203T160000Z"
    assert sandbox.delete(f"/v1/meetings/{occurrence}", headers=auth(ADMIN)).status_code == 204
    assert control(sandbox, occurrence, "start").status_code == 404
    assert sandbox.delete(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).status_code == 204
    assert control(sandbox, PLANNING, "start").status_code == 404
