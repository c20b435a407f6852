"""GET/PUT /v1/meetingPreferences/personalMeetingRoom through the real app and database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from meetadmin.domain.pmr import host_pin_problem
from meetadmin.store.models import PersonalRoomSettings
from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, SITE, auth, example_world, other_world

URL = "/v1/meetingPreferences/personalMeetingRoom"
REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"
JOHN_EMAIL = "john.andersen@example.com"
JOHN_ROOM = "prABCD23670651"
JOHN_RW = "john-preferences-token"
BRENDA = "brenda-preferences-token"
NOT_PERMITTED = "Not permitted to view or change other user's preferences"
REQUIRED = {
    "topic",
    "hostPin",
    "personalMeetingRoomLink",
    "enabledAutoLock",
    "enabledNotifyHost",
    "supportCoHost",
    "sipAddress",
    "dialInIpAddress",
    "telephony",
}
PREFS = ["meeting:preferences_read", "meeting:preferences_write"]


@pytest.fixture
def prefs(engine: Engine) -> dict[str, Any]:
    doc = example_world()
    doc["tokens"] += [
        {"token": JOHN_RW, "person": JOHN_EMAIL, "scopes": PREFS},
        {"token": BRENDA, "person": "brenda.song@example.com", "scopes": PREFS},
    ]
    load_world(engine, doc)
    return doc


def update_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "topic": "John's PMR",
        "hostPin": "4325",
        "enabledAutoLock": True,
        "autoLockMinutes": 10,
        "enabledNotifyHost": True,
        "supportCoHost": True,
        "supportAnyoneAsCoHost": False,
        "allowFirstUserToBeCoHost": False,
        "allowAuthenticatedDevices": True,
        "coHosts": [{"email": "Marcus.Hoffmann@example.com", "displayName": "Marcus"}],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def settings_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(PersonalRoomSettings)).scalar_one())


# --- GET -------------------------------------------------------------------------------------------


def test_a_user_reads_their_own_room(client: TestClient, prefs: Any) -> None:
    r = client.get(URL, headers=auth(JOHN))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    body = r.json()
    assert set(body) >= REQUIRED
    assert "personalMeetingRoomId" not in body
    assert body["personalMeetingRoomLink"] == f"https://{SITE}/meet/{JOHN_ROOM}"
    assert body["sipAddress"] == f"{JOHN_ROOM}@{SITE}"
    assert body["topic"] == "John Andersen's Personal Room"
    assert host_pin_problem(body["hostPin"]) is None
    assert re.fullmatch(r"\d{10}", body["telephony"]["accessCode"])
    assert {n["tollType"] for n in body["telephony"]["callInNumbers"]} <= {"toll", "tollFree"}
    assert body["autoLockMinutes"] in (0, 5, 10, 15, 20)
    assert body["coHosts"] == []
    assert client.get(URL, headers=auth(JOHN)).json() == body  # stable defaults


def test_site_url_picks_the_site(client: TestClient, prefs: Any) -> None:
    body = client.get(URL, headers=auth(JOHN), params={"siteUrl": "OTHER.webex.com"}).json()
    assert re.fullmatch(r"https://other\.webex\.com/meet/otOTHR\d{8}", body["personalMeetingRoomLink"])
    assert body["sipAddress"].endswith("@other.webex.com")


def test_a_refresh_shows_at_once(client: TestClient, prefs: Any) -> None:
    r = client.post(
        REFRESH,
        headers=auth(ADMIN),
        json={
            "siteUrl": SITE,
            "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john"}],
        },
    )
    assert r.status_code == 200
    body = client.get(URL, headers=auth(JOHN)).json()
    assert body["personalMeetingRoomLink"] == f"https://{SITE}/meet/john"
    assert body["sipAddress"] == f"john@{SITE}"


def test_an_admin_reads_a_users_room(client: TestClient, prefs: Any) -> None:
    own = client.get(URL, headers=auth(JOHN)).json()
    r = client.get(URL, headers=auth(ADMIN), params={"userEmail": "JOHN.andersen@example.com"})
    assert r.status_code == 200
    assert r.json() == own


def test_a_user_may_name_themselves(client: TestClient, prefs: Any) -> None:
    r = client.get(URL, headers=auth(JOHN), params={"userEmail": "John.Andersen@example.com"})
    assert r.status_code == 200


def test_a_user_may_not_read_someone_elses_room(client: TestClient, prefs: Any) -> None:
    r = client.get(URL, headers=auth(JOHN), params={"userEmail": "marcus.hoffmann@example.com"})
    assert r.status_code == 403
    body = r.json()
    assert body["message"] == NOT_PERMITTED
    assert body["errors"] == [{"description": NOT_PERMITTED + "."}]


@pytest.mark.parametrize(
    ("token", "params", "status", "words"),
    [
        (ADMIN, {}, 404, "has no personal room"),  # the admin hosts nothing
        (BRENDA, {}, 404, "has no personal room"),  # attendee only
        (ADMIN, {"userEmail": "brenda.song@example.com"}, 404, "has no personal room"),
        (ADMIN, {"userEmail": "nobody@example.com"}, 404, "is in your organisation"),
        (ADMIN, {"userEmail": "hank@globex.com"}, 404, "is in your organisation"),
        (JOHN, {"siteUrl": "globex.webex.com"}, 400, "is not a site of your organisation"),
        (JOHN, {"siteUrl": "nowhere.webex.com"}, 400, "is not a site of your organisation"),
        ("example-admin-readonly", {}, 403, "scope"),
        (None, {}, 401, ""),
    ],
)
def test_get_refusals(
    client: TestClient,
    engine: Engine,
    prefs: Any,
    token: str | None,
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    load_world(engine, other_world())
    r = client.get(URL, headers=auth(token) if token else {}, params=params)
    assert r.status_code == status, r.text
    assert words in r.json()["errors"][0]["description"]


def test_another_orgs_user_reads_like_an_unknown_one(client: TestClient, engine: Engine, prefs: Any) -> None:
    load_world(engine, other_world())
    hank = client.get(URL, headers=auth(ADMIN), params={"userEmail": "hank@globex.com"}).json()
    nobody = client.get(URL, headers=auth(ADMIN), params={"userEmail": "nobody@globex.com"}).json()
    assert hank["errors"][0]["description"].replace("hank", "X") == nobody["errors"][0][
        "description"
    ].replace("nobody", "X")


# --- PUT -------------------------------------------------------------------------------------------


def test_put_replaces_the_options_and_returns_the_room(
    client: TestClient, engine: Engine, prefs: Any
) -> None:
    r = client.put(URL, headers=auth(JOHN_RW), json=update_body())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= REQUIRED
    assert (body["topic"], body["hostPin"], body["enabledAutoLock"], body["autoLockMinutes"]) == (
        "John's PMR",
        "4325",
        True,
        10,
    )
    assert body["allowAuthenticatedDevices"] is True
    assert body["coHosts"] == [{"email": "marcus.hoffmann@example.com", "displayName": "Marcus"}]
    assert body["personalMeetingRoomLink"] == f"https://{SITE}/meet/{JOHN_ROOM}"
    assert client.get(URL, headers=auth(JOHN_RW)).json() == body
    assert settings_rows(engine) == 1
    # a full replacement: optional flags left out go back to false
    again = update_body(allowAuthenticatedDevices=..., coHosts=[], autoLockMinutes=20.0, topic="Mine")
    r = client.put(URL, headers=auth(JOHN_RW), json=again)
    assert r.status_code == 200
    body = r.json()
    assert (body["allowAuthenticatedDevices"], body["coHosts"], body["autoLockMinutes"], body["topic"]) == (
        False,
        [],
        20,
        "Mine",
    )
    assert settings_rows(engine) == 1


def test_settings_are_per_site(client: TestClient, prefs: Any) -> None:
    assert client.put(URL, headers=auth(JOHN_RW), json=update_body(topic="Here")).status_code == 200
    other = client.get(URL, headers=auth(JOHN_RW), params={"siteUrl": "other.webex.com"}).json()
    assert other["topic"] == "John Andersen's Personal Room"


def test_an_admin_updates_a_users_room(client: TestClient, prefs: Any) -> None:
    r = client.put(
        URL, headers=auth(ADMIN), params={"userEmail": JOHN_EMAIL}, json=update_body(topic="By admin")
    )
    assert r.status_code == 200
    assert client.get(URL, headers=auth(JOHN)).json()["topic"] == "By admin"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"hostPin": "1234"}, "sequential"),
        ({"hostPin": "9876"}, "sequential"),
        ({"hostPin": "1111"}, "repeat"),
        ({"hostPin": "12a4"}, "exactly 4 digits"),
        ({"hostPin": "123"}, "exactly 4 digits"),
        ({"hostPin": 4325}, "hostPin"),
        ({"autoLockMinutes": 7}, "'autoLockMinutes' must be one of 0, 5, 10, 15, 20"),
        ({"autoLockMinutes": 10.5}, "autoLockMinutes"),
        ({"autoLockMinutes": "10"}, "autoLockMinutes"),
        ({"topic": ""}, "topic"),
        ({"topic": "   "}, "topic"),
        ({"topic": "x" * 129}, "topic"),
        ({"topic": ...}, "'topic' is required"),
        ({"coHosts": ...}, "'coHosts' is required"),
        ({"enabledAutoLock": ...}, "'enabledAutoLock' is required"),
        ({"enabledAutoLock": "yes"}, "enabledAutoLock"),
        (
            {"coHosts": [{"email": "nobody@example.com", "displayName": "N"}]},
            "'nobody@example.com' is not a user",
        ),
        ({"coHosts": [{"email": "hank@globex.com", "displayName": "H"}]}, "'hank@globex.com' is not a user"),
        (
            {
                "coHosts": [
                    {"email": JOHN_EMAIL, "displayName": "J"},
                    {"email": JOHN_EMAIL.upper(), "displayName": "J"},
                ]
            },
            "listed more than once",
        ),
        ({"coHosts": [{"email": JOHN_EMAIL}]}, "displayName"),
    ],
)
def test_put_validation(
    client: TestClient, engine: Engine, prefs: Any, changes: dict[str, Any], words: str
) -> None:
    load_world(engine, other_world())
    before = client.get(URL, headers=auth(JOHN_RW)).json()
    r = client.put(URL, headers=auth(JOHN_RW), json=update_body(**changes))
    assert r.status_code == 400, r.text
    assert any(words in e["description"] for e in r.json()["errors"]), r.json()
    assert settings_rows(engine) == 0
    assert client.get(URL, headers=auth(JOHN_RW)).json() == before


def test_every_invalid_value_is_reported(client: TestClient, prefs: Any) -> None:
    r = client.put(URL, headers=auth(JOHN_RW), json=update_body(hostPin="1111", autoLockMinutes=3, topic=" "))
    assert r.status_code == 400
    assert len(r.json()["errors"]) == 3


@pytest.mark.parametrize(
    ("token", "params", "status"),
    [
        (JOHN_RW, {"userEmail": "marcus.hoffmann@example.com"}, 403),
        (JOHN, {}, 403),  # read scope only
        ("example-admin-readonly", {"userEmail": JOHN_EMAIL}, 403),
        (BRENDA, {}, 404),
        (None, {}, 401),
    ],
)
def test_put_refusals(
    client: TestClient, engine: Engine, prefs: Any, token: str | None, params: dict[str, str], status: int
) -> None:
    r = client.put(URL, headers=auth(token) if token else {}, params=params, json=update_body())
    assert r.status_code == status, r.text
    assert settings_rows(engine) == 0


def test_put_needs_json(client: TestClient, engine: Engine, prefs: Any) -> None:
    r = client.put(URL, headers=auth(JOHN_RW), content=b"topic=x")
    assert r.status_code == 415
    assert settings_rows(engine) == 0
