"""Snapshots, restore and reset through the control plane (contract-notes §8.4), on SQLite and
PostgreSQL: change the state, go back, and find it as it was, also after a restart."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from meetadmin.store.db import begin
from meetadmin.store.models import AuditEvent, MeetingSeries, Person, Snapshot
from meetadmin.store.tokens import add_token
from meetadmin.store.writer import Writer
from tests.conftest import load_world
from tests.control_plane import CONTROL_AUTH, sandbox_client
from tests.worlds import ADMIN, JOHN, PLANNING, SITE, WEBINAR, auth, other_world

JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"


@pytest.fixture
def sandbox(engine: Engine, database_url: str, world: Any) -> Iterator[TestClient]:
    load_world(engine, other_world())
    with sandbox_client(engine, database_url) as client:
        yield client


def host_of(client: TestClient, meeting_id: str) -> str:
    answer = client.get(f"/v1/meetings/{meeting_id}", headers=auth(ADMIN))
    assert answer.status_code == 200, answer.text
    email: str = answer.json()["hostEmail"]
    return email


def reassign(client: TestClient, meeting_ids: list[str], email: str = JOHN_EMAIL) -> None:
    answer = client.post(
        "/v1/meetings/reassignHost", headers=auth(ADMIN), json={"hostEmail": email, "meetingIds": meeting_ids}
    )
    assert answer.status_code == 204, answer.text


def john_room(client: TestClient) -> str:
    answer = client.get(
        "/v1/meetingPreferences/personalMeetingRoom",
        headers=auth(ADMIN),
        params={"userEmail": JOHN_EMAIL, "siteUrl": SITE},
    )
    assert answer.status_code == 200, answer.text
    link: str = answer.json()["personalMeetingRoomLink"]  # https://<site>/meet/<room ID>
    return link.rsplit("/", 1)[1]


def refresh_john(client: TestClient, room: str) -> None:
    body = {"siteUrl": SITE, "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": room}]}
    answer = client.post(REFRESH, headers=auth(ADMIN), json=body)
    assert answer.status_code == 200, answer.text


def snapshots(client: TestClient) -> dict[str, dict[str, Any]]:
    answer = client.get("/_meetadmin/snapshots", headers=CONTROL_AUTH)
    assert answer.status_code == 200, answer.text
    return {item["name"]: item for item in answer.json()["items"]}


def test_a_snapshot_restores_every_change(sandbox: TestClient) -> None:
    saved = sandbox.post("/_meetadmin/snapshots", headers=CONTROL_AUTH, json={"name": "before"})
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert body["name"] == "before" and body["sizeBytes"] > 0
    assert (
        body["rows"]["orgs"] == 2 and body["rows"]["meeting_series"] > 0 and "snapshots" not in body["rows"]
    )
    room = john_room(sandbox)

    reassign(sandbox, [PLANNING, WEBINAR])
    refresh_john(sandbox, "john-fresh-1")
    assert host_of(sandbox, PLANNING) == JOHN_EMAIL and john_room(sandbox) == "john-fresh-1"

    assert sandbox.post("/_meetadmin/snapshots/before/restore", headers=CONTROL_AUTH).status_code == 204
    assert host_of(sandbox, PLANNING) == MARCUS_EMAIL and host_of(sandbox, WEBINAR) == MARCUS_EMAIL
    assert john_room(sandbox) == room

    # the state works on after a restore: the same changes go through again (new keys, sequences)
    reassign(sandbox, [PLANNING])
    refresh_john(sandbox, "john-fresh-2")
    assert host_of(sandbox, PLANNING) == JOHN_EMAIL and john_room(sandbox) == "john-fresh-2"


def test_reset_returns_to_the_state_at_start_up(sandbox: TestClient, engine: Engine) -> None:
    assert "__startup__" in snapshots(sandbox)
    room = john_room(sandbox)
    reassign(sandbox, [PLANNING])
    refresh_john(sandbox, "john-after-start")
    assert _count(engine, AuditEvent) > 0 and _count(engine, Snapshot) == 1

    assert sandbox.post("/_meetadmin/reset", headers=CONTROL_AUTH).status_code == 204
    assert host_of(sandbox, PLANNING) == MARCUS_EMAIL and john_room(sandbox) == room
    assert _count(engine, AuditEvent) == 0  # history made after start-up is gone too
    assert _count(engine, Snapshot) == 1
    # the other organisation is back as it was too
    globex = sandbox.get("/v1/meetings/bb000000000000000000000000000001", headers=auth("globex-admin-token"))
    assert globex.status_code == 200


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_tokens_created_since_stay_usable_after_reset(sandbox: TestClient, engine: Engine) -> None:
    with Writer(engine).writing() as session:
        key = session.scalar(select(Person.id).where(Person.email_key == JOHN_EMAIL))
        assert key is not None
        add_token(session, key, "made-after-start-up", ["meeting:schedules_read"], "later")
    assert sandbox.get("/v1/meetings", headers=auth("made-after-start-up")).status_code == 200
    assert sandbox.post("/_meetadmin/reset", headers=CONTROL_AUTH).status_code == 204
    assert sandbox.get("/v1/meetings", headers=auth("made-after-start-up")).status_code == 200
    assert sandbox.get("/v1/meetings", headers=auth(JOHN)).status_code == 200


def test_names_conflicts_unknowns_and_deletion(sandbox: TestClient) -> None:
    post = lambda body: sandbox.post("/_meetadmin/snapshots", headers=CONTROL_AUTH, json=body)  # noqa: E731
    for bad in ({}, {"name": ""}, {"name": "has space"}, {"name": "__mine"}, {"name": 7}, {"name": "x" * 65}):
        answer = post(bad)
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["errors"][0]["description"]
    assert post({"name": "a", "extra": 1}).status_code == 400
    assert post({"name": "a", "replace": "yes"}).status_code == 400
    bad_json = sandbox.post(
        "/_meetadmin/snapshots", headers={**CONTROL_AUTH, "Content-Type": "application/json"}, content=b"{"
    )
    assert bad_json.status_code == 400
    assert post({"name": "a"}).status_code == 201
    taken = post({"name": "a"})
    assert taken.status_code == 409 and "replace" in taken.json()["errors"][0]["description"]
    assert post({"name": "a", "replace": True}).status_code == 201
    assert set(snapshots(sandbox)) == {"__startup__", "a"}

    assert sandbox.post("/_meetadmin/snapshots/nope/restore", headers=CONTROL_AUTH).status_code == 404
    assert sandbox.delete("/_meetadmin/snapshots/nope", headers=CONTROL_AUTH).status_code == 404
    assert sandbox.delete("/_meetadmin/snapshots/__startup__", headers=CONTROL_AUTH).status_code == 400
    assert sandbox.delete("/_meetadmin/snapshots/a", headers=CONTROL_AUTH).status_code == 204
    assert sandbox.delete("/_meetadmin/snapshots/a", headers=CONTROL_AUTH).status_code == 404
    assert set(snapshots(sandbox)) == {"__startup__"}
    assert sandbox.get("/_meetadmin/snapshots").status_code == 401


def test_snapshots_survive_a_restart(engine: Engine, database_url: str, world: Any) -> None:
    with sandbox_client(engine, database_url) as first:
        assert (
            first.post("/_meetadmin/snapshots", headers=CONTROL_AUTH, json={"name": "kept"}).status_code
            == 201
        )
        reassign(first, [PLANNING])
        first_startup = snapshots(first)["__startup__"]["created"]
    with sandbox_client(engine, database_url) as second:  # a new server on the same database
        listed = snapshots(second)
        assert set(listed) == {"__startup__", "kept"}
        assert listed["__startup__"]["created"] >= first_startup  # the latest start-up's
        assert host_of(second, PLANNING) == JOHN_EMAIL
        assert second.post("/_meetadmin/reset", headers=CONTROL_AUTH).status_code == 204
        assert host_of(second, PLANNING) == JOHN_EMAIL  # reset: the state at this start-up
        assert second.post("/_meetadmin/snapshots/kept/restore", headers=CONTROL_AUTH).status_code == 204
        assert host_of(second, PLANNING) == MARCUS_EMAIL


def test_processes_of_one_start_share_the_start_up_snapshot(
    engine: Engine, database_url: str, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETADMIN_STARTUP_ID", "one-serve")
    with sandbox_client(engine, database_url) as first:
        reassign(first, [PLANNING])
        with sandbox_client(engine, database_url) as second:  # a second worker of the same serve
            assert second.post("/_meetadmin/reset", headers=CONTROL_AUTH).status_code == 204
            assert host_of(second, PLANNING) == MARCUS_EMAIL  # the first process's start-up state


def test_without_a_start_up_snapshot_reset_says_why(engine: Engine, database_url: str, world: Any) -> None:
    with sandbox_client(engine, database_url, startup_snapshot=False) as client:
        answer = client.post("/_meetadmin/reset", headers=CONTROL_AUTH)
        assert answer.status_code == 409 and "MEETADMIN_STARTUP_SNAPSHOT" in answer.text
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(MeetingSeries)) > 0


def test_without_a_control_plane_no_start_up_snapshot_is_taken(
    client: TestClient, engine: Engine, world: Any
) -> None:
    assert client.get("/v1/meetings", headers=auth(ADMIN)).status_code == 200  # the server runs
    assert _count(engine, Snapshot) == 0


def test_a_restore_that_fails_half_way_changes_nothing(sandbox: TestClient, engine: Engine) -> None:
    assert (
        sandbox.post("/_meetadmin/snapshots", headers=CONTROL_AUTH, json={"name": "broken"}).status_code
        == 201
    )
    # spoil the last table of the snapshot: the others restore before it fails
    with begin(engine, write=True) as conn:
        data = conn.scalar(select(Snapshot.data).where(Snapshot.name == "broken"))
        document = orjson.loads(zlib.decompress(data))
        last = list(document["tables"])[-1]
        document["tables"][last] = {"columns": ["no_such_column"], "rows": [[1]]}
        spoiled = zlib.compress(orjson.dumps(document))
        conn.execute(update(Snapshot).where(Snapshot.name == "broken").values(data=spoiled))
    reassign(sandbox, [PLANNING])
    answer = sandbox.post("/_meetadmin/snapshots/broken/restore", headers=CONTROL_AUTH)
    assert answer.status_code == 409 and "no_such_column" in answer.json()["errors"][0]["description"]
    assert host_of(sandbox, PLANNING) == JOHN_EMAIL  # nothing of the half-done restore is kept
    assert _count(engine, MeetingSeries) > 0
