"""DELETE /v1/meetings/{meetingId} (Delete a Meeting, contract-notes §9) through the real app and
database, and what every other reader sees afterwards: List and Get, reassignment and its preview, the
bulk CLI; with the notices, audit events and history it leaves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.change_world import (
    JOHN_EMAIL,
    MARCUS_EMAIL,
    MARCUS_WEEKLY,
    MARCUS_WEEKLY_START,
    NOW,
    RAN,
    RAN_START,
    SOLO,
    WEEKLY,
    audit_actions,
    change_world,
    exception_count,
    iso,
    listed_ids,
    occurrence_id,
    occurrences,
    weekly,
)
from tests.test_cli_reassign import read_csv, route, run  # noqa: F401  (route is a fixture)
from tests.worlds import ADMIN, JOHN, LIVE, MARCUS, OTHER_ADMIN, SITE, auth

SERIES_WINDOW = {"from": iso(NOW - timedelta(days=60)), "to": iso(NOW + timedelta(days=60))}


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    return change_world(engine)


def delete(client: TestClient, token: str, meeting_id: str, **params: Any) -> Any:
    return client.delete(f"/v1/meetings/{meeting_id}", headers=auth(token), params=params)


def get(client: TestClient, token: str, meeting_id: str) -> Any:
    return client.get(f"/v1/meetings/{meeting_id}", headers=auth(token))


def reassign(client: TestClient, series_id: str, preview: bool = False) -> Any:
    path = "/v1/meetings/reassignHost" + ("/preview" if preview else "")
    return client.post(path, headers=auth(ADMIN), json={"hostEmail": JOHN_EMAIL, "meetingIds": [series_id]})


def test_the_host_deletes_a_series_and_it_is_gone_everywhere(
    client: TestClient, engine: Engine, world: Any
) -> None:
    assert WEEKLY in listed_ids(client, JOHN, **SERIES_WINDOW)
    r = delete(client, JOHN, WEEKLY)
    assert r.status_code == 204 and r.content == b""
    assert r.headers["trackingid"]
    assert get(client, JOHN, WEEKLY).status_code == 404
    assert get(client, ADMIN, occurrence_id(WEEKLY, weekly(1))).status_code == 404
    for token in (JOHN, ADMIN):
        for meeting_type in ("meetingSeries", "scheduledMeeting", "meeting"):
            for current in (True, False):
                found = listed_ids(client, token, meetingType=meeting_type, current=current, **SERIES_WINDOW)
                assert not [i for i in found if i.startswith(WEEKLY)], (token, meeting_type)
    assert occurrences(client, JOHN, WEEKLY) == []
    assert delete(client, JOHN, WEEKLY).status_code == 404
    assert client.patch(f"/v1/meetings/{WEEKLY}", headers=auth(JOHN), json={"title": "x"}).status_code == 404
    assert audit_actions(engine) == []  # the host's own change: no admin audit event
    assert notices_of(engine) == []  # nor a notice to themselves


def test_a_deleted_series_keeps_the_instances_that_ran_with_their_host(
    client: TestClient, engine: Engine, world: Any
) -> None:
    ran = listed_ids(client, MARCUS, meetingSeriesId=RAN, meetingType="meeting")
    assert len(ran) == 3
    assert delete(client, ADMIN, RAN).status_code == 204
    assert get(client, MARCUS, RAN).status_code == 404
    past = {"meetingType": "meeting", "from": iso(RAN_START - timedelta(days=1)), "to": iso(NOW)}
    assert set(ran) <= set(listed_ids(client, MARCUS, **past))
    assert listed_ids(client, MARCUS, meetingSeriesId=RAN) == ran  # only the history is left
    instance = get(client, MARCUS, ran[0])
    assert instance.status_code == 200 and instance.json()["state"] == "ended"
    assert instance.json()["hostEmail"] == MARCUS_EMAIL
    for meeting_type in ("meetingSeries", "scheduledMeeting"):
        listed = listed_ids(client, ADMIN, meetingType=meeting_type, **SERIES_WINDOW)
        assert not [i for i in listed if i.startswith(RAN)]
    assert delete(client, ADMIN, ran[0]).status_code == 400  # an ended instance is history
    assert delete(client, ADMIN, RAN).status_code == 404
    moved = reassign(client, RAN)
    assert moved.status_code == 207 and moved.json()["items"][0]["httpStatus"] == 404


def test_an_admins_delete_is_audited_and_the_host_is_told(
    client: TestClient, engine: Engine, world: Any
) -> None:
    assert delete(client, ADMIN, SOLO).status_code == 204
    assert audit_actions(engine) == [("deleteMeeting", "MEETING_SERIES", SOLO)]
    (notice,) = notices_of(engine)
    assert (notice.kind, notice.recipient, notice.subject) == (
        "meetingCancelled",
        MARCUS_EMAIL,
        "Cancelled: Once",
    )
    assert notice.payload["meetingId"] == SOLO and "admin@example.com" in notice.payload["reason"]
    assert notice.sent_at is None


def test_send_email_false_queues_no_notice(client: TestClient, engine: Engine, world: Any) -> None:
    assert delete(client, ADMIN, SOLO, sendEmail="false").status_code == 204
    assert notices_of(engine) == []
    assert audit_actions(engine) == [("deleteMeeting", "MEETING_SERIES", SOLO)]


def test_deleting_one_scheduled_meeting_leaves_the_rest(
    client: TestClient, engine: Engine, world: Any
) -> None:
    third = occurrence_id(WEEKLY, weekly(2))
    assert delete(client, JOHN, third).status_code == 204
    listed = [m["id"] for m in occurrences(client, JOHN, WEEKLY)]
    assert listed == [occurrence_id(WEEKLY, weekly(n)) for n in (0, 1, 3, 4, 5)]
    assert get(client, JOHN, third).status_code == 404
    assert delete(client, JOHN, third).status_code == 404
    assert client.patch(f"/v1/meetings/{third}", headers=auth(JOHN), json={"title": "x"}).status_code == 404
    day = {
        "meetingType": "scheduledMeeting",
        "from": iso(weekly(2)),
        "to": iso(weekly(2) + timedelta(days=1)),
    }
    assert listed_ids(client, JOHN, **day) == []
    assert get(client, JOHN, WEEKLY).status_code == 200
    assert exception_count(engine, WEEKLY) == 1


def test_an_admin_deletes_one_scheduled_meeting_for_its_host(
    client: TestClient, engine: Engine, world: Any
) -> None:
    second = occurrence_id(MARCUS_WEEKLY, weekly(1, MARCUS_WEEKLY_START))
    assert delete(client, ADMIN, second, hostEmail=JOHN_EMAIL).status_code == 404  # not John's
    assert delete(client, ADMIN, second, hostEmail=MARCUS_EMAIL).status_code == 204
    assert audit_actions(engine) == [("deleteMeeting", "SCHEDULED_MEETING", second)]
    (notice,) = notices_of(engine)
    assert notice.recipient == MARCUS_EMAIL and notice.payload["meetingId"] == second


def test_who_may_delete(client: TestClient, world: Any) -> None:
    assert delete(client, JOHN, SOLO).status_code == 404
    assert delete(client, "example-admin-readonly", SOLO).status_code == 403
    assert delete(client, OTHER_ADMIN, SOLO).status_code == 404
    assert delete(client, ADMIN, SOLO, hostEmail="nobody@example.com").status_code == 404
    assert delete(client, ADMIN, LIVE).status_code == 409  # in progress
    assert delete(client, MARCUS, occurrence_id(RAN, RAN_START)).status_code == 400  # already ended
    assert get(client, MARCUS, SOLO).status_code == 200


def test_reassignment_moves_a_series_with_its_exceptions(client: TestClient, world: Any) -> None:
    second = occurrence_id(MARCUS_WEEKLY, weekly(1, MARCUS_WEEKLY_START))
    third = occurrence_id(MARCUS_WEEKLY, weekly(2, MARCUS_WEEKLY_START))
    r = client.patch(f"/v1/meetings/{second}", headers=auth(MARCUS), json={"title": "Special"})
    assert r.status_code == 200
    assert delete(client, MARCUS, third).status_code == 204
    assert reassign(client, MARCUS_WEEKLY).status_code == 204
    johns = occurrences(client, JOHN, MARCUS_WEEKLY)
    assert [m["id"] for m in johns] == [
        occurrence_id(MARCUS_WEEKLY, weekly(n, MARCUS_WEEKLY_START)) for n in (0, 1, 3, 4)
    ]
    assert [(m["title"], m["isModified"], m["hostEmail"]) for m in johns][:2] == [
        ("Marcus weekly", False, JOHN_EMAIL),
        ("Special", True, JOHN_EMAIL),
    ]
    assert occurrences(client, MARCUS, MARCUS_WEEKLY) == []
    assert (
        client.patch(f"/v1/meetings/{second}", headers=auth(JOHN), json={"title": "Mine now"}).status_code
        == 200
    )


def test_reassignment_and_its_preview_see_a_delete_at_once(client: TestClient, world: Any) -> None:
    assert reassign(client, SOLO, preview=True).json()["items"] == [{"meetingId": SOLO, "httpStatus": 200}]
    assert delete(client, ADMIN, SOLO).status_code == 204
    not_found = {
        "meetingId": SOLO,
        "httpStatus": 404,
        "message": "The requested resource could not be found.",
        "errors": [{"description": "The meeting is not found."}],
    }
    assert reassign(client, SOLO, preview=True).json()["items"] == [not_found]
    r = reassign(client, SOLO)
    assert r.status_code == 207 and r.json()["items"] == [not_found]


def test_the_bulk_cli_sees_a_delete_at_once(
    tmp_path: Path,
    app: Any,
    client: TestClient,
    world: Any,
    route: Any,  # noqa: F811
) -> None:
    route(app)
    args = ("--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE)
    before = tmp_path / "before.csv"
    run(tmp_path, *args, "--report", str(before))
    assert {SOLO, MARCUS_WEEKLY} <= {row["id"] for row in read_csv(before)}
    assert delete(client, ADMIN, SOLO).status_code == 204
    r = client.patch(f"/v1/meetings/{MARCUS_WEEKLY}", headers=auth(ADMIN), json={"title": "Renamed"})
    assert r.status_code == 200
    after = tmp_path / "after.csv"
    run(tmp_path, *args, "--report", str(after))
    rows = {row["id"]: row for row in read_csv(after)}
    assert SOLO not in rows
    assert rows[MARCUS_WEEKLY]["title"] == "Renamed"


def notices_of(engine: Engine) -> list[Any]:
    from tests.change_world import notices

    return notices(engine)


def test_pages_of_scheduled_meetings_follow_the_exceptions(client: TestClient, world: Any) -> None:
    second, fourth = (occurrence_id(WEEKLY, weekly(n)) for n in (1, 3))
    assert (
        client.patch(f"/v1/meetings/{second}", headers=auth(JOHN), json={"title": "Own"}).status_code == 200
    )
    assert delete(client, JOHN, fourth).status_code == 204
    window = {"meetingType": "scheduledMeeting", "from": iso(NOW), "to": iso(NOW + timedelta(days=45))}
    whole = listed_ids(client, JOHN, **window)
    assert second in whole and fourth not in whole
    paged: list[str] = []
    r = client.get("/v1/meetings", headers=auth(JOHN), params={**window, "max": 2})
    while True:
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) <= 2
        paged += [m["id"] for m in r.json()["items"]]
        if "next" not in r.links:
            break
        r = client.get(r.links["next"]["url"], headers=auth(JOHN))
    assert paged == whole
