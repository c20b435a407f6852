"""POST /v1/admin/meetingPreferences/personalMeetingRoom/refreshId through the real app and database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, update

from meetadmin.domain.pmr import ROOM_ID_IN_USE, RoomIdRule
from meetadmin.store.db import begin
from meetadmin.store.models import AuditEvent, Person, PersonalRoomId
from tests.conftest import load_world
from tests.worlds import ADMIN, JOHN, SITE, auth, example_world, other_world

URL = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"
MALFORMED = (
    "The request could not be understood by the server due to malformed syntax. "
    "See 'errors' for more details."
)
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
BRENDA_EMAIL = "brenda.song@example.com"
JOHN_ROOM = "prABCD23670651"
GENERATED = re.compile(r"prABCD\d{8}")


def refresh(client: TestClient, items: list[dict[str, Any]], token: str = ADMIN, site: str = SITE) -> Any:
    return client.post(URL, headers=auth(token), json={"siteUrl": site, "personalMeetingRoomIds": items})


def room_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """Every personal room row: (email, site_id, room_id, active, released_at, reserved_until)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Person.email,
                PersonalRoomId.site_id,
                PersonalRoomId.room_id,
                PersonalRoomId.active,
                PersonalRoomId.released_at,
                PersonalRoomId.reserved_until,
            )
            .join(Person, Person.id == PersonalRoomId.person_id)
            .order_by(PersonalRoomId.room_key)
        ).all()
    return [tuple(r) for r in rows]


def active_rooms(engine: Engine) -> dict[str, str]:
    """email -> active room ID on example.webex.com."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Person.email, PersonalRoomId.room_id)
            .join(Person, Person.id == PersonalRoomId.person_id)
            .where(PersonalRoomId.active.is_(True), PersonalRoomId.site_id == _site_id(engine))
        ).all()
    return {r[0]: r[1] for r in rows}


def _site_id(engine: Engine) -> int:
    from meetadmin.store.models import Site

    with engine.connect() as conn:
        return int(conn.execute(select(Site.id).where(Site.site_url == SITE)).scalar_one())


def audit(engine: Engine) -> list[AuditEvent]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.target_name)).all())


def person_id(engine: Engine, email: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(Person.person_id).where(Person.email == email)).scalar_one())


@pytest.fixture
def snapshot(engine: Engine, world: Any) -> Iterator[Any]:
    """Asserts, after the test, that the database is exactly as before (for 4xx tests)."""
    before = (room_rows(engine), len(audit(engine)))
    yield before
    assert (room_rows(engine), len(audit(engine))) == before


@pytest.fixture
def globex_snapshot(engine: Engine, world: Any) -> Iterator[Any]:
    """The other organisation loaded too; then as ``snapshot``."""
    load_world(engine, other_world())
    before = (room_rows(engine), len(audit(engine)))
    yield before
    assert (room_rows(engine), len(audit(engine))) == before


def refused(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == MALFORMED
    assert body["trackingId"] == response.headers["trackingid"]
    errors: list[dict[str, Any]] = body["errors"]
    return errors


# --- success -------------------------------------------------------------------------------------


def test_explicit_ids_replace_the_old_ones(client: TestClient, engine: Engine, world: Any) -> None:
    old_marcus = active_rooms(engine)[MARCUS_EMAIL]
    r = refresh(
        client,
        [
            {"email": JOHN_EMAIL, "personalMeetingRoomId": "john.room"},
            {"email": MARCUS_EMAIL, "personalMeetingRoomId": "prABCD99751428"},
        ],
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert r.json() == {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [
            {
                "email": JOHN_EMAIL,
                "personId": person_id(engine, JOHN_EMAIL),
                "personalMeetingRoomId": "john.room",
            },
            {
                "email": MARCUS_EMAIL,
                "personId": person_id(engine, MARCUS_EMAIL),
                "personalMeetingRoomId": "prABCD99751428",
            },
        ],
    }
    rooms = active_rooms(engine)
    assert rooms[JOHN_EMAIL] == "john.room"
    assert rooms[MARCUS_EMAIL] == "prABCD99751428"
    # the old IDs are quarantined for their former owners
    quarantined = {r[2]: r for r in room_rows(engine) if not r[3]}
    assert set(quarantined) == {JOHN_ROOM, old_marcus}
    assert quarantined[JOHN_ROOM][0] == JOHN_EMAIL
    released, until = quarantined[JOHN_ROOM][4], quarantined[JOHN_ROOM][5]
    assert isinstance(released, datetime) and isinstance(until, datetime)
    assert until - released == timedelta(days=90)


def test_the_seed_example_by_person_id(client: TestClient, engine: Engine, world: Any) -> None:
    items = [
        {"personId": person_id(engine, JOHN_EMAIL), "personalMeetingRoomId": "prABCD23670652"},
        {"personId": person_id(engine, MARCUS_EMAIL), "personalMeetingRoomId": "prABCD99751428"},
    ]
    r = refresh(client, items)
    assert r.status_code == 200, r.text
    out = r.json()["personalMeetingRoomIds"]
    assert [(i["email"], i["personalMeetingRoomId"]) for i in out] == [
        (JOHN_EMAIL, "prABCD23670652"),
        (MARCUS_EMAIL, "prABCD99751428"),
    ]
    assert active_rooms(engine)[JOHN_EMAIL] == "prABCD23670652"


def test_items_may_carry_both_identifiers_when_they_agree(
    client: TestClient, engine: Engine, world: Any
) -> None:
    items = [{"email": JOHN_EMAIL, "personId": person_id(engine, JOHN_EMAIL), "personalMeetingRoomId": "abc"}]
    assert refresh(client, items).status_code == 200
    bad = [{"email": JOHN_EMAIL, "personId": person_id(engine, MARCUS_EMAIL), "personalMeetingRoomId": "abd"}]
    errors = refused(refresh(client, bad))
    assert len(errors) == 1 and "not a user of your organisation" in errors[0]["description"]


def test_system_generated_ids_follow_the_site_rule(client: TestClient, engine: Engine, world: Any) -> None:
    before = active_rooms(engine)
    items = [{"email": e, "systemGenerated": True} for e in (JOHN_EMAIL, MARCUS_EMAIL, "mconly@example.com")]
    r = refresh(client, items)
    assert r.status_code == 200, r.text
    out = [i["personalMeetingRoomId"] for i in r.json()["personalMeetingRoomIds"]]
    assert all(GENERATED.fullmatch(x) for x in out)
    assert len(set(out)) == 3
    after = active_rooms(engine)
    for email, new in zip((JOHN_EMAIL, MARCUS_EMAIL, "mconly@example.com"), out, strict=True):
        assert after[email] == new != before[email]


def test_other_site_uses_its_own_rule(client: TestClient, engine: Engine, world: Any) -> None:
    r = refresh(client, [{"email": JOHN_EMAIL, "systemGenerated": True}], site="OTHER.webex.com")
    assert r.status_code == 200, r.text
    assert r.json()["siteUrl"] == "other.webex.com"
    assert re.fullmatch(r"otOTHR\d{8}", r.json()["personalMeetingRoomIds"][0]["personalMeetingRoomId"])
    assert active_rooms(engine)[JOHN_EMAIL] == JOHN_ROOM  # example.webex.com untouched


def test_keeping_the_current_id_is_a_harmless_no_op(client: TestClient, engine: Engine, world: Any) -> None:
    before = room_rows(engine)
    r = refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": JOHN_ROOM}])
    assert r.status_code == 200
    assert r.json()["personalMeetingRoomIds"][0]["personalMeetingRoomId"] == JOHN_ROOM
    assert room_rows(engine) == before
    assert audit(engine) == []


def test_a_new_spelling_of_the_current_id_changes_only_its_case(
    client: TestClient, engine: Engine, world: Any
) -> None:
    r = refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": "PRabcd23670651"}])
    assert r.status_code == 200
    assert active_rooms(engine)[JOHN_EMAIL] == "PRabcd23670651"
    assert [row for row in room_rows(engine) if not row[3]] == []  # nothing quarantined


def test_emails_are_matched_regardless_of_case(client: TestClient, engine: Engine, world: Any) -> None:
    r = refresh(client, [{"email": " John.Andersen@EXAMPLE.com", "personalMeetingRoomId": "abc"}])
    assert r.status_code == 200
    assert r.json()["personalMeetingRoomIds"][0]["email"] == JOHN_EMAIL


def test_each_change_writes_an_audit_event(client: TestClient, engine: Engine, world: Any) -> None:
    old_marcus = active_rooms(engine)[MARCUS_EMAIL]
    r = refresh(
        client,
        [
            {"email": JOHN_EMAIL, "personalMeetingRoomId": JOHN_ROOM},  # no-op: no event
            {"email": MARCUS_EMAIL, "personalMeetingRoomId": "marcus-room"},
        ],
    )
    assert r.status_code == 200
    events = audit(engine)
    assert len(events) == 1
    e = events[0]
    with engine.connect() as conn:
        admin_key = conn.execute(select(Person.id).where(Person.email == "admin@example.com")).scalar_one()
    assert (e.category, e.action, e.actor_id, e.org_id) == (
        "MEETING_PREFERENCES",
        "refreshPersonalMeetingRoomId",
        admin_key,
        "example",
    )
    assert (e.target_type, e.target_id, e.target_name) == (
        "PERSON",
        person_id(engine, MARCUS_EMAIL),
        MARCUS_EMAIL,
    )
    assert e.tracking_id == r.headers["trackingid"]
    assert e.data["oldPersonalMeetingRoomId"] == old_marcus
    assert e.data["newPersonalMeetingRoomId"] == "marcus-room"
    assert e.data["siteUrl"] == SITE


# --- quarantine ------------------------------------------------------------------------------------


def test_a_given_up_id_is_reserved_to_its_former_owner(
    client: TestClient, engine: Engine, world: Any
) -> None:
    assert refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john-new"}]).status_code == 200
    before = room_rows(engine)
    errors = refused(refresh(client, [{"email": MARCUS_EMAIL, "personalMeetingRoomId": JOHN_ROOM.upper()}]))
    assert errors == [
        {"description": ROOM_ID_IN_USE, "email": MARCUS_EMAIL, "personalMeetingRoomId": JOHN_ROOM.upper()}
    ]
    assert room_rows(engine) == before
    # ... but John may take it back: the old row is active again and john-new is quarantined
    r = refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": JOHN_ROOM}])
    assert r.status_code == 200
    rows = {row[2]: row for row in room_rows(engine) if row[0] == JOHN_EMAIL and row[1] == _site_id(engine)}
    assert set(rows) == {JOHN_ROOM, "john-new"}
    assert rows[JOHN_ROOM][3:] == (True, None, None)
    assert rows["john-new"][3] is False and rows["john-new"][5] is not None


def test_several_people_take_back_their_own_ids_in_one_request(
    client: TestClient, engine: Engine, world: Any
) -> None:
    """Each row taken back gets its own ID, spelled as now given (one statement for all of them)."""
    before = active_rooms(engine)
    items = [
        {"email": JOHN_EMAIL, "personalMeetingRoomId": "john-new"},
        {"email": MARCUS_EMAIL, "personalMeetingRoomId": "marcus-new"},
    ]
    assert refresh(client, items).status_code == 200
    back = [
        {"email": JOHN_EMAIL, "personalMeetingRoomId": before[JOHN_EMAIL].lower()},
        {"email": MARCUS_EMAIL, "personalMeetingRoomId": before[MARCUS_EMAIL].upper()},
    ]
    assert refresh(client, back).status_code == 200
    assert {k: v for k, v in active_rooms(engine).items() if k in (JOHN_EMAIL, MARCUS_EMAIL)} == {
        JOHN_EMAIL: before[JOHN_EMAIL].lower(),
        MARCUS_EMAIL: before[MARCUS_EMAIL].upper(),
    }
    rows = {row[2]: row for row in room_rows(engine) if row[1] == _site_id(engine)}
    assert rows["john-new"][3] is False and rows["marcus-new"][3] is False  # quarantined in turn


def test_an_expired_quarantine_frees_the_id(client: TestClient, engine: Engine, world: Any) -> None:
    assert refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john-new"}]).status_code == 200
    with begin(engine, write=True) as conn:
        conn.execute(
            update(PersonalRoomId)
            .where(PersonalRoomId.room_id == JOHN_ROOM)
            .values(reserved_until=datetime(2020, 1, 1))
        )
    r = refresh(client, [{"email": MARCUS_EMAIL, "personalMeetingRoomId": JOHN_ROOM}])
    assert r.status_code == 200, r.text
    holders = [row[0] for row in room_rows(engine) if row[2] == JOHN_ROOM]
    assert holders == [MARCUS_EMAIL]  # John's expired row was deleted


def test_the_quarantine_length_is_the_sites(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    doc["sites"][0]["pmrQuarantineDays"] = 7
    load_world(engine, doc)
    assert refresh(client, [{"email": JOHN_EMAIL, "systemGenerated": True}]).status_code == 200
    old = next(row for row in room_rows(engine) if row[2] == JOHN_ROOM)
    assert old[5] - old[4] == timedelta(days=7)


def test_swapping_two_ids_is_refused(client: TestClient, engine: Engine, snapshot: Any) -> None:
    marcus = active_rooms(engine)[MARCUS_EMAIL]
    errors = refused(
        refresh(
            client,
            [
                {"email": JOHN_EMAIL, "personalMeetingRoomId": marcus},
                {"email": MARCUS_EMAIL, "personalMeetingRoomId": JOHN_ROOM},
            ],
        )
    )
    assert [(e["description"], e["email"]) for e in errors] == [
        (ROOM_ID_IN_USE, JOHN_EMAIL),
        (ROOM_ID_IN_USE, MARCUS_EMAIL),
    ]


# --- system generation avoids every taken ID ----------------------------------------------------


def test_generation_skips_taken_reserved_and_repeated_ids(
    client: TestClient, engine: Engine, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        refresh(client, [{"email": MARCUS_EMAIL, "personalMeetingRoomId": "prABCD00000002"}]).status_code
        == 200
    )
    marcus_old = next(row[2] for row in room_rows(engine) if row[0] == MARCUS_EMAIL and not row[3])
    values = iter(
        [
            # the quick path's draw: John's own current ID, so the quick path steps back; its draw is
            # then the general path's first round
            JOHN_ROOM,  # John's own current ID: not a refresh (john)
            "prABCD00000002",  # held by Marcus (mconly)
            "prABCD00000003",  # john: ok
            marcus_old,  # quarantined for Marcus (mconly)
            "prABCD00000003",  # already chosen in this request (mconly)
            "PRABCD00000003",  # the same, other case (mconly)
            "prABCD00000004",  # mconly: ok
        ]
    )
    monkeypatch.setattr(RoomIdRule, "generate_many", lambda self, count: [next(values) for _ in range(count)])
    r = refresh(client, [{"email": e, "systemGenerated": True} for e in (JOHN_EMAIL, "mconly@example.com")])
    assert r.status_code == 200, r.text
    assert [i["personalMeetingRoomId"] for i in r.json()["personalMeetingRoomIds"]] == [
        "prABCD00000003",
        "prABCD00000004",
    ]
    assert next(values, None) is None  # every draw was used: the quick one (again), then the general ones
    john = {
        row[2]: row[3] for row in room_rows(engine) if row[0] == JOHN_EMAIL and row[1] == _site_id(engine)
    }
    assert john == {JOHN_ROOM: False, "prABCD00000003": True}  # the quick attempt left nothing behind
    assert {(e.target_name, e.data["newPersonalMeetingRoomId"]) for e in audit(engine)} == {
        (MARCUS_EMAIL, "prABCD00000002"),  # the explicit change above
        (JOHN_EMAIL, "prABCD00000003"),
        ("mconly@example.com", "prABCD00000004"),
    }


def test_the_quick_draw_is_the_general_paths_first_round(
    client: TestClient, engine: Engine, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    marcus = active_rooms(engine)[MARCUS_EMAIL]
    values = iter(["prABCD00000009", marcus, "prABCD00000004"])
    monkeypatch.setattr(RoomIdRule, "generate_many", lambda self, count: [next(values) for _ in range(count)])
    r = refresh(client, [{"email": e, "systemGenerated": True} for e in (JOHN_EMAIL, "mconly@example.com")])
    assert r.status_code == 200, r.text
    # John keeps the free ID of the undone quick attempt; only mconly, whose draw was Marcus's, draws again
    assert [i["personalMeetingRoomId"] for i in r.json()["personalMeetingRoomIds"]] == [
        "prABCD00000009",
        "prABCD00000004",
    ]
    assert next(values, None) is None
    assert active_rooms(engine)[MARCUS_EMAIL] == marcus


def test_a_generated_refresh_quarantines_and_audits_the_old_ids(
    client: TestClient, engine: Engine, world: Any
) -> None:
    before = active_rooms(engine)
    r = refresh(client, [{"email": e, "systemGenerated": True} for e in (MARCUS_EMAIL, JOHN_EMAIL)])
    assert r.status_code == 200, r.text
    new = {i["email"]: i["personalMeetingRoomId"] for i in r.json()["personalMeetingRoomIds"]}
    assert active_rooms(engine)[JOHN_EMAIL] == new[JOHN_EMAIL]
    old = [row for row in room_rows(engine) if row[2] in (before[JOHN_EMAIL], before[MARCUS_EMAIL])]
    assert len(old) == 2
    for row in old:
        assert row[3] is False and row[4] is not None
        assert row[5] - row[4] == timedelta(days=90)  # the site's quarantine
    events = audit(engine)
    assert {
        (e.target_name, e.data["oldPersonalMeetingRoomId"], e.data["newPersonalMeetingRoomId"])
        for e in events
    } == {
        (MARCUS_EMAIL, before[MARCUS_EMAIL], new[MARCUS_EMAIL]),
        (JOHN_EMAIL, before[JOHN_EMAIL], new[JOHN_EMAIL]),
    }
    assert len(events) == 2
    assert all(e.data["systemGenerated"] is True and e.tracking_id == r.headers["trackingid"] for e in events)
    errors = refused(refresh(client, [{"email": MARCUS_EMAIL, "personalMeetingRoomId": before[JOHN_EMAIL]}]))
    assert [e["description"] for e in errors] == [ROOM_ID_IN_USE]


def test_generation_may_take_an_id_whose_quarantine_ran_out(
    client: TestClient, engine: Engine, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": "john-new"}]).status_code == 200
    with begin(engine, write=True) as conn:
        conn.execute(
            update(PersonalRoomId)
            .where(PersonalRoomId.room_id == JOHN_ROOM)
            .values(reserved_until=datetime(2020, 1, 1))
        )
    monkeypatch.setattr(RoomIdRule, "generate_many", lambda self, count: [JOHN_ROOM] * count)
    r = refresh(client, [{"email": MARCUS_EMAIL, "systemGenerated": True}])
    assert r.status_code == 200, r.text
    assert r.json()["personalMeetingRoomIds"][0]["personalMeetingRoomId"] == JOHN_ROOM
    assert [row[0] for row in room_rows(engine) if row[2] == JOHN_ROOM] == [MARCUS_EMAIL]


def test_a_rule_with_no_free_ids_left_answers_409(
    client: TestClient, engine: Engine, snapshot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RoomIdRule, "generate_many", lambda self, count: [JOHN_ROOM] * count)
    r = refresh(client, [{"email": MARCUS_EMAIL, "systemGenerated": True}])
    assert r.status_code == 409
    assert "too few free IDs" in r.json()["errors"][0]["description"]


# --- 400: all or nothing, one error per problem ----------------------------------------------------


def test_the_seed_example_with_an_attendee_is_refused_whole(
    client: TestClient, engine: Engine, snapshot: Any
) -> None:
    items = [
        {"email": JOHN_EMAIL, "personalMeetingRoomId": "prABCD23670651"},
        {"email": MARCUS_EMAIL, "personalMeetingRoomId": "prABCD99751428"},
        {"email": BRENDA_EMAIL, "personalMeetingRoomId": "prABCD56290641"},
    ]
    errors = refused(refresh(client, items))
    assert errors == [
        {
            "description": f"'{BRENDA_EMAIL}' has no host privilege on {SITE}, so has no personal room.",
            "email": BRENDA_EMAIL,
            "personalMeetingRoomId": "prABCD56290641",
        }
    ]


@pytest.mark.parametrize(
    ("items", "words"),
    [
        (
            [
                {"email": JOHN_EMAIL, "personalMeetingRoomId": "a-1"},
                {"personId": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ub2JvZHk", "personalMeetingRoomId": "a-2"},
            ],
            "all by 'email' or all by 'personId'",
        ),
        (
            [
                {"email": JOHN_EMAIL, "systemGenerated": True},
                {"email": MARCUS_EMAIL, "personalMeetingRoomId": "a-2"},
            ],
            "mixes the two",
        ),
        (
            [{"email": JOHN_EMAIL, "systemGenerated": True, "personalMeetingRoomId": "a-1"}],
            "give one of them",
        ),
        ([{"email": JOHN_EMAIL}], "needs 'personalMeetingRoomId' or 'systemGenerated: true'"),
        ([{"email": JOHN_EMAIL, "systemGenerated": False}], "needs 'personalMeetingRoomId'"),
        ([{"personalMeetingRoomId": "a-1"}], "item 1 names nobody"),
        ([{"email": JOHN_EMAIL, "personalMeetingRoomId": "-bad"}], "is not a valid personal room ID"),
        ([{"email": JOHN_EMAIL, "personalMeetingRoomId": "x" * 65}], "is not a valid personal room ID"),
        (
            [{"email": "nobody@example.com", "personalMeetingRoomId": "a-1"}],
            "is not a user of your organisation",
        ),
        (
            [{"personId": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ub2JvZHk", "personalMeetingRoomId": "a-1"}],
            "is not a user of your organisation",
        ),
        (
            [
                {"email": JOHN_EMAIL, "personalMeetingRoomId": "a-1"},
                {"email": "JOHN.andersen@example.com", "personalMeetingRoomId": "a-2"},
            ],
            "is the same person as",
        ),
        (
            [
                {"email": JOHN_EMAIL, "personalMeetingRoomId": "same-id"},
                {"email": MARCUS_EMAIL, "personalMeetingRoomId": "SAME-ID"},
            ],
            "each ID can go to one person only",
        ),
        ([{"email": MARCUS_EMAIL, "personalMeetingRoomId": JOHN_ROOM.lower()}], ROOM_ID_IN_USE),
        ([{"email": BRENDA_EMAIL, "systemGenerated": True}], "has no host privilege"),
    ],
)
def test_each_rule_refuses_the_request(
    client: TestClient, engine: Engine, snapshot: Any, items: list[dict[str, Any]], words: str
) -> None:
    errors = refused(refresh(client, items))
    assert len(errors) == 1, errors
    assert words in errors[0]["description"]


def test_a_person_of_another_org_reads_like_an_unknown_one(
    client: TestClient, engine: Engine, world: Any
) -> None:
    load_world(engine, other_world())
    before = room_rows(engine)
    hank = refused(refresh(client, [{"email": "hank@globex.com", "personalMeetingRoomId": "abc"}]))
    nobody = refused(refresh(client, [{"email": "nobody@globex.com", "personalMeetingRoomId": "abc"}]))
    assert hank[0]["description"].replace("hank", "X") == nobody[0]["description"].replace("nobody", "X")
    hank_pid = person_id(engine, "hank@globex.com")
    by_pid = refused(refresh(client, [{"personId": hank_pid, "personalMeetingRoomId": "abc"}]))
    assert by_pid[0]["description"] == f"personId '{hank_pid}' is not a user of your organisation."
    assert room_rows(engine) == before


def test_an_id_held_on_another_org_site_does_not_matter(
    client: TestClient, engine: Engine, world: Any
) -> None:
    doc = other_world()
    doc["people"][1]["sites"]["globex.webex.com"]["personalMeetingRoomId"] = "shared-name"
    load_world(engine, doc)
    assert refresh(client, [{"email": JOHN_EMAIL, "personalMeetingRoomId": "shared-name"}]).status_code == 200


def test_every_problem_gets_its_own_error_naming_its_item(
    client: TestClient, engine: Engine, snapshot: Any
) -> None:
    items = [
        {"email": JOHN_EMAIL, "personalMeetingRoomId": "ok-id"},
        {"email": "nobody@example.com", "personalMeetingRoomId": "ok-id-2"},
        {"email": BRENDA_EMAIL, "personalMeetingRoomId": "ok-id-3"},
        {"email": MARCUS_EMAIL, "personalMeetingRoomId": "!"},
    ]
    errors = refused(refresh(client, items))
    assert [e["email"] for e in errors] == ["nobody@example.com", BRENDA_EMAIL, MARCUS_EMAIL]
    assert all(e["email"] in e["description"] for e in errors)


def test_ids_held_by_others_are_all_reported(client: TestClient, engine: Engine, snapshot: Any) -> None:
    marcus = active_rooms(engine)[MARCUS_EMAIL]
    items = [
        {"email": "mconly@example.com", "personalMeetingRoomId": marcus},
        {"email": "nocalling@example.com", "personalMeetingRoomId": JOHN_ROOM},
        {"email": "nolicence@example.com", "personalMeetingRoomId": "free-one"},
    ]
    errors = refused(refresh(client, items))
    assert errors == [
        {"description": ROOM_ID_IN_USE, "email": "mconly@example.com", "personalMeetingRoomId": marcus},
        {"description": ROOM_ID_IN_USE, "email": "nocalling@example.com", "personalMeetingRoomId": JOHN_ROOM},
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {"personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": True}]},
            "'siteUrl' is required",
        ),
        (
            {"siteUrl": "  ", "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": True}]},
            "siteUrl",
        ),
        ({"siteUrl": SITE}, "'personalMeetingRoomIds' is required"),
        ({"siteUrl": SITE, "personalMeetingRoomIds": []}, "personalMeetingRoomIds"),
        (
            {
                "siteUrl": SITE,
                "personalMeetingRoomIds": [
                    {"email": f"p{i}@example.com", "systemGenerated": True} for i in range(101)
                ],
            },
            "personalMeetingRoomIds",
        ),
        (
            {
                "siteUrl": "globex.webex.com",
                "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": True}],
            },
            "is not a site of your organisation",
        ),
        (
            {
                "siteUrl": "nowhere.webex.com",
                "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": True}],
            },
            "is not a site of your organisation",
        ),
        ({"siteUrl": SITE, "personalMeetingRoomIds": [{"email": 5, "systemGenerated": True}]}, "email"),
        (
            {"siteUrl": SITE, "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": "yes"}]},
            "systemGenerated",
        ),
        ({"siteUrl": SITE, "personalMeetingRoomIds": {"email": JOHN_EMAIL}}, "personalMeetingRoomIds"),
        ([], "body"),
    ],
)
def test_malformed_requests(client: TestClient, globex_snapshot: Any, body: Any, words: str) -> None:
    errors = refused(client.post(URL, headers=auth(ADMIN), json=body))
    assert any(words in e["description"] for e in errors), errors


def test_body_must_be_json(client: TestClient, snapshot: Any) -> None:
    r = client.post(URL, headers=auth(ADMIN), content=b"siteUrl=x")
    assert r.status_code == 415
    r = client.post(URL, headers={**auth(ADMIN), "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 401),
        ("no-such-token", 401),
        (JOHN, 403),
        ("example-john-pretends", 403),
        ("example-admin-readonly", 403),
    ],
)
def test_only_admins_with_the_scope_may_refresh(
    client: TestClient, snapshot: Any, token: str | None, status: int
) -> None:
    headers = auth(token) if token else {}
    r = client.post(
        URL,
        headers=headers,
        json={"siteUrl": SITE, "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": True}]},
    )
    assert r.status_code == status


def test_config_write_scope_is_enough(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    doc["tokens"].append(
        {"token": "config-writer", "person": "admin@example.com", "scopes": ["meeting:admin_config_write"]}
    )
    load_world(engine, doc)
    assert (
        refresh(client, [{"email": JOHN_EMAIL, "systemGenerated": True}], token="config-writer").status_code
        == 200
    )


# --- set-based ---------------------------------------------------------------------------------------


def test_a_hundred_items_take_a_handful_of_statements(client: TestClient, engine: Engine) -> None:
    doc = example_world()
    for i in range(100):
        doc["people"].append(
            {"email": f"host{i}@example.com", "displayName": f"Host {i}", "sites": {SITE: {"host": True}}}
        )
    load_world(engine, doc)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        explicit = refresh(
            client, [{"email": f"host{i}@example.com", "personalMeetingRoomId": f"h-{i}"} for i in range(100)]
        )
        first = len(statements)
        generated = refresh(
            client, [{"email": f"host{i}@example.com", "systemGenerated": True} for i in range(100)]
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert explicit.status_code == 200 and generated.status_code == 200
    assert first <= 20, statements
    assert len(statements) - first <= 25, statements[first:]
    rooms = active_rooms(engine)
    assert len({rooms[f"host{i}@example.com"].lower() for i in range(100)}) == 100
