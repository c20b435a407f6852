"""GET /v1/adminAudit/events: what admins did, newest first, one organisation at a time."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from meetadmin.domain.ids import ordered_uuids, org_webex_id_for, person_id_for
from meetadmin.store.db import begin
from meetadmin.store.models import AuditEvent, Person
from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, OTHER_ADMIN, PLANNING, SITE, WEBINAR, auth, example_world, other_world

EVENTS = "/v1/adminAudit/events"
ORG = org_webex_id_for("example")
ADMIN_ID = person_id_for("admin@example.com")
NOW = datetime.now(UTC).replace(tzinfo=None)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


WINDOW = {"orgId": ORG, "from": iso(NOW - timedelta(days=1)), "to": iso(NOW + timedelta(days=1))}


@pytest.fixture
def worlds(engine: Engine) -> None:
    load_world(engine, example_world(), other_world())


def reassign(client: TestClient, series: str) -> str:
    r = client.post(
        "/v1/meetings/reassignHost",
        headers=auth(ADMIN),
        json={"hostEmail": "john.andersen@example.com", "meetingIds": [series]},
    )
    assert r.status_code == 204, r.text
    return str(r.headers["trackingid"])


def events(client: TestClient, token: str = ADMIN, **params: Any) -> list[dict[str, Any]]:
    r = client.get(EVENTS, headers=auth(token), params={**WINDOW, **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_a_reassignment_is_an_audit_event(client: TestClient, worlds: None) -> None:
    assert events(client) == []
    tracking = reassign(client, PLANNING)
    (event,) = events(client)
    assert event["actorId"] == ADMIN_ID and event["actorOrgId"] == ORG
    assert event["id"] and event["created"].endswith("Z")
    data = event["data"]
    assert data["actorEmail"] == "admin@example.com" and data["actorName"] == "Example Admin"
    assert data["actorOrgName"] == "Example Inc." and data["adminRoles"] == ["Full_Admin"]
    assert data["targetId"] == PLANNING and data["targetType"] == "MEETING_SERIES"
    assert data["targetName"] == "Quarterly planning"
    assert data["eventCategory"] == "MEETINGS"
    assert data["trackingId"] == tracking
    assert (
        "marcus.hoffmann@example.com" in data["actionText"]
        and "john.andersen@example.com" in data["actionText"]
    )


def test_newest_first_with_filters_and_offset(client: TestClient, worlds: None) -> None:
    reassign(client, PLANNING)
    reassign(client, WEBINAR)
    changed = client.put(
        "/v1/admin/meeting/userconfig/sessionTypes",
        headers=auth(ADMIN),
        json={"siteUrl": SITE, "email": "john.andersen@example.com", "sessionTypeIds": ["3", "9", "20"]},
    )
    assert changed.status_code == 200
    targets = [e["data"]["targetId"] for e in events(client)]
    assert targets == [person_id_for("john.andersen@example.com"), WEBINAR, PLANNING]
    assert "3, 9, 20" in events(client)[0]["data"]["actionText"]
    assert [e["data"]["targetId"] for e in events(client, eventCategories="MEETINGS")] == [WEBINAR, PLANNING]
    both = client.get(
        EVENTS,
        headers=auth(ADMIN),
        params=[*WINDOW.items(), ("eventCategories", "USERS"), ("eventCategories", "X")],
    )
    assert len(both.json()["items"]) == 1
    assert len(events(client, eventCategories="USERS,MEETINGS")) == 3
    assert [e["data"]["targetId"] for e in events(client, offset="1", max="1")] == [WEBINAR]
    assert len(events(client, actorId=ADMIN_ID)) == 3
    assert events(client, actorId=person_id_for("john.andersen@example.com")) == []
    assert events(client, actorId="nobody") == []
    past = {"from": iso(NOW - timedelta(days=30)), "to": iso(NOW - timedelta(days=1))}
    assert events(client, **past) == []
    assert len(events(client, max="500")) == 3


def test_other_writers_events_render_too(client: TestClient, engine: Engine, worlds: None) -> None:
    with begin(engine, write=True) as conn:
        admin_key = conn.execute(
            select(Person.id).where(Person.email_key == "admin@example.com")
        ).scalar_one()
        conn.execute(
            insert(AuditEvent).values(
                id=str(uuid.uuid4()),
                org_id="example",
                created=NOW,
                actor_id=admin_key,
                category="MEETING_PREFERENCES",
                action="refreshPersonalMeetingRoomId",
                target_type="PERSON",
                target_id=person_id_for("john.andersen@example.com"),
                target_name="john.andersen@example.com",
                tracking_id="T_1",
                data={
                    "siteUrl": SITE,
                    "email": "john.andersen@example.com",
                    "oldPersonalMeetingRoomId": "prABCD23670651",
                    "newPersonalMeetingRoomId": "prABCD11112222",
                },
            )
        )
    (event,) = events(client)
    assert event["data"]["eventCategory"] == "MEETING_PREFERENCES"
    assert "prABCD23670651" in event["data"]["actionText"] and "prABCD11112222" in event["data"]["actionText"]
    assert event["data"]["eventDescription"] == "A personal room ID was refreshed"


def test_only_the_callers_organisation(client: TestClient, worlds: None) -> None:
    reassign(client, PLANNING)
    assert client.get(EVENTS, headers=auth(OTHER_ADMIN), params=WINDOW).status_code == 403
    own = {**WINDOW, "orgId": org_webex_id_for("globex")}
    r = client.get(EVENTS, headers=auth(OTHER_ADMIN), params=own)
    assert r.status_code == 200 and r.json()["items"] == []
    assert client.get(EVENTS, headers=auth(ADMIN), params=own).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"from": iso(NOW - timedelta(days=400))},
        {"from": iso(NOW + timedelta(days=2))},
        {"from": "last week"},
        {"max": "0"},
        {"max": "many"},
        {"offset": "-1"},
        {"offset": "1.5"},
    ],
)
def test_bad_parameters(client: TestClient, worlds: None, params: dict[str, str]) -> None:
    r = client.get(EVENTS, headers=auth(ADMIN), params={**WINDOW, **params})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["description"]


@pytest.mark.parametrize("missing", ["orgId", "from", "to"])
def test_required_parameters(client: TestClient, worlds: None, missing: str) -> None:
    params = {k: v for k, v in WINDOW.items() if k != missing}
    assert client.get(EVENTS, headers=auth(ADMIN), params=params).status_code == 400


def test_admins_with_the_audit_scope_only(client: TestClient, worlds: None) -> None:
    assert client.get(EVENTS, params=WINDOW).status_code == 401
    assert client.get(EVENTS, headers=auth(JOHN), params=WINDOW).status_code == 403
    assert client.get(EVENTS, headers=auth("example-admin-readonly"), params=WINDOW).status_code == 403
    assert client.get(EVENTS, headers=auth("example-john-pretends"), params=WINDOW).status_code == 403


def test_event_ids_are_unique_time_ordered_version_7_uuids() -> None:
    """Audit rows are keyed by these: appended to the key index, never scattered over it."""
    first = ordered_uuids(500)
    time.sleep(0.002)
    later = ordered_uuids(500)
    for value in first + later:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert abs(int(parsed.hex[:12], 16) / 1000 - time.time()) < 5  # milliseconds since the epoch
    assert len(set(first + later)) == 1000
    assert max(first) < min(later)  # a later millisecond sorts after
