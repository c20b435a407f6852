"""Real Webex clients, wxc-sdk and WebexPythonSDK, against a live meetadmin server process (uvicorn) on
a seeded database.

wxc-sdk talks HTTP with ``requests`` and builds every URL from ``RestSession.BASE``; a subclass with our
base URL, handed to ``WebexSimpleApi(session=...)``, points it at meetadmin without touching the library.
WebexPythonSDK (``webexpythonsdk``) takes a ``base_url`` argument. Every response either SDK receives is
also checked against the official Webex schema (tests/conformance.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from requests import Response as RequestsResponse
from webexpythonsdk import WebexAPI
from webexpythonsdk.exceptions import ApiError
from wxc_sdk import WebexSimpleApi
from wxc_sdk.meetings.preferences import CoHost
from wxc_sdk.rest import RestError, RestSession
from wxc_sdk.tokens import Tokens
from wxc_sdk.webhook import Webhook, WebhookEvent, WebhookEventType, WebhookResource, WebhookStatus

from meetadmin.outbound.signing import verify
from tests import conformance
from tests.live import free_port, running, uvicorn_command
from tests.receiver import receiving
from tests.worlds import ADMIN, PLANNING, SITE, UNKNOWN, WEBINAR

JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
FROM, TO = "2026-01-01T00:00:00Z", "2027-12-31T00:00:00Z"  # covers every series of the example world


@pytest.fixture
def server(database_url: str, world: Any) -> Iterator[str]:
    """``uvicorn --factory meetadmin.app:create_app`` on a free port, on the test's (seeded) database."""
    port = free_port()
    env = {**os.environ, "MEETADMIN_DATABASE_URL": database_url}
    with running(uvicorn_command(port), env, port, tries=300) as base:
        yield f"{base}/v1"


class Seen:
    """What the SDK sent and received, each response checked against the official Webex schema."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []
        self.next_links: list[str | None] = []  # the rel="next" URL each response named, if any

    def __call__(self, response: RequestsResponse, _elapsed_ns: int) -> None:
        request = response.request
        url = httpx.URL(str(request.url))
        self.requests.append((str(request.method), str(request.url), response.status_code))
        self.next_links.append(response.links.get("next", {}).get("url"))
        conformance.CONFORMANCE.check(
            str(request.method),
            url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
        )


@pytest.fixture
def seen() -> Seen:
    return Seen()


def sdk(base: str, token: str, seen: Seen) -> WebexSimpleApi:
    session_class = type("MeetadminSession", (RestSession,), {"BASE": base})
    session = session_class(tokens=Tokens(access_token=token), concurrent_requests=1, retry_429=False)
    session.register_response_callback(seen)
    return WebexSimpleApi(tokens=token, session=session)


@pytest.fixture
def api(server: str, seen: Seen) -> Iterator[WebexSimpleApi]:
    client = sdk(server, ADMIN, seen)
    yield client
    client.close()


def test_the_sdk_reaches_meetadmin_not_webex(api: WebexSimpleApi, server: str, seen: Seen) -> None:
    api.meetings.preferences.site_list()
    assert seen.requests
    assert all(url.startswith(server) for _, url, _ in seen.requests)


def test_site_list(api: WebexSimpleApi) -> None:
    sites = api.meetings.preferences.site_list()
    assert [(s.site_url, s.default) for s in sites if s.default] == [(SITE, True)]
    as_john = api.meetings.preferences.site_list(user_email=JOHN_EMAIL)
    assert {s.site_url for s in as_john} == {SITE, "other.webex.com"}


def test_get_a_meeting_and_a_webex_shaped_404(api: WebexSimpleApi) -> None:
    meeting = api.meetings.get(PLANNING)
    assert meeting.id == PLANNING
    assert meeting.host_email == MARCUS_EMAIL
    assert meeting.meeting_type == "meetingSeries"
    assert meeting.site_url == SITE
    with pytest.raises(RestError) as caught:
        api.meetings.get(UNKNOWN)
    assert caught.value.response.status_code == 404
    assert caught.value.detail.message
    assert caught.value.detail.tracking_id


def test_list_meetings_follows_link_pages(api: WebexSimpleApi, seen: Seen) -> None:
    query = {"host_email": MARCUS_EMAIL, "meeting_type": "meetingSeries", "from_": FROM, "to_": TO}
    whole = [m.id for m in api.meetings.list(**query, max=100)]
    assert PLANNING in whole and WEBINAR in whole
    assert len(whole) > 4
    before = len(seen.requests)
    paged = [m.id for m in api.meetings.list(**query, max=2)]
    pages = [i for i in range(before, len(seen.requests)) if "/meetings?" in seen.requests[i][1]]
    assert paged == whole
    assert len(pages) >= len(whole) // 2
    assert all(seen.requests[i][2] == 200 for i in pages)
    # Each page after the first is exactly the rel="next" URL the previous one named; the last names none.
    assert [seen.requests[i][1] for i in pages[1:]] == [seen.next_links[i] for i in pages[:-1]]
    assert seen.next_links[pages[-1]] is None


def test_personal_room_options(api: WebexSimpleApi) -> None:
    room = api.meetings.preferences.personal_meeting_room_options(user_email=JOHN_EMAIL, site_url=SITE)
    assert room.personal_meeting_room_link == f"https://{SITE}/meet/prABCD23670651"
    assert room.sip_address == f"prABCD23670651@{SITE}"
    assert room.topic


def test_update_personal_room_options(api: WebexSimpleApi) -> None:
    before = api.meetings.preferences.personal_meeting_room_options(user_email=JOHN_EMAIL, site_url=SITE)
    updated = api.meetings.preferences.update_personal_meeting_room_options(
        topic="John's SDK room",
        host_pin="4325",
        enabled_auto_lock=True,
        auto_lock_minutes=10,
        enabled_notify_host=True,
        support_co_host=False,
        co_hosts=[CoHost(email=MARCUS_EMAIL, display_name="Marcus Hoffmann")],
        user_email=JOHN_EMAIL,
        site_url=SITE,
    )
    assert updated.topic == "John's SDK room"
    assert updated.auto_lock_minutes == 10
    assert [c.email for c in updated.co_hosts or []] == [MARCUS_EMAIL]
    again = api.meetings.preferences.personal_meeting_room_options(user_email=JOHN_EMAIL, site_url=SITE)
    assert again.topic == "John's SDK room"
    assert again.personal_meeting_room_link == before.personal_meeting_room_link


def test_reassign_through_the_sdk_session(api: WebexSimpleApi) -> None:
    url = api.session.ep("meetings/reassignHost")
    body = api.session.rest_post(url, json={"hostEmail": JOHN_EMAIL, "meetingIds": [WEBINAR]})
    assert body == ""  # 204 No Content
    assert api.meetings.get(WEBINAR).host_email == JOHN_EMAIL
    partial = api.session.rest_post(url, json={"hostEmail": MARCUS_EMAIL, "meetingIds": [WEBINAR, UNKNOWN]})
    assert isinstance(partial, dict)
    assert [(i["meetingId"], i["httpStatus"]) for i in partial["items"]] == [(WEBINAR, 200), (UNKNOWN, 404)]
    assert api.meetings.get(WEBINAR).host_email == MARCUS_EMAIL


def test_refresh_a_personal_room_id_through_the_sdk_session(api: WebexSimpleApi) -> None:
    url = api.session.ep("admin/meetingPreferences/personalMeetingRoom/refreshId")
    body = api.session.rest_post(
        url,
        json={
            "siteUrl": SITE,
            "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john.sdk"}],
        },
    )
    assert isinstance(body, dict)
    assert [(i["email"], i["personalMeetingRoomId"]) for i in body["personalMeetingRoomIds"]] == [
        (JOHN_EMAIL, "john.sdk")
    ]
    room = api.meetings.preferences.personal_meeting_room_options(user_email=JOHN_EMAIL, site_url=SITE)
    assert room.personal_meeting_room_link == f"https://{SITE}/meet/john.sdk"
    with pytest.raises(RestError) as caught:
        api.session.rest_post(url, json={"siteUrl": SITE, "personalMeetingRoomIds": []})
    assert caught.value.response.status_code == 400


def test_people_by_email_and_by_id(api: WebexSimpleApi) -> None:
    (john,) = list(api.people.list(email=JOHN_EMAIL))
    assert john.emails == [JOHN_EMAIL]
    assert john.display_name == "John Andersen"
    details = api.people.details(john.person_id)
    assert details.person_id == john.person_id
    assert details.emails == [JOHN_EMAIL]
    assert details.org_id == john.org_id
    assert list(api.people.list(email="nobody@example.com")) == []


def test_a_reassignment_shows_in_the_admin_audit_events(api: WebexSimpleApi) -> None:
    (admin,) = list(api.people.list(email="admin@example.com"))
    url = api.session.ep("meetings/reassignHost")
    assert api.session.rest_post(url, json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]}) == ""
    now = datetime.now(UTC)
    window = {"from_": now - timedelta(days=1), "to_": now + timedelta(days=1)}
    events = list(api.admin_audit.list_events(org_id=admin.org_id, **window))
    assert events
    assert all(e.actor_org_id == admin.org_id for e in events)
    assert any(e.actor_id == admin.person_id and PLANNING in str(e.data) for e in events)


# --- Update and Delete a Meeting ---------------------------------------------------------------------------


def _ahead(days: int, hour: int = 14) -> datetime:
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    return (now + timedelta(days=days)).replace(hour=hour, minute=0)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_wxc_sdk_patches_updates_and_deletes_meetings(api: WebexSimpleApi) -> None:
    first = _ahead(3)
    created = api.meetings.create(
        title="Made by wxc-sdk",
        start=_iso(first),
        end=_iso(first + timedelta(hours=1)),
        recurrence="FREQ=DAILY;COUNT=3",
        host_email=JOHN_EMAIL,
    )
    patched = api.meetings.patch(created.id, title="Patched by wxc-sdk", agenda="Agenda")
    assert (patched.id, patched.title, patched.agenda) == (created.id, "Patched by wxc-sdk", "Agenda")
    updated = api.meetings.update(created.id, title="Updated by wxc-sdk", password="Upd4ted9")
    assert (updated.title, updated.password) == ("Updated by wxc-sdk", "Upd4ted9")
    assert api.meetings.get(created.id).title == "Updated by wxc-sdk"

    query = {"meetingSeriesId": created.id, "meeting_type": "scheduledMeeting", "host_email": JOHN_EMAIL}
    occurrences = list(api.meetings.list(**query))
    assert len(occurrences) == 3
    second = api.meetings.patch(occurrences[1].id, title="Only this one")
    assert (second.id, second.title) == (occurrences[1].id, "Only this one")
    assert (second.model_extra or {}).get("isModified") is True  # a field wxc-sdk's model does not name
    api.meetings.delete(occurrences[2].id)
    after = list(api.meetings.list(**query))
    assert [(m.id, m.title) for m in after] == [
        (occurrences[0].id, "Updated by wxc-sdk"),
        (occurrences[1].id, "Only this one"),
    ]

    api.meetings.delete(created.id, host_email=JOHN_EMAIL, send_email=False)
    with pytest.raises(RestError) as caught:
        api.meetings.get(created.id)
    assert caught.value.response.status_code == 404


def test_wxc_sdk_gets_the_reason_an_ended_meeting_cannot_change(api: WebexSimpleApi) -> None:
    query = {"meetingSeriesId": PLANNING, "meeting_type": "meeting", "host_email": MARCUS_EMAIL}
    ended = next(iter(api.meetings.list(**query)))
    with pytest.raises(RestError) as caught:
        api.meetings.patch(ended.id, title="Rewrite history")
    assert caught.value.response.status_code == 400
    assert "ended" in caught.value.description
    with pytest.raises(RestError) as caught:
        api.meetings.delete(ended.id)
    assert caught.value.response.status_code == 400


@pytest.fixture
def webex(server: str, seen: Seen) -> WebexAPI:
    """WebexPythonSDK, unmodified, pointed at meetadmin by its ``base_url``."""
    client = WebexAPI(access_token=ADMIN, base_url=f"{server}/", wait_on_rate_limit=False)
    hooks = client._session._req_session.hooks["response"]  # see every response it receives
    hooks.append(lambda response, *args, **kwargs: seen(response, 0))
    return client


def test_webexpythonsdk_updates_and_deletes_meetings(webex: WebexAPI, server: str, seen: Seen) -> None:
    start = _ahead(4)
    created = webex.meetings.create(
        title="Made by WebexPythonSDK",
        start=_iso(start),
        end=_iso(start + timedelta(minutes=30)),
        hostEmail=MARCUS_EMAIL,
    )
    assert created.hostEmail == MARCUS_EMAIL
    later = start + timedelta(hours=2)
    updated = webex.meetings.update(
        created.id,
        title="Updated by WebexPythonSDK",
        password=created.password,
        start=_iso(later),
        end=_iso(later + timedelta(minutes=45)),
        agenda="Moved by two hours",
    )
    assert (updated.id, updated.title, updated.agenda) == (
        created.id,
        "Updated by WebexPythonSDK",
        "Moved by two hours",
    )
    assert (updated.start, updated.end) == (_iso(later), _iso(later + timedelta(minutes=45)))
    assert webex.meetings.get(created.id).title == "Updated by WebexPythonSDK"
    webex.meetings.delete(created.id)
    with pytest.raises(ApiError) as caught:
        webex.meetings.get(created.id)
    assert caught.value.status_code == 404
    with pytest.raises(ApiError) as caught:
        webex.meetings.delete(created.id)
    assert caught.value.status_code == 404
    assert seen.requests and all(url.startswith(server) for _, url, _ in seen.requests)
    methods = {method for method, _, _ in seen.requests}
    assert {"POST", "PUT", "GET", "DELETE"} <= methods


def test_webhooks_create_list_get_update_delete_and_an_event_the_sdk_parses(
    api: WebexSimpleApi, seen: Seen
) -> None:
    with receiving() as receiver:
        hook = api.webhook.create(
            name="sdk hook",
            target_url=receiver.url,
            resource=WebhookResource.meetings,
            event=WebhookEventType.updated,
            filter=f"siteUrl={SITE}",
            secret="sdk-secret",
            owned_by="org",
        )
        assert hook.webhook_id and hook.status == WebhookStatus.active and hook.secret is None
        assert hook.owned_by == "org" and hook.filter == f"siteUrl={SITE}"
        assert [h.webhook_id for h in api.webhook.list(owned_by="org")] == [hook.webhook_id]
        assert api.webhook.details(hook.webhook_id).name == "sdk hook"
        changed = api.webhook.update(
            hook.webhook_id,
            Webhook(
                name="renamed", target_url=receiver.url, status=WebhookStatus.active, created=hook.created
            ),
        )
        assert changed.name == "renamed" and changed.target_url == receiver.url
        url = api.session.ep("meetings/reassignHost")
        assert api.session.rest_post(url, json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]}) == ""
        receiver.wait_for(lambda r: len(r.received) == 1)
        got = receiver.received[0]
        assert verify("sdk-secret", got.body, got.headers["x-spark-signature"])
        event = WebhookEvent.model_validate(got.json())
        assert event.webhook_id == hook.webhook_id and event.name == "renamed"
        assert event.event == WebhookEventType.updated and event.resource == WebhookResource.meetings
        data = event.data if isinstance(event.data, dict) else event.data.model_dump(by_alias=True)
        assert data["id"] == PLANNING and data["hostEmail"] == JOHN_EMAIL
        api.webhook.webhook_delete(hook.webhook_id)
        assert list(api.webhook.list()) == []
        with pytest.raises(RestError) as caught:
            api.webhook.details(hook.webhook_id)
        assert caught.value.response.status_code == 404
