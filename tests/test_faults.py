"""Fault rules of the control plane (contract-notes §8.4) through the real app and database."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from meetadmin.app import create_app
from meetadmin.control.faults import MESSAGES
from meetadmin.settings import Settings
from meetadmin.store.models import AuditEvent
from tests import conformance
from tests.test_client import host_of
from tests.worlds import ADMIN, PLANNING, SITE, WEBINAR, auth

CONTROL = "control-s3cret"
CTL = {"Authorization": f"Bearer {CONTROL}"}
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
REASSIGN = "/v1/meetings/reassignHost"


def make_client(engine: Engine, database_url: str, **settings: Any) -> TestClient:
    app = create_app(Settings(database_url=database_url, control_token=CONTROL, **settings), engine=engine)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def chaos(engine: Engine, database_url: str, world: dict[str, Any]) -> Iterator[TestClient]:
    with make_client(engine, database_url, fault_seed=7) as c:
        conformance.install(c)
        yield c


def add(client: TestClient, **rule: Any) -> dict[str, Any]:
    answer = client.post("/_meetadmin/faults", headers=CTL, json=rule)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def rules(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/_meetadmin/faults", headers=CTL).json()["items"]
    return items


def reassign(client: TestClient, meeting_id: str, host: str = JOHN_EMAIL, **headers: str) -> Any:
    body = {"hostEmail": host, "meetingIds": [meeting_id]}
    return client.post(REASSIGN, headers={**auth(ADMIN), **headers}, json=body)


def audit_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def sites(client: TestClient) -> Any:
    return client.get("/v1/meetingPreferences/sites", headers=auth(ADMIN))


def test_a_fault_before_the_work_changes_nothing_and_is_webex_shaped(
    chaos: TestClient, engine: Engine
) -> None:
    rule = add(chaos, method="POST", path=REASSIGN, status=503, retryAfter=7)
    assert rule["id"] and rule["hits"] == 0 and rule["phase"] == "before" and rule["probability"] == 1
    before = audit_events(engine)
    answer = reassign(chaos, PLANNING)  # a request the fast lane would take
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "7"
    body = answer.json()
    assert body["message"] == MESSAGES[503]
    assert body["message"].startswith("Service Unavailable")
    assert body["errors"][0]["description"]
    assert body["trackingId"] == answer.headers["TrackingID"]
    assert host_of(engine, PLANNING) == MARCUS_EMAIL
    assert audit_events(engine) == before
    assert rules(chaos)[0]["hits"] == 1


def test_a_fault_after_the_work_commits_it_and_a_keyed_retry_replays(
    chaos: TestClient, engine: Engine
) -> None:
    add(chaos, method="POST", path=REASSIGN, status=503, count=1, phase="after")
    before = audit_events(engine)
    first = reassign(chaos, PLANNING, **{"Idempotency-Key": "move-planning-1"})
    assert first.status_code == 503 and first.json()["message"] == MESSAGES[503]
    assert host_of(engine, PLANNING) == JOHN_EMAIL  # done and committed, though the answer said 503
    assert audit_events(engine) == before + 1
    again = reassign(chaos, PLANNING, **{"Idempotency-Key": "move-planning-1"})
    assert again.status_code == 204
    assert audit_events(engine) == before + 1  # replayed from the key's record, not done twice


def test_the_fast_path_is_covered_before_and_after_the_work(chaos: TestClient, engine: Engine) -> None:
    served = chaos.app.state.fast_path_counts  # type: ignore[attr-defined]
    add(chaos, path=REASSIGN, status=429, retryAfter=1, count=1)
    refused = reassign(chaos, WEBINAR)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert host_of(engine, WEBINAR) != JOHN_EMAIL and served["reassignHost"] == 0  # never reached it
    add(chaos, path=REASSIGN, status=502, phase="after", count=1)
    answer = reassign(chaos, WEBINAR)
    assert answer.status_code == 502 and answer.json()["message"] == MESSAGES[502]
    assert host_of(engine, WEBINAR) == JOHN_EMAIL
    assert served["reassignHost"] == 1  # the fast path did the work; the fault replaced its answer
    assert reassign(chaos, PLANNING).status_code == 204  # the rules are spent


def test_count_limits_a_rule_to_the_next_n_matching_requests(chaos: TestClient) -> None:
    add(chaos, path="/v1/meetingPreferences/sites", status=423, count=2, retryAfter=1)
    statuses = [sites(chaos).status_code for _ in range(4)]
    assert statuses == [423, 423, 200, 200]
    [listed] = rules(chaos)
    assert listed["hits"] == 2 and listed["remaining"] == 0 and listed["count"] == 2


def test_probability_draws_repeat_with_the_same_seed(engine: Engine, database_url: str, world: Any) -> None:
    expected_rng = random.Random(7)
    expected = [504 if expected_rng.random() < 0.4 else 200 for _ in range(30)]
    runs = []
    for _ in range(2):
        with make_client(engine, database_url, fault_seed=7) as client:
            add(client, path="/v1/meetingPreferences/sites", status=504, probability=0.4)
            runs.append([sites(client).status_code for _ in range(30)])
            assert rules(client)[0]["hits"] == expected.count(504)
    assert runs[0] == runs[1] == expected
    assert 0 < expected.count(504) < 30


def test_a_rule_with_latency_and_no_status_only_delays(chaos: TestClient) -> None:
    add(chaos, path="/v1/meetingPreferences/sites", latencyMs=300)
    started = time.monotonic()
    answer = sites(chaos)
    waited = time.monotonic() - started
    assert answer.status_code == 200 and answer.json()["sites"][0]["siteUrl"] == SITE
    assert waited >= 0.3  # a lower bound the server guarantees, not a speed
    assert rules(chaos)[0]["hits"] == 1


def test_globs_and_the_method_filter(chaos: TestClient) -> None:
    add(chaos, method="GET", path="/v1/meetings/*", status=500)
    got = chaos.get(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN))
    assert got.status_code == 500 and got.json()["message"] == MESSAGES[500]
    assert sites(chaos).status_code == 200  # another path
    assert reassign(chaos, PLANNING).status_code == 204  # matches the glob, but it is a POST
    exact = add(chaos, path="/v1/meetingPreferences/sites", status=429, retryAfter="rand(30),add(30)")
    limited = sites(chaos)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "rand(30),add(30)"
    assert limited.json()["message"] == MESSAGES[429]
    assert [r["hits"] for r in rules(chaos)] == [1, 1]
    assert exact["retryAfter"] == "rand(30),add(30)"


def test_delete_one_rule_clear_all_and_unknown_ids(chaos: TestClient) -> None:
    first = add(chaos, path="/v1/meetingPreferences/sites", status=503)
    add(chaos, path="/v1/people*", status=503)
    assert chaos.delete(f"/_meetadmin/faults/{first['id']}", headers=CTL).status_code == 204
    assert sites(chaos).status_code == 200
    missing = chaos.delete(f"/_meetadmin/faults/{first['id']}", headers=CTL)
    assert missing.status_code == 404 and missing.json()["trackingId"] == missing.headers["TrackingID"]
    assert len(rules(chaos)) == 1
    assert chaos.delete("/_meetadmin/faults", headers=CTL).status_code == 204
    assert rules(chaos) == []
    assert chaos.get("/v1/people", headers=auth(ADMIN)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"status": 503},  # no path
        {"path": "/meetings", "status": 503},  # not under /v1/
        {"path": "/v1/meetings"},  # neither status nor latency
        {"path": "/v1/meetings", "status": 200},
        {"path": "/v1/meetings", "status": "503"},
        {"path": "/v1/meetings", "status": 503, "probability": 1.5},
        {"path": "/v1/meetings", "status": 503, "count": 0},
        {"path": "/v1/meetings", "status": 503, "retryAfter": -1},
        {"path": "/v1/meetings", "status": 503, "retryAfter": "bad\nheader"},
        {"path": "/v1/meetings", "status": 503, "phase": "during"},
        {"path": "/v1/meetings", "status": 503, "method": "GE T"},
        {"path": "/v1/meetings", "status": 503, "colour": "red"},
        {"path": "/v1/meetings", "latencyMs": -5},
        [],
    ],
)
def test_invalid_rules_are_a_clear_400(chaos: TestClient, body: Any) -> None:
    answer = chaos.post("/_meetadmin/faults", headers=CTL, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["description"]
    assert rules(chaos) == []


def test_invalid_json_is_a_400(chaos: TestClient) -> None:
    answer = chaos.post(
        "/_meetadmin/faults", headers={**CTL, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert answer.status_code == 400 and answer.json()["message"]


def test_faults_need_the_control_token(chaos: TestClient) -> None:
    assert chaos.post("/_meetadmin/faults", json={"path": "/v1/people", "status": 503}).status_code == 401
    assert chaos.get("/_meetadmin/faults", headers=auth(ADMIN)).status_code == 401
    assert rules(chaos) == []


def test_only_v1_paths_get_faults(chaos: TestClient) -> None:
    add(chaos, path="/v1/*", status=503)
    assert chaos.get("/health").status_code == 200
    assert chaos.get("/_meetadmin/faults", headers=CTL).status_code == 200
    assert sites(chaos).status_code == 503


def test_reset_returns_to_the_start_no_rules_and_the_start_limit(
    engine: Engine, database_url: str, world: Any
) -> None:
    with make_client(engine, database_url, rate_limit="5/60") as client:
        add(client, path="/v1/*", status=503)
        client.put("/_meetadmin/rate-limits", headers=CTL, json={"requests": 1, "perSeconds": 60})
        assert client.portal is not None
        client.portal.call(client.app.state.chaos.reset)  # what POST /_meetadmin/reset calls
        assert rules(client) == []
        assert client.get("/_meetadmin/rate-limits", headers=CTL).json()["requests"] == 5
        assert sites(client).status_code == 200
