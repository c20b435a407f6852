"""The console's webhook, mailbox and sandbox pages over HTTP (the app in-process with its lifespan: the
webhook dispatcher runs and delivers to a real receiver on 127.0.0.1; a real database): what each token
may see and do, nothing of another organisation, and actions that change the server's real state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from meetadmin.app import create_app
from meetadmin.services.common import utcnow
from meetadmin.settings import Settings
from meetadmin.store.models import Notice, WebhookDelivery
from meetadmin.store.notices import RoomChange, add_room_notices
from meetadmin.store.writer import Writer
from tests.conftest import load_world
from tests.console_support import READONLY, console_world, sign_in
from tests.receiver import Receiver, receiving
from tests.worlds import ADMIN, OTHER_ADMIN, PLANNING, SITE, auth, other_world

CONTROL = "console-control-token"
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
HOOK_NAME = "<b>Ops</b> hook"
REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"


def settings(database_url: str, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "control_token": CONTROL,
        "webhook_timeout_seconds": 10,  # no test here waits on a timeout; a loaded machine may be slow
        "webhook_retry_base_seconds": 0.05,
        "webhook_max_attempts": 3,
        "webhook_deactivate_after": 3,
        "webhook_poll_seconds": 0.05,
        **more,
    }
    return Settings(**values)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


@pytest.fixture
def console(engine: Engine, database_url: str) -> Iterator[TestClient]:
    load_world(engine, console_world(), other_world())
    app = create_app(settings(database_url), engine=engine)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def register(client: TestClient, url: str, name: str = HOOK_NAME, token: str = ADMIN) -> str:
    body = {"name": name, "targetUrl": url, "resource": "meetings", "event": "all", "ownedBy": "org"}
    body["filter"] = f"siteUrl={SITE}" if token == ADMIN else "siteUrl=globex.webex.com"
    r = client.post("/v1/webhooks", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def attempts(engine: Engine, webhook_id: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(WebhookDelivery.id, WebhookDelivery.status)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id)
        ).all()
    return [(r.id, r.status) for r in rows]


def forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]*)"', html)


def write_forms(html: str) -> list[str]:
    return [a for a in forms(html) if a != "/console/logout"]


def test_webhooks_deliveries_reactivation_and_redelivery(
    console: TestClient, receiver: Receiver, engine: Engine
) -> None:
    hook_id = register(console, receiver.url)
    receiver.status = 503
    moved = console.post(
        "/v1/meetings/reassignHost",
        json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]},
        headers=auth(ADMIN),
    )
    assert moved.status_code == 204
    receiver.wait_for(lambda r: r.attempts >= 3 and len(attempts(engine, hook_id)) == 3)
    receiver.wait_for(
        lambda _r: console.get(f"/v1/webhooks/{hook_id}", headers=auth(ADMIN)).json()["status"] == "inactive"
    )

    csrf = sign_in(console, ADMIN)
    listing = console.get("/console/webhooks")
    assert listing.status_code == 200
    assert "&lt;b&gt;Ops&lt;/b&gt; hook" in listing.text and "<b>Ops</b>" not in listing.text
    assert receiver.url in listing.text and "inactive" in listing.text and f"siteUrl={SITE}" in listing.text
    assert f'href="/console/webhooks/{hook_id}"' in listing.text

    page = console.get(f"/console/webhooks/{hook_id}")
    assert page.status_code == 200
    assert page.text.count("HTTP 503") == 3 and "failed" in page.text and "retrying" in page.text
    assert f"/console/webhooks/{hook_id}/reactivate" in forms(page.text)
    assert not any("redeliver" in a for a in forms(page.text))  # inactive: nothing to redeliver to
    last = attempts(engine, hook_id)[-1][0]
    refused = console.post(f"/console/webhooks/deliveries/{last}/redeliver", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "reactivate" in refused.text

    no_csrf = console.post(f"/console/webhooks/{hook_id}/reactivate", data={})
    assert no_csrf.status_code == 403
    assert console.get(f"/v1/webhooks/{hook_id}", headers=auth(ADMIN)).json()["status"] == "inactive"
    done = console.post(
        f"/console/webhooks/{hook_id}/reactivate", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/console/webhooks/{hook_id}"
    assert console.get(f"/v1/webhooks/{hook_id}", headers=auth(ADMIN)).json()["status"] == "active"

    receiver.status = 200
    page = console.get(f"/console/webhooks/{hook_id}")
    assert f"/console/webhooks/deliveries/{last}/redeliver" in forms(page.text)
    again = console.post(
        f"/console/webhooks/deliveries/{last}/redeliver", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert again.status_code == 303
    receiver.wait_for(lambda r: len(r.received) == 1)
    assert receiver.events()[0]["data"]["id"] == PLANNING
    receiver.wait_for(lambda _r: attempts(engine, hook_id)[-1][1] == "delivered")
    assert len(attempts(engine, hook_id)) == 4  # a new attempt, the old ones kept
    assert "HTTP 200" in console.get(f"/console/webhooks/{hook_id}").text


def test_the_delivery_log_pages(console: TestClient, receiver: Receiver, engine: Engine) -> None:
    hook_id = register(console, receiver.url, name="busy")
    ids = [PLANNING, "41be84640b711b8414a4a205042ebba9"]
    for n in range(26):  # 52 events, 52 deliveries
        who = JOHN_EMAIL if n % 2 == 0 else MARCUS_EMAIL
        r = console.post(
            "/v1/meetings/reassignHost", json={"hostEmail": who, "meetingIds": ids}, headers=auth(ADMIN)
        )
        assert r.status_code == 204, r.text
    receiver.wait_for(lambda _r: len(attempts(engine, hook_id)) == 52)
    sign_in(console, ADMIN)
    first = console.get(f"/console/webhooks/{hook_id}")
    numbers = [int(n) for n in re.findall(r"<td>(\d+) <span", first.text)]
    assert len(numbers) == 50 and numbers == sorted(numbers, reverse=True)  # newest first
    older = re.search(r'href="(/console/webhooks/[^"]*\?before=\d+)" rel="next"', first.text)
    assert older
    second = console.get(older.group(1))
    rest = [int(n) for n in re.findall(r"<td>(\d+) <span", second.text)]
    assert len(rest) == 2 and max(rest) < min(numbers)
    assert sorted(numbers + rest) == [a for a, _ in attempts(engine, hook_id)]


def _room_notices(engine: Engine, org_id: str, email: str, n: int) -> None:
    changes = [
        RoomChange(email, "Someone", SITE, f"prOLD{i:07d}", f"prNEW{i:07d}", "admin@example.com")
        for i in range(n)
    ]
    Writer(engine).write_now(lambda conn: add_room_notices(conn, org_id, utcnow(), changes))


def test_the_mailbox_shows_the_organisations_messages(console: TestClient, engine: Engine) -> None:
    items = [
        {"email": JOHN_EMAIL, "personalMeetingRoomId": "prMAIL0001"},
        {"email": MARCUS_EMAIL, "personalMeetingRoomId": "prMAIL0002"},
    ]
    r = console.post(REFRESH, headers=auth(ADMIN), json={"siteUrl": SITE, "personalMeetingRoomIds": items})
    assert r.status_code == 200, r.text
    other = console.post(
        REFRESH,
        headers=auth(OTHER_ADMIN),
        json={
            "siteUrl": "globex.webex.com",
            "personalMeetingRoomIds": [{"email": "hank@globex.com", "systemGenerated": True}],
        },
    )
    assert other.status_code == 200, other.text
    sign_in(console, ADMIN)
    box = console.get("/console/mail")
    assert box.status_code == 200
    assert box.text.index(MARCUS_EMAIL) < box.text.index(JOHN_EMAIL)  # newest first
    assert "hank@globex.com" not in box.text
    only = console.get("/console/mail", params={"to": JOHN_EMAIL.upper()})
    assert JOHN_EMAIL in only.text and MARCUS_EMAIL not in only.text
    link = re.search(r'href="(/console/mail/\d+)"', only.text)
    assert link
    message = console.get(link.group(1))
    assert message.status_code == 200
    assert f"https://{SITE}/meet/prMAIL0001" in message.text and "prABCD23670651" in message.text
    assert "held" in message.text  # no SMTP server is configured
    with engine.connect() as conn:
        globex = conn.execute(select(Notice.id).where(Notice.recipient == "hank@globex.com")).scalar_one()
    assert console.get(f"/console/mail/{globex}").status_code == 404
    assert console.get("/console/mail/x").status_code == 404

    _room_notices(engine, "example", JOHN_EMAIL, 55)
    first = console.get("/console/mail", params={"to": JOHN_EMAIL})
    assert first.text.count('href="/console/mail/') == 50
    older = re.search(r'href="\?to=[^"]*&amp;before=(\d+)" rel="next"', first.text)
    assert older
    second = console.get("/console/mail", params={"to": JOHN_EMAIL, "before": older.group(1)})
    assert second.text.count('href="/console/mail/') == 6  # 5 more and the refresh's


def test_a_read_only_admin_sees_and_writes_nothing(
    console: TestClient, receiver: Receiver, engine: Engine
) -> None:
    hook_id = register(console, receiver.url)
    moved = console.post(
        "/v1/meetings/reassignHost",
        json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]},
        headers=auth(ADMIN),
    )
    assert moved.status_code == 204
    receiver.wait_for(lambda _r: len(attempts(engine, hook_id)) == 1)
    csrf = sign_in(console, READONLY)
    for path in ("/console/webhooks", f"/console/webhooks/{hook_id}", "/console/mail"):
        page = console.get(path)
        assert page.status_code == 200, path
        assert write_forms(page.text) == [], path
    assert "delivered" in console.get(f"/console/webhooks/{hook_id}").text
    attempt = attempts(engine, hook_id)[0][0]
    for path in (
        f"/console/webhooks/deliveries/{attempt}/redeliver",
        f"/console/webhooks/{hook_id}/reactivate",
    ):
        forced = console.post(path, data={"csrf_token": csrf})
        assert forced.status_code == 403, path
        assert "meeting:admin_schedule_write" in forced.text
    assert len(attempts(engine, hook_id)) == 1


def test_nothing_of_another_organisation(console: TestClient, receiver: Receiver, engine: Engine) -> None:
    hook_id = register(console, receiver.url)
    theirs = register(console, receiver.url, name="globex hook", token=OTHER_ADMIN)
    moved = console.post(
        "/v1/meetings/reassignHost",
        json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]},
        headers=auth(ADMIN),
    )
    assert moved.status_code == 204
    receiver.wait_for(lambda _r: len(attempts(engine, hook_id)) == 1)
    attempt = attempts(engine, hook_id)[0][0]
    csrf = sign_in(console, OTHER_ADMIN)
    listing = console.get("/console/webhooks")
    assert "globex hook" in listing.text and "Ops" not in listing.text and hook_id not in listing.text
    assert console.get(f"/console/webhooks/{hook_id}").status_code == 404
    for path in (
        f"/console/webhooks/deliveries/{attempt}/redeliver",
        f"/console/webhooks/{hook_id}/reactivate",
    ):
        assert console.post(path, data={"csrf_token": csrf}).status_code == 404, path
    assert len(attempts(engine, hook_id)) == 1
    assert console.get(f"/console/webhooks/{theirs}").status_code == 200


def test_without_a_control_token_there_is_no_sandbox_page(engine: Engine, database_url: str) -> None:
    load_world(engine, console_world())
    app = create_app(Settings(database_url=database_url), engine=engine)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        csrf = sign_in(c, ADMIN)
        assert "Sandbox" not in c.get("/console").text
        assert c.get("/console/sandbox").status_code == 404
        assert c.get("/console/sandbox/unlock").status_code == 404
        unlock = c.post("/console/sandbox/unlock", data={"csrf_token": csrf, "controlToken": "anything"})
        assert unlock.status_code == 404
        assert c.post("/console/sandbox/faults/clear", data={"csrf_token": csrf}).status_code == 404


def test_the_sandbox_page_needs_the_control_token(console: TestClient) -> None:
    csrf = sign_in(console, ADMIN)
    assert 'href="/console/sandbox/unlock"' in console.get("/console").text
    assert console.get("/console/sandbox").status_code == 404
    rule = {"csrf_token": csrf, "path": "/v1/meetings", "status": "503"}
    assert console.post("/console/sandbox/faults", data=rule).status_code == 404
    assert console.get("/v1/meetings", headers=auth(ADMIN)).status_code == 200
    form = console.get("/console/sandbox/unlock")
    assert form.status_code == 200 and 'name="controlToken"' in form.text
    wrong = console.post("/console/sandbox/unlock", data={"csrf_token": csrf, "controlToken": "guess"})
    assert wrong.status_code == 401 and "not this server" in wrong.text
    no_csrf = console.post("/console/sandbox/unlock", data={"controlToken": CONTROL})
    assert no_csrf.status_code == 403
    assert console.get("/console/sandbox").status_code == 404
    right = console.post(
        "/console/sandbox/unlock", data={"csrf_token": csrf, "controlToken": CONTROL}, follow_redirects=False
    )
    assert right.status_code == 303
    assert console.get("/console/sandbox").status_code == 200
    # The remembered proof belongs to this session: another session of the same admin does not have it.
    proof = console.cookies["meetadmin_console_control"]
    with TestClient(console.app, base_url="http://127.0.0.1") as other:
        sign_in(other, ADMIN)
        other.cookies.set("meetadmin_console_control", proof, path="/console")
        assert other.get("/console/sandbox").status_code == 404


def _unlocked(client: TestClient, token: str = ADMIN) -> str:
    csrf = sign_in(client, token)
    r = client.post("/console/sandbox/unlock", data={"csrf_token": csrf, "controlToken": CONTROL})
    assert r.status_code == 200 and "Sandbox controls" in r.text
    return csrf


def test_fault_rules_from_the_page_answer_v1_requests(console: TestClient) -> None:
    csrf = _unlocked(console)
    no_csrf = console.post("/console/sandbox/faults", data={"path": "/v1/meetings", "status": "503"})
    assert no_csrf.status_code == 403
    added = console.post(
        "/console/sandbox/faults",
        data={"csrf_token": csrf, "method": "GET", "path": "/v1/meetings", "status": "503", "count": "2"},
    )
    assert added.status_code == 200 and "The fault rule is added." in added.text
    assert console.get("/v1/meetings", headers=auth(ADMIN)).status_code == 503
    page = console.get("/console/sandbox")
    rule_id = re.search(r"/console/sandbox/faults/(f[0-9a-f]+)/delete", page.text)
    assert rule_id and "1 of 2" in page.text  # its hits
    bad = console.post(
        "/console/sandbox/faults", data={"csrf_token": csrf, "path": "/other", "status": "503"}
    )
    assert bad.status_code == 400 and "/v1/" in bad.text
    gone = console.post(f"/console/sandbox/faults/{rule_id.group(1)}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 200
    assert console.get("/v1/meetings", headers=auth(ADMIN)).status_code == 200
    for path in ("/v1/meetings", "/v1/people"):
        console.post("/console/sandbox/faults", data={"csrf_token": csrf, "path": path, "status": "500"})
    assert console.get("/v1/people", headers=auth(ADMIN)).status_code == 500
    cleared = console.post("/console/sandbox/faults/clear", data={"csrf_token": csrf})
    assert cleared.status_code == 200 and "No fault rules." in cleared.text
    assert console.get("/v1/people", headers=auth(ADMIN)).status_code == 200


def test_the_rate_limit_from_the_page(console: TestClient) -> None:
    csrf = _unlocked(console)
    assert "Off: no rate limit." in console.get("/console/sandbox").text
    bad = console.post(
        "/console/sandbox/rate-limit", data={"csrf_token": csrf, "requests": "0", "perSeconds": "60"}
    )
    assert bad.status_code == 400
    limited = console.post(
        "/console/sandbox/rate-limit", data={"csrf_token": csrf, "requests": "1", "perSeconds": "3600"}
    )
    assert "1 request per 3600 seconds" in limited.text
    assert console.get("/v1/meetings", headers=auth(ADMIN)).status_code == 200
    assert console.get("/v1/meetings", headers=auth(ADMIN)).status_code == 429
    off = console.post("/console/sandbox/rate-limit", data={"csrf_token": csrf, "off": "yes"})
    assert "Off: no rate limit." in off.text
    assert console.get("/v1/meetings", headers=auth(ADMIN)).status_code == 200


def _title(client: TestClient) -> str:
    return str(client.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()["title"])


def test_snapshots_and_reset_from_the_page(console: TestClient) -> None:
    csrf = _unlocked(console)
    original = _title(console)
    saved = console.post("/console/sandbox/snapshots", data={"csrf_token": csrf, "name": "before"})
    assert saved.status_code == 200 and "The snapshot is saved." in saved.text
    assert "__startup__" in saved.text and "before" in saved.text
    taken = console.post("/console/sandbox/snapshots", data={"csrf_token": csrf, "name": "before"})
    assert taken.status_code == 409
    assert (
        console.post("/console/sandbox/snapshots", data={"csrf_token": csrf, "name": "../x"}).status_code
        == 400
    )

    def retitle(title: str) -> None:
        meeting = console.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()
        body = {k: meeting[k] for k in ("title", "start", "end", "timezone", "recurrence") if k in meeting}
        body["title"] = title
        r = console.patch(f"/v1/meetings/{PLANNING}", json=body, headers=auth(ADMIN))
        assert r.status_code == 200, r.text

    retitle("Changed after the snapshot")
    restored = console.post("/console/sandbox/snapshots/before/restore", data={"csrf_token": csrf})
    assert restored.status_code == 200 and "The snapshot is restored." in restored.text  # still signed in
    assert _title(console) == original
    retitle("Changed again")
    reset = console.post("/console/sandbox/reset", data={"csrf_token": csrf})
    assert reset.status_code == 200 and "start-up state" in reset.text
    assert _title(console) == original
    deleted = console.post("/console/sandbox/snapshots/before/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 200 and ">before<" not in deleted.text
    assert (
        console.post("/console/sandbox/snapshots/before/restore", data={"csrf_token": csrf}).status_code
        == 404
    )
