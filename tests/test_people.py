"""GET /v1/people and /v1/people/{personId}: the caller's organisation only, keyset paging."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from meetadmin.domain.ids import org_webex_id_for, person_id_for
from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, OTHER_ADMIN, SITE, auth, example_world, other_world

JOHN_ID = person_id_for("john.andersen@example.com")
HANK_ID = person_id_for("hank@globex.com")
NO_SCOPES = "example-john-no-scopes"


@pytest.fixture
def worlds(engine: Engine) -> dict[str, Any]:
    doc = example_world()
    doc["people"] += [
        {"email": f"staff{i:02d}@example.com", "displayName": f"Staff {i:02d}"} for i in range(25)
    ]
    doc["tokens"].append({"token": NO_SCOPES, "person": "john.andersen@example.com", "scopes": []})
    load_world(engine, doc, other_world())
    return doc


def emails(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return [p["emails"][0] for p in response.json()["items"]]


def follow(client: TestClient, token: str, response: Any) -> list[str]:
    seen = emails(response)
    while (link := response.headers.get("link")) is not None:
        assert link.endswith('>; rel="next"')
        response = client.get(link[1 : link.index(">")], headers=auth(token))
        seen.extend(emails(response))
    return seen


def test_a_person_by_id(client: TestClient, worlds: dict[str, Any]) -> None:
    r = client.get(f"/v1/people/{JOHN_ID}", headers=auth(JOHN))
    assert r.status_code == 200
    person = r.json()
    assert person["id"] == JOHN_ID
    assert person["emails"] == ["john.andersen@example.com"]
    assert person["displayName"] == "John Andersen"
    assert person["orgId"] == org_webex_id_for("example")
    assert person["type"] == "person"
    assert person["siteUrls"] == [f"{SITE}#host", "other.webex.com#host"]
    assert {"type": "personal-room", "value": f"prABCD23670651@{SITE}", "primary": False} in person[
        "sipAddresses"
    ]
    assert person["created"].endswith("Z")
    assert "roles" not in person and "licenses" not in person  # admin-only fields
    admin_view = client.get(f"/v1/people/{JOHN_ID}", headers=auth(ADMIN)).json()
    assert admin_view["roles"] == [] and len(admin_view["licenses"]) == 3
    assert admin_view["loginEnabled"] == "true" and admin_view["invitePending"] == "false"
    brenda = client.get(f"/v1/people/{person_id_for('brenda.song@example.com')}", headers=auth(ADMIN)).json()
    assert brenda["siteUrls"] == [f"{SITE}#attendee"]


def test_another_organisations_person_is_not_found(client: TestClient, worlds: dict[str, Any]) -> None:
    assert client.get(f"/v1/people/{HANK_ID}", headers=auth(ADMIN)).status_code == 404
    assert client.get(f"/v1/people/{JOHN_ID}", headers=auth(OTHER_ADMIN)).status_code == 404
    assert client.get("/v1/people/nobody", headers=auth(ADMIN)).status_code == 404


def test_users_must_narrow_the_list(client: TestClient, worlds: dict[str, Any]) -> None:
    assert client.get("/v1/people", headers=auth(JOHN)).status_code == 400
    assert emails(
        client.get("/v1/people", headers=auth(JOHN), params={"email": "Marcus.Hoffmann@example.com"})
    ) == ["marcus.hoffmann@example.com"]
    assert emails(client.get("/v1/people", headers=auth(JOHN), params={"displayName": "staff 1"})) == [
        f"staff{i:02d}@example.com" for i in range(10, 20)
    ]
    # a token without any scope still looks people up (decision documented in api/people.py)
    assert emails(
        client.get("/v1/people", headers=auth(NO_SCOPES), params={"email": "admin@example.com"})
    ) == ["admin@example.com"]
    assert client.get("/v1/people", headers=auth(JOHN), params={"roles": "id_full_admin"}).status_code == 400


def test_never_another_organisations_people(client: TestClient, worlds: dict[str, Any]) -> None:
    assert emails(client.get("/v1/people", headers=auth(ADMIN), params={"email": "hank@globex.com"})) == []
    assert emails(client.get("/v1/people", headers=auth(ADMIN), params={"displayName": "Hank"})) == []
    everyone = follow(client, OTHER_ADMIN, client.get("/v1/people", headers=auth(OTHER_ADMIN)))
    assert sorted(everyone) == ["admin@globex.com", "hank@globex.com"]
    foreign_org = {"orgId": org_webex_id_for("globex")}
    assert client.get("/v1/people", headers=auth(ADMIN), params=foreign_org).status_code == 403
    own_org = {"orgId": org_webex_id_for("example"), "email": "admin@example.com"}
    assert emails(client.get("/v1/people", headers=auth(ADMIN), params=own_org)) == ["admin@example.com"]


def test_ids_with_not_found_ids(client: TestClient, worlds: dict[str, Any]) -> None:
    marcus = person_id_for("marcus.hoffmann@example.com")
    r = client.get("/v1/people", headers=auth(JOHN), params={"id": f"{marcus},{HANK_ID},{JOHN_ID},nope"})
    assert emails(r) == ["marcus.hoffmann@example.com", "john.andersen@example.com"]
    assert r.json()["notFoundIds"] == [HANK_ID, "nope"]
    too_many = ",".join(f"id{i}" for i in range(86))
    assert client.get("/v1/people", headers=auth(ADMIN), params={"id": too_many}).status_code == 400


def test_admin_lists_the_organisation_in_pages(
    client: TestClient, engine: Engine, worlds: dict[str, Any]
) -> None:
    r = client.get("/v1/people", headers=auth(ADMIN), params={"max": 10})
    assert len(emails(r)) == 10
    first_page = emails(r)
    link = r.headers["link"]
    # someone joins between page fetches: paging neither repeats nor skips anyone
    extra = other_world()
    extra["org"] = {"id": "late", "name": "Late"}
    extra["sites"], extra["meetings"], extra["tokens"] = [], [], []
    extra["people"] = [{"email": "late@late.com", "displayName": "Late Comer"}]
    load_world(engine, extra)
    rest = follow(client, ADMIN, client.get(link[1 : link.index(">")], headers=auth(ADMIN)))
    everyone = first_page + rest
    assert len(everyone) == len(set(everyone)) == 7 + 25
    assert "late@late.com" not in everyone
    admins = client.get("/v1/people", headers=auth(ADMIN), params={"roles": "id_full_admin"})
    assert emails(admins) == ["admin@example.com"]
    assert client.get("/v1/people", headers=auth(ADMIN), params={"max": "5000"}).status_code == 200


@pytest.mark.parametrize("params", [{"max": "0"}, {"max": "x"}, {"max": "1.5"}, {"cursor": "%%%"}])
def test_bad_parameters(client: TestClient, worlds: dict[str, Any], params: dict[str, str]) -> None:
    r = client.get("/v1/people", headers=auth(ADMIN), params=params)
    assert r.status_code == 400
    assert r.json()["errors"][0]["description"]


def test_unauthenticated(client: TestClient, worlds: dict[str, Any]) -> None:
    assert client.get("/v1/people", params={"email": "admin@example.com"}).status_code == 401
    assert client.get(f"/v1/people/{JOHN_ID}").status_code == 401


def test_me_is_the_caller(client: TestClient, worlds: dict[str, Any]) -> None:
    r = client.get("/v1/people/me", headers=auth(JOHN))
    assert r.status_code == 200 and r.json()["id"] == JOHN_ID
