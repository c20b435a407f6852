"""Session types: the site's, a user's (read, replace), the host's view, and their effect on reassignment."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from meetadmin.domain.ids import person_id_for
from tests.conftest import load_world
from tests.worlds import (
    ADMIN,
    JOHN,
    MARCUS,
    OTHER_ADMIN,
    PRIVATE_TYPE,
    SITE,
    auth,
    example_world,
    other_world,
)

SITE_TYPES = "/v1/admin/meeting/config/sessionTypes"
USER_TYPES = "/v1/admin/meeting/userconfig/sessionTypes"
HOST_TYPES = "/v1/meetings/sessionTypes"
JOHN_ID = person_id_for("john.andersen@example.com")


@pytest.fixture
def worlds(engine: Engine) -> None:
    load_world(engine, example_world(), other_world())


def type_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["items"]]


def johns_types(client: TestClient) -> list[str]:
    r = client.get(USER_TYPES, headers=auth(ADMIN), params={"personId": JOHN_ID})
    assert r.status_code == 200, r.text
    (user,) = r.json()["items"]
    return [t["id"] for t in user["sessionTypes"]]


def put_johns_types(client: TestClient, ids: list[str], **extra: Any) -> Any:
    payload = {"siteUrl": SITE, "email": "john.andersen@example.com", "sessionTypeIds": ids, **extra}
    return client.put(USER_TYPES, headers=auth(ADMIN), json=payload)


def test_site_session_types(client: TestClient, worlds: None) -> None:
    r = client.get(SITE_TYPES, headers=auth(ADMIN))
    assert type_ids(r) == ["3", "9", "11", "13", "15", "20"]
    first = r.json()["items"][0]
    assert first == {"id": "3", "shortName": "PRO", "name": "Pro Meeting", "type": "meeting", "siteUrl": SITE}
    assert type_ids(client.get(SITE_TYPES, headers=auth(ADMIN), params={"siteUrl": "other.webex.com"})) == [
        "3"
    ]
    assert (
        client.get(SITE_TYPES, headers=auth(ADMIN), params={"siteUrl": "globex.webex.com"}).status_code == 400
    )
    assert client.get(SITE_TYPES, headers=auth(JOHN)).status_code == 403
    assert client.get(SITE_TYPES, headers=auth("example-john-pretends")).status_code == 403
    assert client.get(SITE_TYPES).status_code == 401


def test_user_session_types_by_person_id_email_header_or_everyone(client: TestClient, worlds: None) -> None:
    assert johns_types(client) == ["3", "9"]
    r = client.get(USER_TYPES, headers={**auth(ADMIN), "email": "john.andersen@example.com"})
    (user,) = r.json()["items"]
    assert user["personId"] == JOHN_ID and user["email"] == "john.andersen@example.com"
    assert user["siteUrl"] == SITE
    everyone = client.get(USER_TYPES, headers=auth(ADMIN)).json()["items"]
    assert {"john.andersen@example.com", "marcus.hoffmann@example.com"} <= {u["email"] for u in everyone}
    assert client.get(USER_TYPES, headers=auth(ADMIN), params={"personId": "nobody"}).status_code == 404
    hank = person_id_for("hank@globex.com")
    assert client.get(USER_TYPES, headers=auth(ADMIN), params={"personId": hank}).status_code == 404
    assert client.get(USER_TYPES, headers=auth(OTHER_ADMIN), params={"personId": JOHN_ID}).status_code == 404
    assert client.get(USER_TYPES, headers=auth(JOHN), params={"personId": JOHN_ID}).status_code == 403


def test_put_replaces_the_users_session_types(client: TestClient, worlds: None) -> None:
    r = put_johns_types(client, ["20", "3"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["personId"] == JOHN_ID and body["siteUrl"] == SITE
    assert [t["id"] for t in body["sessionTypes"]] == ["3", "20"]
    assert johns_types(client) == ["3", "20"]
    by_id = client.put(
        USER_TYPES, headers=auth(ADMIN), json={"siteUrl": SITE, "personId": JOHN_ID, "sessionTypeIds": []}
    )
    assert by_id.status_code == 200 and by_id.json()["sessionTypes"] == []
    assert johns_types(client) == []


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"siteUrl": SITE, "email": "john.andersen@example.com", "sessionTypeIds": ["3", "99"]}, 400),
        ({"siteUrl": SITE, "email": "john.andersen@example.com", "sessionTypeIds": [3]}, 400),
        ({"siteUrl": SITE, "email": "john.andersen@example.com"}, 400),
        ({"siteUrl": SITE, "sessionTypeIds": ["3"]}, 400),
        ({"email": "john.andersen@example.com", "sessionTypeIds": ["3"]}, 400),
        ({"siteUrl": "globex.webex.com", "email": "john.andersen@example.com", "sessionTypeIds": ["3"]}, 400),
        ({"siteUrl": SITE, "email": "hank@globex.com", "sessionTypeIds": ["3"]}, 404),
        (
            {
                "siteUrl": SITE,
                "personId": JOHN_ID,
                "email": "marcus.hoffmann@example.com",
                "sessionTypeIds": [],
            },
            400,
        ),
    ],
)
def test_bad_updates_change_nothing(
    client: TestClient, worlds: None, payload: dict[str, Any], status: int
) -> None:
    r = client.put(USER_TYPES, headers=auth(ADMIN), json=payload)
    assert r.status_code == status, r.text
    assert johns_types(client) == ["3", "9"]


def test_who_may_update(client: TestClient, worlds: None) -> None:
    payload = {"siteUrl": SITE, "email": "john.andersen@example.com", "sessionTypeIds": ["3"]}
    assert client.put(USER_TYPES, headers=auth(JOHN), json=payload).status_code == 403
    assert client.put(USER_TYPES, headers=auth("example-admin-readonly"), json=payload).status_code == 403
    assert client.put(USER_TYPES, headers=auth(OTHER_ADMIN), json=payload).status_code == 400
    text = client.put(USER_TYPES, headers={**auth(ADMIN), "content-type": "text/plain"}, content=b"x")
    assert text.status_code == 415
    assert johns_types(client) == ["3", "9"]


def test_session_types_decide_reassignment_at_once(client: TestClient, worlds: None) -> None:
    move = {"hostEmail": "john.andersen@example.com", "meetingIds": [PRIVATE_TYPE]}
    before = client.post("/v1/meetings/reassignHost", headers=auth(ADMIN), json=move)
    assert before.status_code == 207
    assert before.json()["items"][0]["httpStatus"] == 403
    assert put_johns_types(client, ["3", "9", "20"]).status_code == 200
    after = client.post("/v1/meetings/reassignHost", headers=auth(ADMIN), json=move)
    assert after.status_code == 204, after.text
    assert client.get(f"/v1/meetings/{PRIVATE_TYPE}", headers=auth(JOHN)).json()["hostEmail"] == (
        "john.andersen@example.com"
    )


def test_the_hosts_own_view(client: TestClient, worlds: None) -> None:
    john = client.get(HOST_TYPES, headers=auth(JOHN))
    assert type_ids(john) == ["3", "9"]
    assert john.json()["items"][1] == {
        "id": "9",
        "name": "Webinar",
        "type": "webinar",
        "attendeesCapacity": 10000,
    }
    # Training, Event and Support Center types are not meeting session types
    assert type_ids(client.get(HOST_TYPES, headers=auth(MARCUS))) == ["3", "9", "20"]
    on_behalf = client.get(
        HOST_TYPES, headers=auth(ADMIN), params={"hostEmail": "marcus.hoffmann@example.com"}
    )
    assert type_ids(on_behalf) == ["3", "9", "20"]
    assert type_ids(client.get(HOST_TYPES, headers=auth(JOHN), params={"siteUrl": "other.webex.com"})) == [
        "3"
    ]
    unknown = client.get(HOST_TYPES, headers=auth(ADMIN), params={"hostEmail": "hank@globex.com"})
    assert unknown.status_code == 404


def test_one_session_type_of_the_host(client: TestClient, worlds: None) -> None:
    assert client.get(f"{HOST_TYPES}/3", headers=auth(JOHN)).json()["id"] == "3"
    assert client.get(f"{HOST_TYPES}/3.0", headers=auth(JOHN)).status_code == 200
    assert client.get(f"{HOST_TYPES}/20", headers=auth(JOHN)).status_code == 404
    assert put_johns_types(client, ["3", "20"]).status_code == 200
    assert client.get(f"{HOST_TYPES}/20", headers=auth(JOHN)).json()["name"] == "Private Meeting"
    for bad in ("abc", "-1", "1e400", "nan"):
        assert client.get(f"{HOST_TYPES}/{bad}", headers=auth(JOHN)).status_code == 400
    readonly = auth("example-admin-readonly")
    assert client.get(f"{HOST_TYPES}/3", headers=readonly).status_code == 404  # the admin hosts nothing
    john = {"hostEmail": "john.andersen@example.com"}
    assert client.get(f"{HOST_TYPES}/20", headers=readonly, params=john).status_code == 200
