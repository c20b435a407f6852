"""GET /v1/meetingPreferences/sites (Get Site List): defaults, userEmail, siteUrl."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, OTHER_ADMIN, SITE, auth, example_world, other_world

SITES = "/v1/meetingPreferences/sites"


@pytest.fixture
def worlds(engine: Engine) -> None:
    load_world(engine, example_world(), other_world())


def test_a_users_sites_with_the_default(client: TestClient, worlds: None) -> None:
    r = client.get(SITES, headers=auth(JOHN))
    assert r.status_code == 200
    assert r.json() == {
        "sites": [{"siteUrl": SITE, "default": True}, {"siteUrl": "other.webex.com", "default": False}]
    }


def test_admin_on_behalf_and_site_url(client: TestClient, worlds: None) -> None:
    r = client.get(
        SITES, headers=auth(ADMIN), params={"userEmail": "brenda.song@example.com", "siteUrl": SITE}
    )
    assert r.json() == {"sites": [{"siteUrl": SITE, "default": True}]}
    foreign = client.get(SITES, headers=auth(ADMIN), params={"siteUrl": "globex.webex.com"})
    assert foreign.status_code == 400
    other_org = client.get(
        SITES, headers=auth(OTHER_ADMIN), params={"userEmail": "john.andersen@example.com"}
    )
    assert other_org.status_code == 404
