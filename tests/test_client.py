"""meetadmin.client.WebexClient against the real app and database (in-process, through httpx)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from starlette.types import ASGIApp, Receive, Scope, Send

from meetadmin.client import (
    ForbiddenError,
    PmrChange,
    PreviewNotSupported,
    RateLimitedError,
    RetryPolicy,
    UnauthorizedError,
    WebexClient,
)
from meetadmin.client._journal import Journal
from meetadmin.store.models import MeetingSeries, Person
from tests.conftest import load_world
from tests.worlds import (
    ADMIN,
    CALLBACK,
    LIVE,
    PLANNING,
    SITE,
    TRAINING,
    UNKNOWN,
    WEBINAR,
    example_world,
)

JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
# No waiting in tests: Retry-After 0 and no backoff or jitter.
FAST = RetryPolicy(attempts=4, base_wait=0, max_wait=2, jitter=0)


class Recorder:
    """ASGI middleware that logs every request and answers 429 to the first ``throttle`` matching ones."""

    def __init__(
        self,
        app: ASGIApp,
        throttle: int = 0,
        retry_after: str = "0",
        when: Callable[[str, str], bool] = lambda method, path: True,
    ) -> None:
        self.app = app
        self.throttle = throttle
        self.retry_after = retry_after
        self.when = when
        self.seen: list[tuple[str, str, int]] = []  # (method, path, status)
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        body = b""

        async def replay() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.bodies.append(body)
        if self.throttle > 0 and self.when(method, path):
            self.throttle -= 1
            self.seen.append((method, path, 429))
            payload = (
                b'{"message":"Too many requests.","errors":[{"description":"Slow down."}],"trackingId":"T_1"}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", self.retry_after.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        status: list[int] = []

        async def spy(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replay, spy)
        self.seen.append((method, path, status[0] if status else 0))

    def posts(self, suffix: str) -> list[int]:
        """Indexes (into ``bodies``) of the POSTs to paths ending in ``suffix``."""
        return [i for i, (m, p, _s) in enumerate(self.seen) if m == "POST" and p.endswith(suffix)]


def webex(app: ASGIApp, token: str = ADMIN, retry: RetryPolicy = FAST) -> WebexClient:
    http = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    return WebexClient("http://testserver/v1", token, http_client=http, retry=retry)


def host_of(engine: Engine, series_id: str) -> str:
    with engine.connect() as conn:
        email = conn.scalar(
            select(Person.email)
            .join(MeetingSeries, MeetingSeries.host_id == Person.id)
            .where(MeetingSeries.id == series_id)
        )
    return str(email)


def many_series(count: int, host: str = MARCUS_EMAIL, title: str = "Series") -> list[dict[str, Any]]:
    return [
        {
            "siteUrl": SITE,
            "host": host,
            "title": f"{title} {i:05d}",
            "sessionTypeId": "3",
            "start": "2027-03-01T10:00:00Z",
            "end": "2027-03-01T11:00:00Z",
        }
        for i in range(count)
    ]


def test_reassign_207_gives_one_verdict_per_meeting(app: Any, engine: Engine, world: dict[str, Any]) -> None:
    with webex(app) as client:
        result = client.reassign(JOHN_EMAIL, [PLANNING, LIVE, TRAINING, UNKNOWN], SITE)
    statuses = {i.meeting_id: i.http_status for i in result.items}
    assert statuses == {PLANNING: 200, LIVE: 409, TRAINING: 400, UNKNOWN: 404}
    assert not result.all_ok
    unknown = next(i for i in result.items if i.meeting_id == UNKNOWN)
    assert unknown.reason == "The meeting is not found."
    assert host_of(engine, PLANNING) == JOHN_EMAIL
    assert host_of(engine, LIVE) == MARCUS_EMAIL


def test_reassign_204_means_all_moved(app: Any, engine: Engine, world: dict[str, Any]) -> None:
    with webex(app) as client:
        result = client.reassign(JOHN_EMAIL, [PLANNING, WEBINAR], SITE)
    assert result.all_ok
    assert [i.meeting_id for i in result.items] == [PLANNING, WEBINAR]
    assert host_of(engine, WEBINAR) == JOHN_EMAIL


def test_preview_gives_verdicts_and_changes_nothing(app: Any, engine: Engine, world: dict[str, Any]) -> None:
    with webex(app) as client:
        result = client.preview_reassign(JOHN_EMAIL, [PLANNING, CALLBACK, LIVE], SITE)
    assert [(i.meeting_id, i.http_status) for i in result.items] == [
        (PLANNING, 200),
        (CALLBACK, 200),
        (LIVE, 409),
    ]
    assert host_of(engine, PLANNING) == MARCUS_EMAIL


def test_preview_against_webex_is_reported_as_unsupported() -> None:
    def webex_itself(request: httpx.Request) -> httpx.Response:
        body = {"message": "The requested resource could not be found.", "trackingId": "ROUTER_1"}
        return httpx.Response(404, json=body)

    client = WebexClient(
        "https://webexapis.com/v1", "t", transport=httpx.MockTransport(webex_itself), retry=FAST
    )
    with client, pytest.raises(PreviewNotSupported, match="preview not supported by this server"):
        client.preview_reassign(JOHN_EMAIL, [PLANNING])


def test_errors_carry_message_descriptions_and_tracking_id(app: Any, world: dict[str, Any]) -> None:
    with webex(app) as client, pytest.raises(ForbiddenError) as caught:
        client.reassign("brenda.song@example.com", [PLANNING], SITE)
    err = caught.value
    assert err.status == 403
    assert err.message
    assert err.descriptions
    assert err.tracking_id
    assert err.tracking_id in str(err)
    with webex(app, token="no-such-token") as client, pytest.raises(UnauthorizedError) as unauth:
        client.get_meeting(PLANNING)
    assert unauth.value.status == 401
    assert unauth.value.tracking_id


def test_429_with_retry_after_is_retried_until_it_succeeds(app: Any, world: dict[str, Any]) -> None:
    throttled = Recorder(app, throttle=3, retry_after="0")
    with webex(throttled) as client:
        result = client.reassign(JOHN_EMAIL, [PLANNING], SITE)
    assert result.all_ok
    assert [s for _m, _p, s in throttled.seen] == [429, 429, 429, 204]


def test_retry_after_one_second_is_honoured(app: Any, world: dict[str, Any]) -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, base_wait=0, max_wait=5, jitter=0, sleep=waits.append)
    throttled = Recorder(app, throttle=1, retry_after="1")
    with webex(throttled, retry=policy) as client:
        sites = client.sites()
    assert waits == [1.0]
    assert {s.site_url for s in sites} >= {SITE}


def test_retries_are_bounded(app: Any, world: dict[str, Any]) -> None:
    throttled = Recorder(app, throttle=100, retry_after="0")
    with webex(throttled) as client, pytest.raises(RateLimitedError) as caught:
        client.reassign(JOHN_EMAIL, [PLANNING], SITE)
    assert len(throttled.seen) == FAST.attempts
    assert caught.value.retry_after == 0
    assert caught.value.descriptions == ["Slow down."]


def test_get_meeting_and_sites(app: Any, world: dict[str, Any]) -> None:
    with webex(app) as client:
        meeting = client.get_meeting(PLANNING)
        sites = client.sites()
    assert meeting.title == "Quarterly planning"
    assert meeting.host_email == MARCUS_EMAIL
    assert meeting.meeting_type == "meetingSeries"
    assert [s.site_url for s in sites if s.default] == [SITE]


def test_list_meetings_follows_link_headers_across_pages(app: Any, engine: Engine) -> None:
    doc = example_world()
    doc["meetings"] = many_series(250)
    load_world(engine, doc)
    recorder = Recorder(app)
    with webex(recorder) as client:
        found = list(
            client.list_meetings(
                host_email=MARCUS_EMAIL,
                site_url=SITE,
                meeting_type="meetingSeries",
                from_="2026-01-01T00:00:00Z",
                to="2030-01-01T00:00:00Z",
                max=100,
            )
        )
    assert len(found) == 250
    assert len({m.id for m in found}) == 250
    assert {m.host_email for m in found} == {MARCUS_EMAIL}
    gets = [p for m, p, _s in recorder.seen if m == "GET"]
    assert gets == ["/v1/meetings"] * 3


def test_people_and_personal_room(app: Any, world: dict[str, Any]) -> None:
    with webex(app) as client:
        (john,) = client.people(email=JOHN_EMAIL)
        nobody = client.people(email="nobody@example.com")
        room = client.personal_room(user_email=JOHN_EMAIL, site_url=SITE)
    assert john.emails == [JOHN_EMAIL]
    assert john.display_name == "John Andersen"
    assert nobody == []
    assert room.room_id == "prABCD23670651"


def test_refresh_pmr_ids_with_the_same_idempotency_key_runs_once(app: Any, world: dict[str, Any]) -> None:
    change = PmrChange(email=JOHN_EMAIL, system_generated=True)
    with webex(app) as client:
        first = client.refresh_pmr_ids(SITE, [change], idempotency_key="batch-key-1")
        again = client.refresh_pmr_ids(SITE, [change], idempotency_key="batch-key-1")
        now = client.personal_room(user_email=JOHN_EMAIL, site_url=SITE).room_id
    (item,) = first.personal_meeting_room_ids
    assert item.email == JOHN_EMAIL
    assert item.personal_meeting_room_id != "prABCD23670651"
    assert again == first
    assert now == item.personal_meeting_room_id


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"kind": "batch", "moved": [["a", "A"]]})
    with journal.path.open("ab") as fh:
        fh.write(b'{"kind": "batch", "moved": [["b"')  # a crash mid-write
    journal.append({"kind": "batch", "moved": [["c", "C"]]})
    assert [r["moved"][0][0] for r in journal.records()] == ["a", "c"]
