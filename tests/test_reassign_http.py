"""POST /v1/meetings/reassignHost through the real app and database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from meetadmin.store.models import AuditEvent, MeetingInstance, MeetingSeries, Notice, Person
from tests.conftest import load_world
from tests.worlds import (
    ADMIN,
    CALLBACK,
    EVENT,
    JOHN,
    LIVE,
    MARCUS,
    ON_BEHALF,
    OTHER_ADMIN,
    OTHER_ORG_SERIES,
    OTHER_SITE,
    OUTLOOK,
    PERSONAL,
    PLANNING,
    PRIVATE_TYPE,
    SUPPORT,
    TRAINING,
    UNKNOWN,
    WEBINAR,
    auth,
    example_world,
    other_world,
)

URL = "/v1/meetings/reassignHost"
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"


def reassign(client: TestClient, host: str, ids: list[str], token: str = ADMIN, **headers: str) -> Any:
    return client.post(URL, headers={**auth(token), **headers}, json={"hostEmail": host, "meetingIds": ids})


def hosts(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(MeetingSeries.id, Person.email).join(Person, Person.id == MeetingSeries.host_id)
        ).all()
    return {r[0]: r[1] for r in rows}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 207, response.text
    result: list[dict[str, Any]] = response.json()["items"]
    return result


def status_of(response: Any) -> dict[str, int]:
    return {i["meetingId"]: i["httpStatus"] for i in items(response)}


# --- success -------------------------------------------------------------------------------------


def test_all_moved_answers_204_with_an_empty_body(client: TestClient, engine: Engine, world: Any) -> None:
    r = reassign(client, JOHN_EMAIL, [PLANNING, WEBINAR])
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["trackingid"]
    after = hosts(engine)
    assert after[PLANNING] == after[WEBINAR] == JOHN_EMAIL
    assert after[CALLBACK] == MARCUS_EMAIL  # untouched


def test_the_change_is_visible_at_once(client: TestClient, world: Any) -> None:
    assert reassign(client, JOHN_EMAIL, [PLANNING]).status_code == 204
    body = client.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).json()
    assert body["hostEmail"] == JOHN_EMAIL
    assert body["hostDisplayName"] == "John Andersen"
    john = client.get(f"/v1/meetings/{PLANNING}", headers=auth(JOHN))
    assert john.status_code == 200
    assert client.get(f"/v1/meetings/{PLANNING}", headers=auth(MARCUS)).status_code == 404


def test_host_email_is_matched_regardless_of_case(client: TestClient, engine: Engine, world: Any) -> None:
    assert reassign(client, "  John.Andersen@EXAMPLE.com ", [PLANNING]).status_code == 204
    assert hosts(engine)[PLANNING] == JOHN_EMAIL


def test_site_url_header_selects_the_target_site(client: TestClient, engine: Engine, world: Any) -> None:
    assert reassign(client, JOHN_EMAIL, [OTHER_SITE], siteUrl="other.webex.com").status_code == 204
    assert hosts(engine)[OTHER_SITE] == JOHN_EMAIL


def test_without_site_url_the_admins_preferred_site_is_used(
    client: TestClient, engine: Engine, world: Any
) -> None:
    r = reassign(client, JOHN_EMAIL, [OTHER_SITE])
    assert status_of(r) == {OTHER_SITE: 400}
    assert "other.webex.com" in items(r)[0]["errors"][0]["description"]
    assert hosts(engine)[OTHER_SITE] == MARCUS_EMAIL


# --- 207 ---------------------------------------------------------------------------------------


def test_207_has_one_item_per_id_in_request_order(client: TestClient, engine: Engine, world: Any) -> None:
    ids = [WEBINAR, UNKNOWN, PLANNING]
    r = reassign(client, JOHN_EMAIL, ids)
    body = items(r)
    assert [i["meetingId"] for i in body] == ids
    assert body[0] == {"meetingId": WEBINAR, "httpStatus": 200}
    assert body[1] == {
        "meetingId": UNKNOWN,
        "httpStatus": 404,
        "message": "The requested resource could not be found.",
        "errors": [{"description": "The meeting is not found."}],
    }
    assert body[2] == {"meetingId": PLANNING, "httpStatus": 200}
    # what passed moved together
    after = hosts(engine)
    assert after[WEBINAR] == after[PLANNING] == JOHN_EMAIL


@pytest.mark.parametrize(
    ("meeting_id", "host", "status", "words"),
    [
        (LIVE, JOHN_EMAIL, 409, "in progress"),
        (CALLBACK, "nocalling@example.com", 403, "calling/callback"),
        (PRIVATE_TYPE, JOHN_EMAIL, 403, "session type 20"),
        (PLANNING, "nolicence@example.com", 403, "MC licence"),
        (WEBINAR, "mconly@example.com", 403, "Webinar licence"),
        (TRAINING, JOHN_EMAIL, 400, "TC"),
        (EVENT, JOHN_EMAIL, 400, "EC 1.0"),
        (SUPPORT, JOHN_EMAIL, 400, "SC"),
        (ON_BEHALF, JOHN_EMAIL, 400, "on behalf"),
        (OUTLOOK, JOHN_EMAIL, 400, "third-party"),
        (PERSONAL, JOHN_EMAIL, 400, "personal room"),
        (OTHER_SITE, JOHN_EMAIL, 400, "other.webex.com"),
        (PLANNING + "_20261008T160000Z", JOHN_EMAIL, 400, "scheduled meeting"),
        (UNKNOWN, JOHN_EMAIL, 404, "not found"),
        (OTHER_ORG_SERIES, JOHN_EMAIL, 404, "not found"),
        ("not a meeting id ✓", JOHN_EMAIL, 404, "not found"),
    ],
)
def test_each_limitation_is_refused_per_meeting(
    client: TestClient, engine: Engine, meeting_id: str, host: str, status: int, words: str
) -> None:
    load_world(engine, example_world(), other_world())
    before = hosts(engine)
    companion = [WEBINAR] if host == JOHN_EMAIL else []  # a meeting John can take, in the same batch
    r = reassign(client, host, [meeting_id, *companion])
    first, *rest = items(r)
    assert first["meetingId"] == meeting_id
    assert first["httpStatus"] == status
    assert first["message"]
    assert words.lower() in first["errors"][0]["description"].lower()
    assert [i["httpStatus"] for i in rest] == [200] * len(companion)  # the rest of the batch still moves
    after = hosts(engine)
    if meeting_id in before:
        assert after[meeting_id] == before[meeting_id]


def test_instance_ids_are_refused(client: TestClient, engine: Engine, world: Any) -> None:
    with engine.connect() as conn:
        instance = conn.execute(
            select(MeetingInstance.id).where(MeetingInstance.series_id == PLANNING)
        ).scalar()
    assert instance is not None
    r = reassign(client, JOHN_EMAIL, [instance])
    assert status_of(r) == {instance: 400}
    assert "instance" in items(r)[0]["errors"][0]["description"]
    assert hosts(engine)[PLANNING] == MARCUS_EMAIL


def test_third_party_meetings_move_when_the_site_allows_it(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    doc["sites"][0]["allowThirdPartyReassign"] = True
    load_world(engine, doc)
    assert reassign(client, JOHN_EMAIL, [OUTLOOK]).status_code == 204
    assert hosts(engine)[OUTLOOK] == JOHN_EMAIL


def test_all_failing_is_still_207(client: TestClient, world: Any) -> None:
    r = reassign(client, JOHN_EMAIL, [UNKNOWN, LIVE])
    assert status_of(r) == {UNKNOWN: 404, LIVE: 409}


# --- whole-request errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["brenda.song@example.com", "nobody@example.com", "hank@globex.com", "admin@example.com"],
)
def test_new_host_who_cannot_host_on_the_site_gets_403(client: TestClient, engine: Engine, host: str) -> None:
    load_world(engine, example_world(), other_world())
    before = hosts(engine)
    r = reassign(client, host, [PLANNING])
    assert r.status_code == 403
    body = r.json()
    assert body["message"] and body["errors"][0]["description"] and body["trackingId"]
    assert hosts(engine) == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"hostEmail": JOHN_EMAIL, "meetingIds": []}, "at least 1"),
        ({"hostEmail": JOHN_EMAIL, "meetingIds": [f"{i:032x}" for i in range(101)]}, "at most 100"),
        ({"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING, PLANNING]}, "more than once"),
        ({"hostEmail": JOHN_EMAIL}, "'meetingIds' is required"),
        ({"meetingIds": [PLANNING]}, "'hostEmail' is required"),
        ({"hostEmail": 42, "meetingIds": [PLANNING]}, "hostEmail"),
        ({"hostEmail": JOHN_EMAIL, "meetingIds": PLANNING}, "meetingIds"),
        ({"hostEmail": JOHN_EMAIL, "meetingIds": [1, 2]}, "meetingIds"),
        ({"hostEmail": JOHN_EMAIL, "meetingIds": [None]}, "meetingIds"),
        ({"hostEmail": JOHN_EMAIL, "meetingIds": ["x" * 201]}, "meetingIds"),
        ({"hostEmail": "not-an-email", "meetingIds": [PLANNING]}, "email address"),
        ({"hostEmail": "", "meetingIds": [PLANNING]}, "email address"),
        ([PLANNING], "body"),
        ("just a string", "body"),
    ],
)
def test_malformed_bodies_get_400_and_change_nothing(
    client: TestClient, engine: Engine, world: Any, body: Any, words: str
) -> None:
    before = hosts(engine)
    r = client.post(URL, headers=auth(ADMIN), json=body)
    assert r.status_code == 400, r.text
    payload = r.json()
    assert set(payload) == {"message", "errors", "trackingId"}
    assert any(words.lower() in e["description"].lower() for e in payload["errors"]), payload
    assert hosts(engine) == before


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"hostEmail": "a@b.c", "meetingIds": ["x"]}', "text/plain", 415),
        (b'{"hostEmail": "a@b.c", "meetingIds": ["x"]}', "", 415),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b'{"hostEmail": "\\ud800@x.com", "meetingIds": ["x"]}', "application/json", 400),
        (b"[" * 10000 + b"]" * 10000, "application/json", 400),
    ],
)
def test_bad_media_and_malformed_json(
    client: TestClient, world: Any, content: bytes, content_type: str, status: int
) -> None:
    headers = {**auth(ADMIN)}
    if content_type:
        headers["content-type"] = content_type
    r = client.post(URL, headers=headers, content=content)
    assert r.status_code == status, r.text
    assert r.json()["errors"][0]["description"]


def test_huge_body_gets_413(client: TestClient, world: Any) -> None:
    ids = ["a" * 200] * 10_000
    r = client.post(URL, headers=auth(ADMIN), json={"hostEmail": JOHN_EMAIL, "meetingIds": ids})
    assert r.status_code == 413
    assert r.json()["trackingId"] == r.headers["trackingid"]


@pytest.mark.parametrize("site", ["nowhere.webex.com", "globex.webex.com", "", "   "])
def test_site_url_must_be_a_site_of_the_callers_organisation(
    client: TestClient, engine: Engine, site: str
) -> None:
    load_world(engine, example_world(), other_world())
    r = reassign(client, JOHN_EMAIL, [PLANNING], siteUrl=site)
    if site.strip():
        assert r.status_code == 400
        assert "not a site of your organisation" in r.json()["errors"][0]["description"]
        assert hosts(engine)[PLANNING] == MARCUS_EMAIL
    else:  # an empty header is the same as none: the preferred site
        assert r.status_code == 204


def test_admin_without_a_preferred_site_must_name_one(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    del doc["people"][0]["preferredSite"]
    load_world(engine, doc)
    r = reassign(client, JOHN_EMAIL, [PLANNING])
    assert r.status_code == 400
    assert "siteUrl" in r.json()["errors"][0]["description"]
    assert reassign(client, JOHN_EMAIL, [PLANNING], siteUrl="example.webex.com").status_code == 204


# --- auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, 401),
        ({"Authorization": "Bearer " + "x" * 5000}, 401),
        (auth("example-admin-readonly"), 403),  # admin without the write scope
        (auth(JOHN), 403),  # a user
        (auth("example-john-pretends"), 403),  # a user holding admin scopes is still not an admin
    ],
)
def test_auth(client: TestClient, engine: Engine, world: Any, headers: dict[str, str], status: int) -> None:
    r = client.post(URL, headers=headers, json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]})
    assert r.status_code == status
    assert r.json()["trackingId"]
    assert hosts(engine)[PLANNING] == MARCUS_EMAIL


def test_another_organisations_admin_cannot_touch_our_meetings(client: TestClient, engine: Engine) -> None:
    load_world(engine, example_world(), other_world())
    r = reassign(client, "hank@globex.com", [PLANNING], token=OTHER_ADMIN)
    assert status_of(r) == {PLANNING: 404}
    assert hosts(engine)[PLANNING] == MARCUS_EMAIL
    assert reassign(client, JOHN_EMAIL, [OTHER_ORG_SERIES], token=OTHER_ADMIN).status_code == 403


# --- instances, audit, notices, idempotence, atomicity ------------------------------------------------


def test_ended_instances_stay_with_the_original_host(client: TestClient, engine: Engine, world: Any) -> None:
    with engine.connect() as conn:
        instances = conn.execute(
            select(MeetingInstance.id).where(MeetingInstance.series_id == PLANNING)
        ).scalars()
        instance_ids = list(instances)
    assert len(instance_ids) == 4
    assert reassign(client, JOHN_EMAIL, [PLANNING]).status_code == 204
    for iid in instance_ids:
        as_marcus = client.get(f"/v1/meetings/{iid}", headers=auth(MARCUS))
        assert as_marcus.status_code == 200
        assert as_marcus.json()["hostEmail"] == MARCUS_EMAIL
        assert as_marcus.json()["meetingSeriesId"] == PLANNING
        assert client.get(f"/v1/meetings/{iid}", headers=auth(JOHN)).status_code == 404


def test_later_occurrences_belong_to_the_new_host(client: TestClient, world: Any) -> None:
    later = PLANNING + "_20270107T160000Z"  # a future weekly occurrence
    assert client.get(f"/v1/meetings/{later}", headers=auth(MARCUS)).status_code == 200
    assert reassign(client, JOHN_EMAIL, [PLANNING]).status_code == 204
    r = client.get(f"/v1/meetings/{later}", headers=auth(JOHN))
    assert r.status_code == 200
    assert r.json()["hostEmail"] == JOHN_EMAIL
    assert client.get(f"/v1/meetings/{later}", headers=auth(MARCUS)).status_code == 404


def test_each_move_is_audited_and_notifies_the_original_host(
    client: TestClient, engine: Engine, world: Any
) -> None:
    r = reassign(client, JOHN_EMAIL, [PLANNING, WEBINAR, UNKNOWN], TrackingID="MY_TRACKING_ID_12345")
    assert r.status_code == 207
    assert r.headers["trackingid"] == "MY_TRACKING_ID_12345"
    with Session(engine) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.target_id)).all()
        admin_key = session.scalars(select(Person.id).where(Person.email_key == "admin@example.com")).one()
        notices = session.scalars(select(Notice).order_by(Notice.id)).all()
    assert [e.target_id for e in events] == sorted([PLANNING, WEBINAR])
    for e in events:
        assert e.actor_id == admin_key
        assert e.tracking_id == "MY_TRACKING_ID_12345"
        assert e.data["oldHostEmail"] == MARCUS_EMAIL
        assert e.data["newHostEmail"] == JOHN_EMAIL
    assert len(notices) == 2
    assert {n.recipient for n in notices} == {MARCUS_EMAIL}
    assert {n.payload["meetingId"] for n in notices} == {PLANNING, WEBINAR}
    assert all(n.kind == "meetingCancelled" and n.sent_at is None for n in notices)


def test_repeating_a_reassignment_is_harmless(client: TestClient, engine: Engine, world: Any) -> None:
    assert reassign(client, JOHN_EMAIL, [PLANNING, WEBINAR]).status_code == 204
    events, notices = count(engine, AuditEvent), count(engine, Notice)
    assert reassign(client, JOHN_EMAIL, [PLANNING, WEBINAR]).status_code == 204
    assert (count(engine, AuditEvent), count(engine, Notice)) == (events, notices)
    assert hosts(engine)[PLANNING] == JOHN_EMAIL


def test_a_failure_while_applying_changes_nothing(
    client: TestClient, engine: Engine, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import meetadmin.services.reassign as service

    def broken(*_args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "add_notices", broken)
    before = hosts(engine)
    r = reassign(client, JOHN_EMAIL, [PLANNING, WEBINAR])
    assert r.status_code == 500
    assert r.json()["trackingId"]
    assert hosts(engine) == before
    assert count(engine, AuditEvent) == 0


def test_preview_answers_the_verdicts_and_changes_nothing(
    client: TestClient, engine: Engine, world: Any
) -> None:
    before = hosts(engine)
    r = client.post(
        URL + "/preview", headers=auth(ADMIN), json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING, LIVE]}
    )
    assert r.status_code == 200
    assert [(i["meetingId"], i["httpStatus"]) for i in r.json()["items"]] == [(PLANNING, 200), (LIVE, 409)]
    assert hosts(engine) == before
    assert count(engine, AuditEvent) == 0


def test_a_batch_of_100_is_a_handful_of_queries(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    many = [f"{i:032x}" for i in range(100)]
    doc["meetings"] += [
        {
            "id": mid,
            "siteUrl": "example.webex.com",
            "host": MARCUS_EMAIL,
            "title": f"M{i}",
            "sessionTypeId": "3",
            "start": "2027-03-01T10:00:00Z",
            "end": "2027-03-01T11:00:00Z",
        }
        for i, mid in enumerate(many)
    ]
    load_world(engine, doc)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Not the savepoint around a unit of a group: on PostgreSQL one meeting goes in a group, and 99
        # run in a transaction of their own (``api.operations.GROUP_ITEMS``).
        if "SAVEPOINT" not in statement:
            statements.append(statement)

    assert reassign(client, MARCUS_EMAIL, many[:1]).status_code == 204  # warm up (token lookup)
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert reassign(client, JOHN_EMAIL, many[:1]).status_code == 204
        single = len(statements)
        statements.clear()
        assert reassign(client, JOHN_EMAIL, many[1:]).status_code == 204
        batch = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert batch <= 12, statements
    assert batch == single  # the count does not grow with the batch size
    assert set(hosts(engine)[m] for m in many) == {JOHN_EMAIL}


def test_reads_never_cross_organisations(client: TestClient, engine: Engine) -> None:
    load_world(engine, example_world(), other_world())
    assert client.get(f"/v1/meetings/{PLANNING}", headers=auth(OTHER_ADMIN)).status_code == 404
    assert client.get(f"/v1/meetings/{OTHER_ORG_SERIES}", headers=auth(ADMIN)).status_code == 404
    r = client.get(f"/v1/meetings/{OTHER_ORG_SERIES}", headers=auth(OTHER_ADMIN))
    assert r.status_code == 200 and r.json()["hostEmail"] == "hank@globex.com"
    sites = client.get("/v1/meetingPreferences/sites", headers=auth(OTHER_ADMIN)).json()["sites"]
    assert sites == [{"siteUrl": "globex.webex.com", "default": True}]
