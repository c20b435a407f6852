"""The events of meeting changes other than reassignment and creation, through the real stack and a real
receiver (contract-notes §8.2, §9.4): Update a Meeting fires ``updated`` with the meeting after the
change, Delete a Meeting ``deleted`` with the meeting as it was, the control plane's start and end
``started`` / ``ended`` with the instance. A change that changes nothing fires nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.receiver import Receiver
from tests.test_webhook_delivery import CONTROL, hooks, receiver, register, settled  # noqa: F401
from tests.worlds import ADMIN, PLANNING, auth

MARCUS_EMAIL = "marcus.hoffmann@example.com"


def control(client: TestClient, meeting_id: str, action: str) -> Any:
    return client.post(
        f"/_meetadmin/meetings/{meeting_id}/{action}", headers={"Authorization": f"Bearer {CONTROL}"}
    )


def test_update_and_delete_fire_updated_and_deleted(
    hooks: TestClient,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    engine: Engine,
) -> None:
    register(hooks, receiver.url, ownedBy="org")
    patched = hooks.patch(
        f"/v1/meetings/{PLANNING}", json={"title": "Planning, renamed"}, headers=auth(ADMIN)
    )
    assert patched.status_code == 200, patched.text
    same = hooks.patch(f"/v1/meetings/{PLANNING}", json={"title": "Planning, renamed"}, headers=auth(ADMIN))
    assert same.status_code == 200  # nothing changed: no event
    official = hooks.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()
    deleted = hooks.delete(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN))
    assert deleted.status_code == 204, deleted.text
    receiver.wait_for(lambda r: len(r.received) >= 2)
    receiver.wait_for(settled(engine))
    events = receiver.events()
    assert [e["event"] for e in events] == ["updated", "deleted"]
    updated, gone = events[0]["data"], events[1]["data"]
    assert updated["id"] == PLANNING and updated["title"] == "Planning, renamed"
    for hidden in ("password", "hostKey", "telephony"):
        official.pop(hidden)
    assert gone == official  # the meeting as it was just before the delete
    assert not {"password", "hostKey", "telephony"} & (set(updated) | set(gone))


def test_start_and_end_fire_started_and_ended(
    hooks: TestClient,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    engine: Engine,
) -> None:
    register(hooks, receiver.url, ownedBy="org", event="all")
    started = control(hooks, PLANNING, "start")
    assert started.status_code == 201, started.text
    ended = control(hooks, PLANNING, "end")
    assert ended.status_code == 200, ended.text
    receiver.wait_for(lambda r: len(r.received) >= 2)
    receiver.wait_for(settled(engine))
    events = receiver.events()
    assert [e["event"] for e in events] == ["started", "ended"]
    instance = started.json()["id"]
    assert events[0]["data"]["id"] == events[1]["data"]["id"] == instance
    assert events[0]["data"]["state"] == "inProgress" and events[1]["data"]["state"] == "ended"
    assert events[0]["data"]["hostEmail"] == MARCUS_EMAIL
