"""The fast lane (api/fast_lane.py) answers exactly as the routes do, and takes only what it may.

Two apps share one database: one with the lane (the default), one with ``fast_lane=False``. Each request
is sent to both in turn. Every request here is one whose repetition changes nothing (a reassignment
repeated, an explicit room ID set again, a refusal), so the two answers must be identical but for the
tracking ID, and the lane's own counters show which requests it answered and which it handed on.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from meetadmin.api import fast_lane
from meetadmin.app import create_app
from meetadmin.settings import Settings
from meetadmin.store.models import AuditEvent
from tests import conformance
from tests.worlds import ADMIN, JOHN, LIVE, OTHER_SITE, PLANNING, SITE, UNKNOWN, WEBINAR, auth

REASSIGN = "/v1/meetings/reassignHost"
REFRESH = "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId"
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"


@pytest.fixture
def lane_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the lane ran an operation's work, and how often that work raised (handed on)."""
    calls: Counter[str] = Counter()
    for path, lane in list(fast_lane.LANES.items()):

        def counted(*args: Any, _work: Any = lane.work, _path: str = path) -> Any:
            calls[_path] += 1
            try:
                return _work(*args)
            except Exception:
                calls[_path + " raised"] += 1
                raise

        monkeypatch.setitem(fast_lane.LANES, path, dataclasses.replace(lane, work=counted))
    return calls


@pytest.fixture
def clients(engine: Engine, database_url: str, world: Any) -> Iterator[tuple[TestClient, TestClient]]:
    with_lane = create_app(Settings(database_url=database_url), engine=engine)
    without = create_app(Settings(database_url=database_url, fast_lane=False), engine=engine)
    with (
        TestClient(with_lane, raise_server_exceptions=False) as lane,
        TestClient(without, raise_server_exceptions=False) as routes,
    ):
        conformance.install(lane)
        conformance.install(routes)
        for c in (lane, routes):  # a first request caches the token (the lane only takes cached ones)
            assert c.get("/v1/meetingPreferences/sites", headers=auth(ADMIN)).status_code == 200
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


def test_successes_are_answered_by_the_lane_exactly_as_by_the_route(
    clients: tuple[TestClient, TestClient], engine: Engine, lane_calls: Counter[str]
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
    assert lane_calls == {REASSIGN: 2, REFRESH: 1}
    # the lane's work is audited like the route's, under the response's tracking ID
    tracked = clients[0].post(REASSIGN, headers=auth(ADMIN), json=reassign_body(MARCUS_EMAIL, [PLANNING]))
    assert tracked.status_code == 204
    with engine.connect() as conn:
        ids = conn.execute(select(AuditEvent.tracking_id).where(AuditEvent.target_id == PLANNING)).scalars()
        assert tracked.headers["trackingid"] in set(ids)


REFUSED = [
    # refused by the work itself: the lane ran it, it raised and rolled back, the route answered
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
    # never taken by the lane: the route must look at these (the last ones are refused by the
    # lane's check, before any work)
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
    (REASSIGN, {"content": b"hostEmail=x", "headers": {"Content-Type": "text/plain"}}, 415, False),
    (
        REASSIGN,
        {"json": reassign_body(JOHN_EMAIL, [PLANNING]), "headers": {"Authorization": "Bearer unknown"}},
        401,
        False,
    ),
    (
        REASSIGN,
        {"json": reassign_body(JOHN_EMAIL, [PLANNING]), "headers": {"Authorization": f"Bearer {JOHN}"}},
        403,
        False,
    ),
    (
        REFRESH,
        {"json": {"siteUrl": SITE, "personalMeetingRoomIds": [{"email": JOHN_EMAIL}] * 101}},
        400,
        False,
    ),
    (REASSIGN, {"json": reassign_body(JOHN_EMAIL, [PLANNING, PLANNING])}, 400, False),
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
        False,
    ),
    (REFRESH, {"json": {"siteUrl": " ", "personalMeetingRoomIds": [{"email": JOHN_EMAIL}]}}, 400, False),
]


@pytest.mark.parametrize(("path", "kwargs", "status", "lane_ran"), REFUSED)
def test_refusals_get_the_routes_answer_and_change_nothing(
    clients: tuple[TestClient, TestClient],
    engine: Engine,
    lane_calls: Counter[str],
    path: str,
    kwargs: dict[str, Any],
    status: int,
    lane_ran: bool,
) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    headers = {**auth(ADMIN), **kwargs.pop("headers", {})}
    before = audit_count(engine)
    lane, routes = both(clients, path, headers=headers, **kwargs)
    assert lane.status_code == status, lane.text
    assert answer(lane) == answer(routes)
    assert lane.json()["trackingId"] == lane.headers["trackingid"]
    assert audit_count(engine) == before
    assert lane_calls[path] == (1 if lane_ran else 0)
    assert lane_calls[path + " raised"] == (1 if lane_ran else 0)


def test_keyed_requests_stay_on_the_route(
    clients: tuple[TestClient, TestClient], lane_calls: Counter[str]
) -> None:
    lane = clients[0]
    headers = {**auth(ADMIN), "Idempotency-Key": "offboard-1"}
    first = lane.post(REASSIGN, headers=headers, json=reassign_body(JOHN_EMAIL, [PLANNING]))
    again = lane.post(REASSIGN, headers=headers, json=reassign_body(JOHN_EMAIL, [PLANNING]))
    assert (first.status_code, again.status_code) == (204, 204)
    assert again.headers.get("idempotent-replayed") == "true"
    assert lane_calls[REASSIGN] == 0


def test_json_only_the_route_reads_goes_to_the_route(
    clients: tuple[TestClient, TestClient], lane_calls: Counter[str]
) -> None:
    # Python's json reads NaN (here in a field the model ignores); the lane's stricter parser does not
    body = b'{"hostEmail": "john.andersen@example.com", "meetingIds": ["%s"], "x": NaN}' % PLANNING.encode()
    headers = {**auth(ADMIN), "Content-Type": "application/json"}
    lane, routes = both(clients, REASSIGN, headers=headers, content=body)
    assert lane.status_code == 204, lane.text
    assert answer(lane) == answer(routes)
    assert lane_calls[REASSIGN] == 0
