"""Webhook delivery through the real stack: the app (its dispatcher running in the app's lifespan), a
real database, and a real HTTP receiver on a loopback port (tests/receiver.py). Fast retry settings
(fractions of a second) keep the retry tests quick; nothing here asserts on timing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from meetadmin.app import create_app
from meetadmin.domain.ids import person_id_for
from meetadmin.outbound.signing import verify
from meetadmin.settings import Settings
from meetadmin.store.models import WebhookQueue
from tests import conformance
from tests.receiver import Receiver, receiving
from tests.worlds import ADMIN, JOHN, LIVE, MARCUS, PLANNING, SITE, WEBINAR, auth

MARCUS_EMAIL = "marcus.hoffmann@example.com"
JOHN_EMAIL = "john.andersen@example.com"
CONTROL = "control-token"


def fast(database_url: str, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "control_token": CONTROL,
        "webhook_timeout_seconds": 10,  # no test here waits on a timeout; a loaded machine may be slow
        "webhook_retry_base_seconds": 0.05,
        "webhook_max_attempts": 3,
        "webhook_deactivate_after": 5,
        "webhook_poll_seconds": 0.05,
        **more,
    }
    return Settings(**values)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def hooks(engine: Engine, database_url: str, world: Any) -> Iterator[TestClient]:
    """The app with fast retry settings and a control token, on the example organisation."""
    app = create_app(fast(database_url), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as c:
        conformance.install(c)
        yield c


def register(client: TestClient, url: str, token: str = ADMIN, **fields: Any) -> dict[str, Any]:
    body = {"name": "hook", "targetUrl": url, "resource": "meetings", "event": "all", **fields}
    r = client.post("/v1/webhooks", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    hook: dict[str, Any] = r.json()
    return hook


def reassign(client: TestClient, email: str, ids: list[str]) -> httpx.Response:
    return client.post(
        "/v1/meetings/reassignHost", json={"hostEmail": email, "meetingIds": ids}, headers=auth(ADMIN)
    )


def owed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(WebhookQueue)).scalar_one())


def settled(engine: Engine) -> Any:
    return lambda _r: owed(engine) == 0


def test_envelope_signature_and_data(hooks: TestClient, receiver: Receiver, engine: Engine) -> None:
    hook = register(hooks, receiver.url, ownedBy="org", secret="s3cret", filter=f"siteUrl={SITE}")
    assert reassign(hooks, JOHN_EMAIL, [PLANNING]).status_code == 204
    receiver.wait_for(lambda r: len(r.received) == 1)
    got = receiver.received[0]
    assert got.headers["content-type"] == "application/json"
    assert verify("s3cret", got.body, got.headers["x-spark-signature"])
    assert got.headers["x-spark-signature"] == got.headers["x-spark-signature"].lower()
    env = got.json()
    for key in (
        "id",
        "name",
        "targetUrl",
        "resource",
        "filter",
        "orgId",
        "createdBy",
        "appId",
        "ownedBy",
        "created",
    ):
        assert env[key] == hook[key], key
    assert env["event"] == "updated" and env["status"] == "active"
    assert env["actorId"] == person_id_for("admin@example.com")
    data = env["data"]
    assert data["id"] == PLANNING and data["meetingType"] == "meetingSeries"
    assert data["hostEmail"] == JOHN_EMAIL and data["hostUserId"] == person_id_for(JOHN_EMAIL)
    assert not {"password", "hostKey", "telephony"} & set(data)
    official = hooks.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()
    for hidden in ("password", "hostKey", "telephony"):
        official.pop(hidden)
    assert data == official  # the meeting as GET /v1/meetings/{meetingId} shows it to an admin
    # Create a Meeting fires 'created' with the new series.
    made = hooks.post(
        "/v1/meetings",
        json={"title": "New", "start": "2027-05-01T10:00:00Z", "end": "2027-05-01T11:00:00Z"},
        headers=auth(JOHN),
    )
    assert made.status_code == 200, made.text
    receiver.wait_for(lambda r: len(r.received) == 2)
    created = receiver.events()[1]
    assert created["event"] == "created" and created["data"]["id"] == made.json()["id"]
    assert created["actorId"] == person_id_for(JOHN_EMAIL)
    assert verify("s3cret", receiver.received[1].body, receiver.received[1].headers["x-spark-signature"])


def test_who_gets_a_reassignment(hooks: TestClient, receiver: Receiver, engine: Engine) -> None:
    names = {
        "old host (org filter)": {"ownedBy": "org", "filter": f"hostEmail={MARCUS_EMAIL}"},
        "new host (org filter)": {"ownedBy": "org", "filter": f"hostUserId={person_id_for(JOHN_EMAIL)}"},
        "the whole org": {"ownedBy": "org", "event": "updated"},
        "other site": {"ownedBy": "org", "filter": "siteUrl=other.webex.com"},
        "creates only": {"ownedBy": "org", "event": "created"},
        "someone else": {"ownedBy": "org", "filter": "hostEmail=brenda.song@example.com"},
    }
    ids = {register(hooks, receiver.url, name=name, **fields)["id"]: name for name, fields in names.items()}
    ids[register(hooks, receiver.url, JOHN, name="john (new host)")["id"]] = "john (new host)"
    ids[register(hooks, receiver.url, MARCUS, name="marcus (old host)")["id"]] = "marcus (old host)"
    ids[register(hooks, receiver.url, name="admin's own")["id"]] = "admin's own"
    r = reassign(hooks, JOHN_EMAIL, [PLANNING, LIVE])  # LIVE is in progress: refused, fires nothing
    assert r.status_code == 207
    receiver.wait_for(settled(engine))
    got = sorted(e["name"] for e in receiver.events())
    assert got == sorted(
        [
            "old host (org filter)",
            "new host (org filter)",
            "the whole org",
            "john (new host)",
            "marcus (old host)",
        ]
    )
    assert {e["data"]["id"] for e in receiver.events()} == {PLANNING}


def test_failures_retry_then_deactivate_and_a_put_reactivates(
    hooks: TestClient, receiver: Receiver, engine: Engine
) -> None:
    hook = register(hooks, receiver.url, ownedBy="org")
    receiver.status = 500
    assert reassign(hooks, JOHN_EMAIL, [PLANNING, WEBINAR]).status_code == 204
    # 3 attempts per event (max), 5 consecutive failures deactivate: 5 attempts in all, or 6 when both
    # series' third attempts were on the wire together.
    receiver.wait_for(lambda r: r.attempts >= 5 and owed(engine) == 0)
    assert hooks.get(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)).json()["status"] == "inactive"
    log = hooks.get(
        "/_meetadmin/webhooks/deliveries", params={"webhookId": hook["id"]}, headers=auth(CONTROL)
    ).json()["items"]
    assert len(log) == receiver.attempts in (5, 6)
    assert all(a["httpStatus"] == 500 for a in log)
    assert [a["id"] for a in log] == sorted((a["id"] for a in log), reverse=True)  # newest first
    assert {a["status"] for a in log} <= {"retrying", "failed"} and "retrying" in {a["status"] for a in log}
    # While inactive nothing is owed; after reactivation only new events come.
    receiver.status = 200
    assert reassign(hooks, MARCUS_EMAIL, [PLANNING]).status_code == 204
    assert owed(engine) == 0
    put = hooks.put(
        f"/v1/webhooks/{hook['id']}",
        json={"name": "hook", "targetUrl": receiver.url, "status": "active"},
        headers=auth(ADMIN),
    )
    assert put.status_code == 200 and put.json()["status"] == "active"
    assert reassign(hooks, MARCUS_EMAIL, [WEBINAR]).status_code == 204
    receiver.wait_for(lambda r: len(r.received) == 1 and owed(engine) == 0)
    assert [(e["data"]["id"], e["data"]["hostEmail"]) for e in receiver.events()] == [(WEBINAR, MARCUS_EMAIL)]


def test_gives_up_after_max_attempts(hooks: TestClient, receiver: Receiver, engine: Engine) -> None:
    hook = register(hooks, receiver.url, ownedBy="org")
    receiver.status = 503
    assert reassign(hooks, JOHN_EMAIL, [PLANNING]).status_code == 204
    receiver.wait_for(lambda r: r.attempts >= 3 and owed(engine) == 0)
    log = hooks.get("/_meetadmin/webhooks/deliveries", headers=auth(CONTROL)).json()["items"]
    assert [a["status"] for a in log] == ["failed", "retrying", "retrying"]
    assert [a["attempt"] for a in log] == [3, 2, 1]
    assert hooks.get(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)).json()["status"] == "active"
    # Redeliver the given-up event once the receiver is back.
    receiver.status = 200
    r = hooks.post(f"/_meetadmin/webhooks/deliveries/{log[0]['id']}/redeliver", headers=auth(CONTROL))
    assert r.status_code == 202, r.text
    receiver.wait_for(lambda r: len(r.received) == 1)
    assert receiver.events()[0]["data"]["id"] == PLANNING
    receiver.wait_for(settled(engine))
    delivered = hooks.get(
        "/_meetadmin/webhooks/deliveries", params={"status": "delivered"}, headers=auth(CONTROL)
    ).json()["items"]
    assert len(delivered) == 1 and delivered[0]["httpStatus"] == 200
    assert (
        hooks.get(
            "/_meetadmin/webhooks/deliveries", params={"status": "x"}, headers=auth(CONTROL)
        ).status_code
        == 400
    )
    assert (
        hooks.post("/_meetadmin/webhooks/deliveries/999999/redeliver", headers=auth(CONTROL)).status_code
        == 404
    )
    assert hooks.get("/_meetadmin/webhooks/deliveries").status_code == 401


def test_in_order_per_webhook_and_series_despite_failures(
    engine: Engine, database_url: str, world: Any, receiver: Receiver
) -> None:
    settings = fast(database_url, webhook_max_attempts=50, webhook_deactivate_after=50)
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as hooks:
        _in_order(hooks, receiver, engine)


def _in_order(hooks: TestClient, receiver: Receiver, engine: Engine) -> None:
    register(hooks, receiver.url, ownedBy="org")
    register(hooks, receiver.url, ownedBy="org", name="second")
    receiver.fail_every = 3  # every third request fails and is retried
    hosts = [JOHN_EMAIL, MARCUS_EMAIL] * 5
    for email in hosts:
        assert reassign(hooks, email, [PLANNING, WEBINAR]).status_code == 204
    receiver.wait_for(settled(engine))
    for name in ("hook", "second"):
        for series in (PLANNING, WEBINAR):
            seen = [
                (int(r.headers["x-meetadmin-event-id"]), r.json()["data"]["hostEmail"])
                for r in receiver.received
                if r.json()["name"] == name and r.json()["data"]["id"] == series
            ]
            assert [e for e, _ in seen] == sorted(e for e, _ in seen)  # in order
            assert [h for _, h in seen] == hosts  # every event, once each


def test_events_are_written_with_the_change(engine: Engine, database_url: str, world: Any) -> None:
    """No dispatcher: the events are owed as soon as the change commits, and a refused change owes none."""
    app = create_app(fast(database_url, webhook_dispatch=False), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as c:
        register(c, "http://127.0.0.1:9/hook", ownedBy="org")
        assert reassign(c, JOHN_EMAIL, [LIVE]).status_code == 207
        assert owed(engine) == 0
        assert reassign(c, JOHN_EMAIL, [PLANNING, WEBINAR]).status_code == 204
        assert owed(engine) == 2
        assert reassign(c, JOHN_EMAIL, [PLANNING]).status_code == 204  # already John's: nothing moves
        assert owed(engine) == 2
