"""The fast path (api/fast_path.py) answers exactly as the routes do: both are built from one declaration
per operation (api/operations.py) and carry requests out with the same ``perform``.

Two apps share one database: one with the fast path (the default), one with ``fast_lane=False``. Each
request is sent to both in turn. Every request here is one whose repetition changes nothing (a
reassignment repeated, an explicit room ID set again, a refusal), so the two answers must be identical
but for the tracking ID, and the fast path's counters show which requests it answered and which it
handed on to the route.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine, func, select

from meetadmin.api.operations import Headers, Operation
from meetadmin.api.reassign import REASSIGN_HOST
from meetadmin.api.responses import json_response
from meetadmin.app import create_app
from meetadmin.errors import BadRequest
from meetadmin.settings import Settings
from meetadmin.store.models import AuditEvent
from tests import conformance
from tests.worlds import ADMIN, JOHN, LIVE, OTHER_SITE, PLANNING, SITE, UNKNOWN, WEBINAR, auth

REASSIGN = "/v1/meetings/reassignHost"
REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
NAMES = {REASSIGN: "reassignHost", REFRESH: "refreshPersonalMeetingRoomId"}


def _no_weekend_host(principal: Any, headers: Headers, body: Any) -> Any:
    """A test-only rule added to reassignHost's checks."""
    if body.hostEmail.startswith("weekend"):
        raise BadRequest("Test rule: no weekend hosts.")
    return REASSIGN_HOST.check(principal, headers, body)


# reassignHost with one more check, declared once as a test-only operation of its own
STRICT = dataclasses.replace(
    REASSIGN_HOST, name="strictReassignHost", path="/test/strictReassignHost", check=_no_weekend_host
)


class Word(BaseModel):
    word: str


def _check_word(_principal: Any, _headers: Headers, body: Word) -> str:
    if body.word == "forbidden":
        raise BadRequest("That word is refused by the test operation's check.")
    return body.word


ECHO = Operation(
    name="testEcho",
    method="POST",
    path="/test/echo",
    summary="echo",
    model=Word,
    check=_check_word,
    work=lambda _conn, word, _tid: word.upper(),
    answer=lambda word: json_response({"word": word}),
    write=False,
)


def counts(client: TestClient) -> Counter[str]:
    found: Counter[str] = client.app.state.fast_path_counts  # type: ignore[attr-defined]
    return found


@pytest.fixture
def clients(engine: Engine, database_url: str, world: Any) -> Iterator[tuple[TestClient, TestClient]]:
    extra = [STRICT, ECHO]
    with_lane = create_app(Settings(database_url=database_url), engine=engine, extra=extra)
    without = create_app(Settings(database_url=database_url, fast_lane=False), engine=engine, extra=extra)
    with (
        TestClient(with_lane, raise_server_exceptions=False) as lane,
        TestClient(without, raise_server_exceptions=False) as routes,
    ):
        conformance.install(lane)
        conformance.install(routes)
        yield lane, routes


def answer(response: Any) -> tuple[int, Any, str | None]:
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body.pop("trackingId", None)
    return response.status_code, body, response.headers.get("content-type")


def both(clients: tuple[TestClient, TestClient], path: str, **kwargs: Any) -> tuple[Any, Any]:
    lane, routes = clients
    return lane.post(path, **kwargs), routes.post(path, **kwargs)


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def reassign_body(host: str, ids: list[str]) -> dict[str, Any]:
    return {"hostEmail": host, "meetingIds": ids}


def test_successes_are_answered_by_the_fast_path_exactly_as_by_the_route(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    sent = [
        (REASSIGN, reassign_body(JOHN_EMAIL, [PLANNING]), 204),
        (REASSIGN, reassign_body(JOHN_EMAIL, [WEBINAR, LIVE, UNKNOWN, OTHER_SITE]), 207),
        (
            REFRESH,
            {
                "siteUrl": SITE,
                "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "personalMeetingRoomId": "jx1"}],
            },
            200,
        ),
    ]
    for path, body, status in sent:
        lane, routes = both(clients, path, headers=auth(ADMIN), json=body)
        assert lane.status_code == status, lane.text
        assert answer(lane) == answer(routes)
        assert lane.headers["trackingid"] and routes.headers["trackingid"]
    assert counts(clients[0]) == {"reassignHost": 2, "refreshPersonalMeetingRoomId": 1}
    assert counts(clients[1]) == {}
    # the fast path's work is audited like the route's, under the response's tracking ID
    tracked = clients[0].post(REASSIGN, headers=auth(ADMIN), json=reassign_body(MARCUS_EMAIL, [PLANNING]))
    assert tracked.status_code == 204
    with engine.connect() as conn:
        ids = conn.execute(select(AuditEvent.tracking_id).where(AuditEvent.target_id == PLANNING)).scalars()
        assert tracked.headers["trackingid"] in set(ids)


REFUSED = [
    # refused by the checks or the work: the fast path answers (the work rolled back) as the route does
    (REASSIGN, {"json": reassign_body("nobody@example.com", [PLANNING])}, 403, True),
    (
        REASSIGN,
        {"json": reassign_body(JOHN_EMAIL, [PLANNING]), "headers": {"siteUrl": "nope.webex.com"}},
        400,
        True,
    ),
    (
        REFRESH,
        {
            "json": {
                "siteUrl": SITE,
                "personalMeetingRoomIds": [{"email": "nobody@example.com", "systemGenerated": True}],
            }
        },
        400,
        True,
    ),
    # refused by the operation's check, before any work: the fast path answers
    (REASSIGN, {"json": reassign_body(JOHN_EMAIL, [PLANNING, PLANNING])}, 400, True),
    (
        REFRESH,
        {
            "json": {
                "siteUrl": SITE,
                "personalMeetingRoomIds": [
                    {"email": JOHN_EMAIL, "systemGenerated": True},
                    {"personId": "x", "systemGenerated": True},
                ],
            }
        },
        400,
        True,
    ),
    (REFRESH, {"json": {"siteUrl": " ", "personalMeetingRoomIds": [{"email": JOHN_EMAIL}]}}, 400, True),
    (
        REASSIGN,
        {"json": reassign_body(JOHN_EMAIL, [PLANNING]), "headers": {"Authorization": "Bearer unknown"}},
        401,
        True,
    ),
    (
        REASSIGN,
        {"json": reassign_body(JOHN_EMAIL, [PLANNING]), "headers": {"Authorization": f"Bearer {JOHN}"}},
        403,
        True,
    ),
    # handed on: the route's parsing words these (the model refuses the body, or it is not JSON)
    (REASSIGN, {"json": {"hostEmail": JOHN_EMAIL, "meetingIds": []}}, 400, False),
    (REASSIGN, {"json": {"hostEmail": 7, "meetingIds": [PLANNING]}}, 400, False),
    (
        REASSIGN,
        {
            "content": b'{"hostEmail": "x@y.z", "meetingIds": ["a"',
            "headers": {"Content-Type": "application/json"},
        },
        400,
        False,
    ),
    (
        REFRESH,
        {"json": {"siteUrl": SITE, "personalMeetingRoomIds": [{"email": JOHN_EMAIL}] * 101}},
        400,
        False,
    ),
    # refused by the gate in front of both: neither path sees it
    (REASSIGN, {"content": b"hostEmail=x", "headers": {"Content-Type": "text/plain"}}, 415, None),
]


@pytest.mark.parametrize(("path", "kwargs", "status", "fast"), REFUSED)
def test_refusals_get_the_routes_answer_and_change_nothing(
    clients: tuple[TestClient, TestClient],
    engine: Engine,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    fast: bool | None,
) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    headers = {**auth(ADMIN), **kwargs.pop("headers", {})}
    before = audit_count(engine)
    lane, routes = both(clients, path, headers=headers, **kwargs)
    assert lane.status_code == status, lane.text
    assert answer(lane) == answer(routes)
    assert lane.json()["trackingId"] == lane.headers["trackingid"]
    assert audit_count(engine) == before
    name = NAMES[path]
    assert counts(clients[0])[name] == (1 if fast else 0)
    assert counts(clients[0])[name + " handed on"] == (1 if fast is False else 0)


def test_keyed_requests_are_answered_by_both_paths_alike(clients: tuple[TestClient, TestClient]) -> None:
    """One Idempotency-Key record for both paths: a key first used on one is replayed by the other."""
    lane, routes = clients
    headers = {**auth(ADMIN), "Idempotency-Key": "offboard-1"}
    first = lane.post(REASSIGN, headers=headers, json=reassign_body(JOHN_EMAIL, [PLANNING]))
    again = routes.post(REASSIGN, headers=headers, json=reassign_body(JOHN_EMAIL, [PLANNING]))
    third = lane.post(REASSIGN, headers=headers, json=reassign_body(JOHN_EMAIL, [PLANNING]))
    assert (first.status_code, again.status_code, third.status_code) == (204, 204, 204)
    assert "idempotent-replayed" not in first.headers
    assert again.headers.get("idempotent-replayed") == third.headers.get("idempotent-replayed") == "true"
    other = lane.post(REASSIGN, headers=headers, json=reassign_body(MARCUS_EMAIL, [PLANNING]))
    on_route = routes.post(REASSIGN, headers=headers, json=reassign_body(MARCUS_EMAIL, [PLANNING]))
    assert other.status_code == on_route.status_code == 409
    assert answer(other) == answer(on_route)
    assert counts(lane)["reassignHost"] == 3


def test_json_only_the_route_reads_goes_to_the_route(clients: tuple[TestClient, TestClient]) -> None:
    # Python's json reads NaN (here in a field the model ignores); the lane's stricter parser does not
    body = b'{"hostEmail": "john.andersen@example.com", "meetingIds": ["%s"], "x": NaN}' % PLANNING.encode()
    headers = {**auth(ADMIN), "Content-Type": "application/json"}
    lane, routes = both(clients, REASSIGN, headers=headers, content=body)
    assert lane.status_code == 204, lane.text
    assert answer(lane) == answer(routes)
    assert counts(clients[0]) == {"reassignHost handed on": 1}


@pytest.mark.parametrize("host", ["weekend.host@example.com", JOHN_EMAIL])
def test_a_check_added_to_an_operation_reaches_both_paths(
    clients: tuple[TestClient, TestClient], engine: Engine, host: str
) -> None:
    """reassignHost with an extra check, declared once: its route and the fast path both apply it."""
    before = audit_count(engine)
    lane, routes = both(
        clients, "/v1/test/strictReassignHost", headers=auth(ADMIN), json=reassign_body(host, [PLANNING])
    )
    assert answer(lane) == answer(routes)
    if host.startswith("weekend"):
        assert lane.status_code == 400
        assert lane.json()["errors"] == [{"description": "Test rule: no weekend hosts."}]
        assert audit_count(engine) == before
    else:
        assert lane.status_code == 204
    assert counts(clients[0]) == {"strictReassignHost": 1}
    assert counts(clients[1]) == {}


def test_a_test_operation_is_one_declaration_for_both_paths(clients: tuple[TestClient, TestClient]) -> None:
    lane, routes = clients
    for word, status in (("hello", 200), ("forbidden", 400)):
        fast, slow = both(clients, "/v1/test/echo", headers=auth(ADMIN), json={"word": word})
        assert fast.status_code == slow.status_code == status
        assert answer(fast) == answer(slow)
    assert fast.json()["errors"][0]["description"] == "That word is refused by the test operation's check."
    assert counts(lane) == {"testEcho": 2}
    # the route is in the OpenAPI with its declared body model
    spec = routes.get("/v1/openapi.json").json()
    assert spec["paths"]["/v1/test/echo"]["post"]["operationId"] == "testEcho"
