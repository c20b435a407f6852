"""NUL (0x00) in any input is bad input, never a 500 (found by schemathesis on PostgreSQL: GET /people).

PostgreSQL refuses NUL in text, so there the request is a Webex-shaped 400 and changes nothing; SQLite
stores and compares such text, so there it is treated like any other unknown value.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.worlds import ADMIN, auth

JOHN_EMAIL = "john.andersen@example.com"
ROOM = "/v1/meetingPreferences/personalMeetingRoom"

QUERIES = [
    "/v1/people?email=%00",
    "/v1/people?displayName=%00",
    "/v1/people/a%00b",
    "/v1/meetings?hostEmail=%00",
    "/v1/meetings?siteUrl=%00",
    "/v1/meetings/870f51ff287b41be84648412901e0402?hostEmail=%00",
    "/v1/meetingPreferences/sites?userEmail=%00",
    f"{ROOM}?siteUrl=%00",
    "/v1/meetings/sessionTypes?hostEmail=%00",
    "/v1/admin/meeting/config/sessionTypes?siteUrl=%00",
]
BODIES = [
    (
        "POST",
        "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId",
        {"personalMeetingRoomIds": [{"email": "a\x00", "personalMeetingRoomId": "a\x00b"}]},
    ),
    ("POST", "/v1/meetings", {"title": "a\x00", "start": "2027-01-04T10:00Z", "end": "2027-01-04T11:00Z"}),
    ("PUT", "/v1/admin/meeting/userconfig/sessionTypes", {"email": "\x00", "sessionTypeIds": ["3"]}),
]


def _no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert body["message"] and body["errors"] and body["trackingId"], body


@pytest.mark.parametrize("url", QUERIES)
def test_nul_in_a_query_or_path(client: TestClient, world: Any, url: str, database_url: str) -> None:
    r = client.get(url, headers=auth(ADMIN))
    _no_server_error(r)
    if database_url.startswith("postgresql"):
        assert r.status_code in (400, 404), r.text


@pytest.mark.parametrize(("method", "url", "body"), BODIES)
def test_nul_in_a_body(client: TestClient, world: Any, method: str, url: str, body: Any) -> None:
    _no_server_error(client.request(method, url, headers=auth(ADMIN), json=body))


def test_a_refused_update_changes_nothing(client: TestClient, world: Any, database_url: str) -> None:
    before = client.get(f"{ROOM}?userEmail={JOHN_EMAIL}", headers=auth(ADMIN)).json()
    update = {k: before[k] for k in ("hostPin", "enabledAutoLock", "enabledNotifyHost", "supportCoHost")}
    update |= {"topic": "bad\x00topic", "autoLockMinutes": 0, "coHosts": []}
    r = client.put(f"{ROOM}?userEmail={JOHN_EMAIL}", headers=auth(ADMIN), json=update)
    _no_server_error(r)
    if database_url.startswith("postgresql"):
        assert r.status_code == 400
        assert client.get(f"{ROOM}?userEmail={JOHN_EMAIL}", headers=auth(ADMIN)).json() == before
