"""Rate limits per token (contract-notes §8.4, §1.4): in one process, and across processes through Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from meetadmin.app import create_app
from meetadmin.control.rate_limits import MESSAGE, parse_limit, retry_after_seconds
from meetadmin.settings import Settings
from tests import conformance
from tests.live import REDIS_URL, redis_prefix, serving
from tests.test_client import host_of
from tests.worlds import ADMIN, JOHN, PLANNING, auth

CONTROL = "control-s3cret"
CTL = {"Authorization": f"Bearer {CONTROL}"}
SITES = "/v1/meetingPreferences/sites"


def make_client(engine: Engine, database_url: str, **settings: Any) -> TestClient:
    app = create_app(Settings(database_url=database_url, control_token=CONTROL, **settings), engine=engine)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def limited(engine: Engine, database_url: str, world: dict[str, Any]) -> Iterator[TestClient]:
    with make_client(engine, database_url, rate_limit="2/2") as c:
        conformance.install(c)
        yield c


def test_limit_forms() -> None:
    assert parse_limit("10/1") == parse_limit(" 10 / 1 ")
    assert parse_limit("off") is None and parse_limit(None) is None
    for bad in ("10", "0/1", "1/0", "ten/1", "-1/1"):
        with pytest.raises(ValueError):
            parse_limit(bad)
    with pytest.raises(ValueError):
        Settings(rate_limit="lots")
    assert retry_after_seconds(100.2, 100.0) == 1
    assert retry_after_seconds(101.0, 100.0) == 2  # strictly after the window's end
    assert retry_after_seconds(99.0, 100.0) == 1


def test_over_the_limit_is_a_webex_429_and_retry_after_is_right(limited: TestClient, engine: Engine) -> None:
    assert limited.get(SITES, headers=auth(ADMIN)).status_code == 200
    body = {"hostEmail": "john.andersen@example.com", "meetingIds": [PLANNING]}
    assert limited.post("/v1/meetings/reassignHost", headers=auth(ADMIN), json=body).status_code == 204
    refused = limited.get(SITES, headers=auth(ADMIN))
    assert refused.status_code == 429
    assert refused.json() == {
        "message": MESSAGE,
        "errors": [{"description": "At most 2 requests per 2 s per token."}],
        "trackingId": refused.headers["TrackingID"],
    }
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 2
    # the fast lane's operation is limited too, and a refused request changes nothing
    back = {"hostEmail": "marcus.hoffmann@example.com", "meetingIds": [PLANNING]}
    assert limited.post("/v1/meetings/reassignHost", headers=auth(ADMIN), json=back).status_code == 429
    assert host_of(engine, PLANNING) == "john.andersen@example.com"
    time.sleep(wait)
    assert limited.get(SITES, headers=auth(ADMIN)).status_code == 200


def test_limits_are_per_token_and_requests_without_a_token_are_not_limited(
    engine: Engine, database_url: str, world: Any
) -> None:
    with make_client(engine, database_url, rate_limit="2/600") as limited:
        _per_token(limited)


def _per_token(limited: TestClient) -> None:
    assert [limited.get(SITES, headers=auth(ADMIN)).status_code for _ in range(3)] == [200, 200, 429]
    assert limited.get(SITES, headers=auth(JOHN)).status_code == 200  # another token, its own count
    assert [limited.get(SITES).status_code for _ in range(4)] == [401] * 4
    assert limited.get("/health").status_code == 200
    assert limited.get("/_meetadmin/rate-limits", headers=CTL).status_code == 200  # not /v1


def test_set_at_run_time_and_off_again(engine: Engine, database_url: str, world: Any) -> None:
    with make_client(engine, database_url) as client:
        start = client.get("/_meetadmin/rate-limits", headers=CTL).json()
        assert start == {"requests": None, "perSeconds": None, "sharedAcrossProcesses": False}
        assert [client.get(SITES, headers=auth(ADMIN)).status_code for _ in range(5)] == [200] * 5
        put = client.put("/_meetadmin/rate-limits", headers=CTL, json={"requests": 3, "perSeconds": 60})
        assert put.status_code == 200 and put.json()["requests"] == 3 and put.json()["perSeconds"] == 60
        assert client.get("/_meetadmin/rate-limits", headers=CTL).json()["requests"] == 3
        statuses = [client.get(SITES, headers=auth(ADMIN)).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        off = client.put("/_meetadmin/rate-limits", headers=CTL, json={"requests": None})
        assert off.status_code == 200 and off.json()["requests"] is None
        assert [client.get(SITES, headers=auth(ADMIN)).status_code for _ in range(5)] == [200] * 5
        # the same limit set again counts from nothing: a test is not refused for an earlier test's calls
        for _ in range(2):
            client.put("/_meetadmin/rate-limits", headers=CTL, json={"requests": 1, "perSeconds": 60})
            assert [client.get(SITES, headers=auth(ADMIN)).status_code for _ in range(2)] == [200, 429]


@pytest.mark.parametrize(
    "body",
    [
        {"requests": 3},
        {"requests": 0, "perSeconds": 1},
        {"requests": 3, "perSeconds": 0},
        {"requests": "3", "perSeconds": 1},
        {"perSeconds": 1},
        {"requests": 3, "perSeconds": 1, "burst": 2},
        None,
    ],
)
def test_invalid_settings_are_a_clear_400(limited: TestClient, body: Any) -> None:
    answer = limited.put("/_meetadmin/rate-limits", headers=CTL, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["description"]
    assert limited.get("/_meetadmin/rate-limits", headers=CTL).json()["requests"] == 2


def _burst(bases: list[str], count: int) -> list[tuple[float, float, str, httpx.Response]]:
    """``count`` requests alternating over ``bases``: (sent, answered, base, response) each."""
    out = []
    with httpx.Client(timeout=30) as http:
        for i in range(count):
            base = bases[i % len(bases)]
            sent = time.monotonic()
            response = http.get(f"{base}{SITES}", headers=auth(ADMIN))
            out.append((sent, time.monotonic(), base, response))
    return out


def test_two_server_processes_share_the_limit_through_redis(database_url: str, world: Any) -> None:
    settings = {
        "redis_url": REDIS_URL,
        "redis_prefix": redis_prefix(),
        "rate_limit": "4/2",
        "control_token": CONTROL,
    }
    with serving(database_url, **settings) as one, serving(database_url, **settings) as two:
        answers = _burst([one, two], 24)
        passed = [(sent, done) for sent, done, _base, r in answers if r.status_code == 200]
        refused = [r for _sent, _done, _base, r in answers if r.status_code == 429]
        assert len(passed) + len(refused) == 24
        # no 2 s window holds more than 4 passes over both processes: the 5th pass after any pass was
        # answered more than 2 s after that one was sent (a per-process count would let 8 through)
        for i in range(len(passed) - 4):
            assert passed[i + 4][1] - passed[i][0] > 2
        assert {base for _s, _d, base, r in answers if r.status_code == 429} == {one, two}
        for r in refused:
            assert r.json()["message"] == MESSAGE and int(r.headers["Retry-After"]) >= 1

        # a limit set at run time on one process holds on the other too
        put = httpx.put(f"{one}/_meetadmin/rate-limits", headers=CTL, json={"requests": 3, "perSeconds": 600})
        assert put.json() == {"requests": 3, "perSeconds": 600, "sharedAcrossProcesses": True}
        assert httpx.get(f"{two}/_meetadmin/rate-limits", headers=CTL).json()["requests"] == 3
        statuses = [r.status_code for _s, _d, _b, r in _burst([two, one], 8)]
        assert statuses.count(200) == 3 and statuses.count(429) == 5
        off = httpx.put(f"{two}/_meetadmin/rate-limits", headers=CTL, json={"requests": None})
        assert off.json()["requests"] is None
        assert httpx.get(f"{one}/_meetadmin/rate-limits", headers=CTL).json()["requests"] is None
        assert [r.status_code for _s, _d, _b, r in _burst([one, two], 6)] == [200] * 6


def test_redis_counts_in_one_process_too(engine: Engine, database_url: str, world: Any) -> None:
    with make_client(
        engine, database_url, rate_limit="2/2", redis_url=REDIS_URL, redis_prefix=redis_prefix()
    ) as client:
        assert client.get("/_meetadmin/rate-limits", headers=CTL).json()["sharedAcrossProcesses"] is True
        statuses = [client.get(SITES, headers=auth(ADMIN)) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        wait = int(statuses[2].headers["Retry-After"])
        assert 1 <= wait <= 2
        time.sleep(wait)
        assert client.get(SITES, headers=auth(ADMIN)).status_code == 200
