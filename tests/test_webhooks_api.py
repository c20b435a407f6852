"""/v1/webhooks: the five operations and every rule of contract-notes §8.1, through the real app (every
response is also checked against the official Webex schema by the ``client`` fixture)."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select

from meetadmin.domain.ids import person_id_for
from meetadmin.store.models import Webhook, WebhookDelivery, WebhookEvent, WebhookQueue
from tests.conftest import BACKENDS, load_world
from tests.worlds import ADMIN, JOHN, MARCUS, OTHER_ADMIN, SITE, auth, other_world

TARGET = "http://127.0.0.1:9/hook"
MARCUS_EMAIL = "marcus.hoffmann@example.com"


def create(client: TestClient, token: str = ADMIN, **fields: Any) -> Any:
    body = {"name": "hook", "targetUrl": TARGET, "resource": "meetings", "event": "all", **fields}
    return client.post("/v1/webhooks", json=body, headers=auth(token))


def test_create_answers_the_webhook_without_its_secret(client: TestClient, world: Any) -> None:
    r = create(client, secret="s3cret", filter=f"siteUrl={SITE}", ownedBy="org", event="updated")
    assert r.status_code == 200, r.text
    hook = r.json()
    assert hook["status"] == "active"
    assert hook["resource"] == "meetings" and hook["event"] == "updated" and hook["ownedBy"] == "org"
    assert hook["filter"] == f"siteUrl={SITE}"
    assert hook["createdBy"] == person_id_for("admin@example.com")
    assert hook["orgId"] and hook["appId"] and hook["created"].endswith("Z")
    assert "secret" not in hook
    got = client.get(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN))
    assert got.status_code == 200 and got.json() == hook
    assert "secret" not in client.get("/v1/webhooks", headers=auth(ADMIN)).json()["items"][0]


def test_owned_by_defaults_to_creator(client: TestClient, world: Any) -> None:
    r = create(client, JOHN)
    assert r.status_code == 200, r.text
    assert r.json()["ownedBy"] == "creator"
    assert "filter" not in r.json()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"resource": "messages"}, "meetings"),
        ({"event": "joined"}, "created, updated"),
        ({"ownedBy": "everyone"}, "ownedBy"),
        ({"filter": "roomId=abc"}, "hostUserId"),
        ({"filter": "siteUrl"}, "key=value"),
        ({"filter": f"siteUrl={SITE}&siteUrl={SITE}"}, "twice"),
        ({"filter": "siteUrl=nowhere.webex.com"}, "not a site"),
        ({"filter": f"hostEmail={MARCUS_EMAIL}"}, "ownedBy"),
        ({"filter": "hostEmail=nobody@example.com", "ownedBy": "org"}, "not a person"),
        ({"filter": f"hostEmail={MARCUS_EMAIL}&hostUserId=x", "ownedBy": "org"}, "twice"),
        ({"targetUrl": "ftp://example.com/x"}, "http"),
        ({"targetUrl": "not a url"}, "http"),
        ({"name": " "}, "name"),
        ({"secret": ""}, "secret"),
        ({"name": 5}, ""),
    ],
)
def test_bad_registrations_are_400_and_change_nothing(
    client: TestClient, world: Any, fields: dict[str, Any], words: str
) -> None:
    r = create(client, **fields)
    assert r.status_code == 400, r.text
    body = r.json()
    assert words in body["message"] + " ".join(e["description"] for e in body["errors"])
    assert body["trackingId"]
    assert client.get("/v1/webhooks", headers=auth(ADMIN)).json()["items"] == []


def test_missing_fields_are_400(client: TestClient, world: Any) -> None:
    r = client.post("/v1/webhooks", json={"name": "x"}, headers=auth(ADMIN))
    assert r.status_code == 400


def test_host_filters_with_org_ownership(client: TestClient, world: Any) -> None:
    by_email = create(client, filter=f"hostEmail={MARCUS_EMAIL.replace('@', '%40')}", ownedBy="org")
    assert by_email.status_code == 200, by_email.text
    assert by_email.json()["filter"] == "hostEmail=marcus.hoffmann%40example.com"  # echoed as given
    by_id = create(client, filter=f"hostUserId={person_id_for(MARCUS_EMAIL)}&siteUrl={SITE}", ownedBy="org")
    assert by_id.status_code == 200, by_id.text


def test_org_webhooks_need_an_admin(client: TestClient, world: Any) -> None:
    assert create(client, JOHN, ownedBy="org").status_code == 403
    assert create(client, "example-john-pretends", ownedBy="org").status_code == 403  # not an admin
    assert create(client, "example-admin-readonly", ownedBy="org").status_code == 200


def test_visibility_creator_and_org_admins_else_404(client: TestClient, world: Any, engine: Any) -> None:
    load_world(engine, other_world())
    johns = create(client, JOHN).json()
    orgs = create(client, ownedBy="org").json()
    admins_own = create(client).json()
    # John sees his own only; the admin sees the org webhook and their own, not John's creator webhook.
    assert [h["id"] for h in client.get("/v1/webhooks", headers=auth(JOHN)).json()["items"]] == [johns["id"]]
    seen = [h["id"] for h in client.get("/v1/webhooks", headers=auth(ADMIN)).json()["items"]]
    assert seen == [orgs["id"], admins_own["id"]]
    only_org = client.get("/v1/webhooks", params={"ownedBy": "org"}, headers=auth(ADMIN)).json()["items"]
    assert [h["id"] for h in only_org] == [orgs["id"]]
    for token, hook in [(ADMIN, johns), (JOHN, orgs), (MARCUS, johns), (OTHER_ADMIN, orgs)]:
        for method in ("GET", "DELETE"):
            r = client.request(method, f"/v1/webhooks/{hook['id']}", headers=auth(token))
            assert r.status_code == 404, (token, method, r.text)
        put = client.put(
            f"/v1/webhooks/{hook['id']}", json={"name": "x", "targetUrl": TARGET}, headers=auth(token)
        )
        assert put.status_code == 404
    assert client.get("/v1/webhooks/nope", headers=auth(ADMIN)).status_code == 404
    assert client.get("/v1/webhooks", params={"ownedBy": "creator"}, headers=auth(ADMIN)).status_code == 400


def test_scopes(client: TestClient, world: Any, engine: Any) -> None:
    r = client.get("/v1/webhooks")
    assert r.status_code == 401
    assert client.get("/v1/webhooks", headers=auth("nonsense")).status_code == 401


def test_list_pages_with_max_and_link(client: TestClient, world: Any) -> None:
    made = [create(client, name=f"hook {i}").json()["id"] for i in range(5)]
    seen: list[str] = []
    url: str | None = "/v1/webhooks?max=2"
    pages = 0
    while url:
        r = client.get(url, headers=auth(ADMIN))
        assert r.status_code == 200
        items = r.json()["items"]
        assert len(items) <= 2
        seen += [h["id"] for h in items]
        pages += 1
        url = r.links.get("next", {}).get("url")
    assert seen == made and pages == 3
    assert client.get("/v1/webhooks?max=0", headers=auth(ADMIN)).status_code == 400
    assert client.get("/v1/webhooks?max=abc", headers=auth(ADMIN)).status_code == 400
    assert client.get("/v1/webhooks?cursor=%%%", headers=auth(ADMIN)).status_code == 400
    assert len(client.get("/v1/webhooks?max=1000", headers=auth(ADMIN)).json()["items"]) == 5


def test_update_and_delete(client: TestClient, world: Any) -> None:
    hook = create(client, secret="a").json()
    r = client.put(
        f"/v1/webhooks/{hook['id']}",
        json={"name": "renamed", "targetUrl": "https://example.com/new", "secret": "b", "resource": "x"},
        headers=auth(ADMIN),
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "renamed" and r.json()["targetUrl"] == "https://example.com/new"
    assert r.json()["resource"] == "meetings" and "secret" not in r.json()
    bad = client.put(
        f"/v1/webhooks/{hook['id']}",
        json={"name": "x", "targetUrl": TARGET, "status": "inactive"},
        headers=auth(ADMIN),
    )
    assert bad.status_code == 400
    assert (
        client.put(f"/v1/webhooks/{hook['id']}", json={"name": "x"}, headers=auth(ADMIN)).status_code == 400
    )
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)).status_code == 204
    assert client.get(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)).status_code == 404
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)).status_code == 404


# PostgreSQL only (when the suite has one): SQLite runs one writer at a time, so two writers can't deadlock.
@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_delete_caught_in_a_deadlock_with_the_dispatcher_is_done_again(
    client: TestClient, world: Any, engine: Engine
) -> None:
    """The dispatcher finishing a delivery locks the webhook's queue row and then (for its log row) the
    webhook; a delete locks the webhook and then, cascading, its queue rows. On PostgreSQL one of the two
    is a deadlock's victim: when it is the delete, it is done again, not answered with a 500."""
    hook = create(client).json()
    later = datetime(2100, 1, 1)  # owed, but not due: no dispatcher claims it meanwhile
    with engine.begin() as conn:
        key, org = conn.execute(select(Webhook.id, Webhook.org_id)).one()
        event = conn.execute(
            insert(WebhookEvent)
            .values(
                org_id=org,
                resource="meetings",
                event="updated",
                meeting_id="m",
                series_id="s",
                actor_id="a",
                data="{}",
                created=later,
            )
            .returning(WebhookEvent.id)
        ).scalar_one()
        conn.execute(insert(WebhookQueue).values(webhook_id=key, event_id=event, series_id="s", due=later))

    answered: dict[str, Any] = {}
    with engine.connect() as dispatcher, dispatcher.begin() as finishing:
        dispatcher.execute(delete(WebhookQueue).where(WebhookQueue.webhook_id == key))  # delivered
        deleting = threading.Thread(
            target=lambda: answered.update(r=client.delete(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)))
        )
        deleting.start()
        time.sleep(
            0.5
        )  # the delete holds the webhook's row and waits for the queue row (deadlock_timeout: 1 s)
        dispatcher.execute(
            insert(WebhookDelivery).values(
                webhook_id=key, event_id=event, attempt=1, status="delivered", elapsed_ms=1, created=later
            )
        )
        finishing.commit()
    deleting.join(30)
    assert answered["r"].status_code == 204, answered["r"].text
    assert client.get(f"/v1/webhooks/{hook['id']}", headers=auth(ADMIN)).status_code == 404
