"""Idempotency-Key on POST refreshId and POST reassignHost, through the real app and database."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from meetadmin.store.db import begin
from meetadmin.store.models import (
    AuditEvent,
    IdempotencyRecord,
    MeetingSeries,
    Notice,
    Person,
    PersonalRoomId,
)
from tests.conftest import load_world
from tests.worlds import ADMIN, PLANNING, SITE, UNKNOWN, WEBINAR, auth, example_world

REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"
REASSIGN = "/v1/meetings/reassignHost"
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
ADMIN2 = "second-admin-token"
GENERATE = {
    "siteUrl": SITE,
    "personalMeetingRoomIds": [{"email": e, "systemGenerated": True} for e in (JOHN_EMAIL, MARCUS_EMAIL)],
}


@pytest.fixture
def admins(engine: Engine) -> None:
    doc = example_world()
    doc["people"].append({"email": "admin2@example.com", "displayName": "Second Admin", "admin": True})
    doc["tokens"].append(
        {"token": ADMIN2, "person": "admin2@example.com", "scopes": doc["tokens"][0]["scopes"]}
    )
    load_world(engine, doc)


def keyed(key: str, token: str = ADMIN) -> dict[str, str]:
    return {**auth(token), "Idempotency-Key": key}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def rooms(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PersonalRoomId.person_id, PersonalRoomId.room_id, PersonalRoomId.active).order_by(
                PersonalRoomId.id
            )
        ).all()
    return [tuple(r) for r in rows]


def active(engine: Engine, email: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                select(PersonalRoomId.room_id)
                .join(Person, Person.id == PersonalRoomId.person_id)
                .where(Person.email == email, PersonalRoomId.active.is_(True), PersonalRoomId.site_id == 1)
            ).scalar_one()
        )


def host_of(engine: Engine, series_id: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                select(Person.email)
                .join(MeetingSeries, MeetingSeries.host_id == Person.id)
                .where(MeetingSeries.id == series_id)
            ).scalar_one()
        )


# --- refreshId ---------------------------------------------------------------------------------------


def test_a_retried_generated_refresh_does_not_generate_twice(
    client: TestClient, engine: Engine, admins: None
) -> None:
    first = client.post(REFRESH, headers=keyed("refresh-1"), json=GENERATE)
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    after_first = rooms(engine)
    again = client.post(REFRESH, headers=keyed("refresh-1"), json=GENERATE)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json;charset=UTF-8"
    assert again.content == first.content
    assert rooms(engine) == after_first
    assert count(engine, AuditEvent) == 2
    ids = [i["personalMeetingRoomId"] for i in first.json()["personalMeetingRoomIds"]]
    assert [active(engine, JOHN_EMAIL), active(engine, MARCUS_EMAIL)] == ids


def test_the_answer_is_recorded_with_the_change(client: TestClient, engine: Engine, admins: None) -> None:
    r = client.post(REFRESH, headers=keyed("refresh-rec"), json=GENERATE)
    with engine.connect() as conn:
        row = conn.execute(select(IdempotencyRecord)).one()
    assert (row.key, row.operation, row.status_code) == ("refresh-rec", "refreshPersonalMeetingRoomId", 200)
    assert len(row.request_hash) == 64
    assert orjson.loads(row.body) == r.json()


def test_the_same_body_in_another_spelling_is_the_same_request(
    client: TestClient, engine: Engine, admins: None
) -> None:
    first = client.post(REFRESH, headers=keyed("k"), json=GENERATE)
    spelled = (
        b'{ "personalMeetingRoomIds" : [{"systemGenerated":true,"email":"%s"},\n'
        b' {"email":"%s","systemGenerated":true}],\n "siteUrl":"%s"}'
        % (JOHN_EMAIL.encode(), MARCUS_EMAIL.encode(), SITE.encode())
    )
    again = client.post(REFRESH, headers={**keyed("k"), "content-type": "application/json"}, content=spelled)
    assert again.status_code == 200
    assert again.content == first.content


def test_the_same_key_with_another_body_is_409(client: TestClient, engine: Engine, admins: None) -> None:
    assert client.post(REFRESH, headers=keyed("dup"), json=GENERATE).status_code == 200
    before = (rooms(engine), count(engine, AuditEvent))
    other = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "johnny"}],
    }
    r = client.post(REFRESH, headers=keyed("dup"), json=other)
    assert r.status_code == 409
    assert "already used with a different request body" in r.json()["errors"][0]["description"]
    assert (rooms(engine), count(engine, AuditEvent)) == before


def test_the_same_key_on_another_operation_is_409(client: TestClient, engine: Engine, admins: None) -> None:
    assert client.post(REFRESH, headers=keyed("shared"), json=GENERATE).status_code == 200
    r = client.post(
        REASSIGN, headers=keyed("shared"), json={"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]}
    )
    assert r.status_code == 409
    assert "another operation" in r.json()["errors"][0]["description"]
    assert host_of(engine, PLANNING) == MARCUS_EMAIL


def test_keys_belong_to_their_caller(client: TestClient, engine: Engine, admins: None) -> None:
    first = client.post(REFRESH, headers=keyed("mine"), json=GENERATE)
    second = client.post(REFRESH, headers=keyed("mine", ADMIN2), json=GENERATE)
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in second.headers
    assert second.json() != first.json()
    assert count(engine, AuditEvent) == 4


def test_refusals_are_not_remembered(client: TestClient, engine: Engine, admins: None) -> None:
    bad = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": "nobody@example.com", "systemGenerated": True}],
    }
    assert client.post(REFRESH, headers=keyed("retry-me"), json=bad).status_code == 400
    assert count(engine, IdempotencyRecord) == 0
    assert client.post(REFRESH, headers=keyed("retry-me"), json=GENERATE).status_code == 200


def test_a_crash_leaves_neither_the_change_nor_the_record(
    client: TestClient, engine: Engine, admins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rooms(engine)

    def boom(*_args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("meetadmin.services.pmr.add_audit_batch", boom)
    assert client.post(REFRESH, headers=keyed("crash"), json=GENERATE).status_code == 500
    assert rooms(engine) == before
    assert count(engine, IdempotencyRecord) == 0
    monkeypatch.undo()
    r = client.post(REFRESH, headers=keyed("crash"), json=GENERATE)
    assert r.status_code == 200
    assert "idempotent-replayed" not in r.headers
    assert rooms(engine) != before


def test_keys_expire_after_the_ttl(client: TestClient, engine: Engine, admins: None) -> None:
    assert client.post(REFRESH, headers=keyed("old"), json=GENERATE).status_code == 200
    with begin(engine, write=True) as conn:
        conn.execute(update(IdempotencyRecord).values(created=datetime(2020, 1, 1)))
    other = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "johnny"}],
    }
    r = client.post(REFRESH, headers=keyed("old"), json=other)
    assert r.status_code == 200
    assert active(engine, JOHN_EMAIL) == "johnny"
    assert count(engine, IdempotencyRecord) == 1


def test_a_key_just_inside_the_ttl_still_replays(client: TestClient, engine: Engine, admins: None) -> None:
    first = client.post(REFRESH, headers=keyed("recent"), json=GENERATE)
    with begin(engine, write=True) as conn:
        created = conn.execute(select(IdempotencyRecord.created)).scalar_one()
        conn.execute(update(IdempotencyRecord).values(created=created - timedelta(hours=23)))
    again = client.post(REFRESH, headers=keyed("recent"), json=GENERATE)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


@pytest.mark.parametrize("key", ["x" * 256, "   "])
def test_bad_keys_are_400(client: TestClient, engine: Engine, admins: None, key: str) -> None:
    before = rooms(engine)
    r = client.post(REFRESH, headers=keyed(key), json=GENERATE)
    assert r.status_code == 400
    assert "Idempotency-Key" in r.json()["errors"][0]["description"]
    assert rooms(engine) == before


def test_concurrent_duplicates_do_the_work_once(client: TestClient, engine: Engine, admins: None) -> None:
    answers: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        r = client.post(REFRESH, headers=keyed("burst"), json=GENERATE)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers if r.status_code != 200]
    assert len({r.content for r in answers}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in answers) == 1
    assert count(engine, AuditEvent) == 2  # one refresh of two people
    ids = [i["personalMeetingRoomId"] for i in answers[0].json()["personalMeetingRoomIds"]]
    assert [active(engine, JOHN_EMAIL), active(engine, MARCUS_EMAIL)] == ids


# --- reassignHost ------------------------------------------------------------------------------------


def test_a_retried_reassign_replays_204_without_moving_again(
    client: TestClient, engine: Engine, admins: None
) -> None:
    body = {"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]}
    first = client.post(REASSIGN, headers=keyed("move-1"), json=body)
    assert first.status_code == 204 and first.content == b""
    assert host_of(engine, PLANNING) == JOHN_EMAIL
    notices = count(engine, Notice)
    # someone moves it back; the retry must not move it again
    assert (
        client.post(REASSIGN, headers=auth(ADMIN), json={**body, "hostEmail": MARCUS_EMAIL}).status_code
        == 204
    )
    again = client.post(REASSIGN, headers=keyed("move-1"), json=body)
    assert again.status_code == 204
    assert again.content == b""
    assert again.headers["idempotent-replayed"] == "true"
    assert host_of(engine, PLANNING) == MARCUS_EMAIL
    assert count(engine, Notice) == notices + 1  # only the move back


def test_a_207_is_replayed_too(client: TestClient, engine: Engine, admins: None) -> None:
    body = {"hostEmail": JOHN_EMAIL, "meetingIds": [WEBINAR, UNKNOWN]}
    first = client.post(REASSIGN, headers=keyed("mixed"), json=body)
    assert first.status_code == 207
    events = count(engine, AuditEvent)
    again = client.post(REASSIGN, headers=keyed("mixed"), json=body)
    assert (again.status_code, again.content) == (207, first.content)
    assert again.headers["content-type"] == "application/json;charset=UTF-8"
    assert count(engine, AuditEvent) == events


def test_the_site_url_header_is_part_of_the_request(client: TestClient, engine: Engine, admins: None) -> None:
    body = {"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]}
    assert client.post(REASSIGN, headers=keyed("site"), json=body).status_code == 204
    r = client.post(REASSIGN, headers={**keyed("site"), "siteUrl": "other.webex.com"}, json=body)
    assert r.status_code == 409


def test_reassign_without_a_key_behaves_as_before(client: TestClient, engine: Engine, admins: None) -> None:
    body = {"hostEmail": JOHN_EMAIL, "meetingIds": [PLANNING]}
    assert client.post(REASSIGN, headers=auth(ADMIN), json=body).status_code == 204
    assert client.post(REASSIGN, headers=auth(ADMIN), json=body).status_code == 204
    assert count(engine, IdempotencyRecord) == 0


def test_expired_records_are_swept_by_any_later_claim(
    client: TestClient, engine: Engine, admins: None
) -> None:
    for key in ("one", "two"):
        assert client.post(REFRESH, headers=keyed(key), json=GENERATE).status_code == 200
    with begin(engine, write=True) as conn:
        conn.execute(update(IdempotencyRecord).values(created=datetime(2020, 1, 1)))
    assert count(engine, IdempotencyRecord) == 2
    other = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "johnny"}],
    }
    assert client.post(REFRESH, headers=keyed("three"), json=other).status_code == 200
    with engine.connect() as conn:
        assert list(conn.execute(select(IdempotencyRecord.key)).scalars()) == ["three"]
