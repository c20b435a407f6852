"""``meetadmin control ...`` against a live server; the bulk reassign CLI through a misbehaving sandbox."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from meetadmin.app import create_app
from meetadmin.cli import app as cli_app
from meetadmin.client import RetryPolicy, WebexClient, commands
from meetadmin.client import _reassign_job as reassign_job
from meetadmin.settings import Settings
from meetadmin.store.models import AuditEvent, MeetingSeries
from tests.conftest import load_world
from tests.live import serving
from tests.test_client import JOHN_EMAIL, MARCUS_EMAIL, host_of, many_series
from tests.worlds import ADMIN, SITE, auth, example_world

runner = CliRunner()
CONTROL = "control-s3cret"
CTL = {"Authorization": f"Bearer {CONTROL}"}


def control(*args: str, base: str, token: str = CONTROL) -> Any:
    return runner.invoke(cli_app, ["control", *args, "--base-url", base, "--control-token", token])


def test_control_commands_against_a_live_server(database_url: str, world: Any) -> None:
    with serving(database_url, "--control-token", CONTROL) as base:
        added = control(
            "faults", "add", "--path", "/v1/meetingPreferences/sites", "--status", "503",
            "--retry-after", "rand(30),add(30)", "--count", "1", base=base,
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        rule_id = added.output.strip()
        first = httpx.get(f"{base}/v1/meetingPreferences/sites", headers=auth(ADMIN))
        assert first.status_code == 503 and first.headers["Retry-After"] == "rand(30),add(30)"
        listed = control("faults", "list", base=base)
        assert listed.exit_code == 0 and rule_id in listed.output and "503" in listed.output
        [rule] = httpx.get(f"{base}/_meetadmin/faults", headers=CTL).json()["items"]
        assert rule["hits"] == 1 and rule["retryAfter"] == "rand(30),add(30)"
        number = control(
            "faults", "add", "--path", "/v1/people", "--status", "429", "--retry-after", "3", base=base
        )
        assert number.exit_code == 0, number.output
        assert httpx.get(f"{base}/v1/people", headers=auth(ADMIN)).headers["Retry-After"] == "3"
        deleted = control("faults", "delete", number.output.strip(), base=base)
        assert deleted.exit_code == 0, deleted.output
        assert control("faults", "delete", "nosuchrule", base=base).exit_code == 1
        cleared = control("faults", "clear", base=base)
        assert cleared.exit_code == 0 and httpx.get(f"{base}/_meetadmin/faults", headers=CTL).json() == {
            "items": []
        }

        limit = control("rate-limit", "set", "2/60", base=base)
        assert limit.exit_code == 0 and "2 requests per 60 s per token" in limit.output
        statuses = [httpx.get(f"{base}/v1/people", headers=auth(ADMIN)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert "2 requests per 60 s" in control("rate-limit", "show", base=base).output
        off = control("rate-limit", "set", "off", base=base)
        assert off.exit_code == 0 and "off" in off.output
        assert httpx.get(f"{base}/v1/people", headers=auth(ADMIN)).status_code == 200
        bad = control("rate-limit", "set", "many", base=base)
        assert bad.exit_code == 1 and "N/S" in bad.output
        wrong = control("faults", "list", base=base, token="not-it")
        assert wrong.exit_code == 1 and "401" in wrong.output


def test_control_commands_need_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEETADMIN_CONTROL_TOKEN", raising=False)
    result = runner.invoke(cli_app, ["control", "faults", "list"])
    assert result.exit_code == 1 and "--control-token" in result.output


@pytest.fixture
def sandbox(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with a control plane and seeded fault draws; the CLI's calls are routed to it, in batches
    of 10 (so that 500 series make 50 reassign requests, not 5)."""
    settings = Settings(database_url=database_url, control_token=CONTROL, fault_seed=2024)
    http = TestClient(
        create_app(settings, engine=engine), base_url="http://testserver", raise_server_exceptions=False
    )
    retry = RetryPolicy(attempts=8, base_wait=0.05, max_wait=2, jitter=0)
    monkeypatch.setattr(
        commands,
        "client_factory",
        lambda base, token: WebexClient(base, token, http_client=http, retry=retry),
    )
    real_batches = reassign_job.batches
    monkeypatch.setattr(reassign_job, "batches", lambda items, size=10: real_batches(items, size))
    monkeypatch.delenv("WEBEX_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("MEETADMIN_BASE_URL", raising=False)
    with http:
        yield http


def _audit_targets(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.target_id, func.count())
            .where(AuditEvent.action == "reassignHost")
            .group_by(AuditEvent.target_id)
        ).all()
    return {r[0]: r[1] for r in rows}


def test_bulk_offboarding_through_429s_503s_and_faults_after_the_work(
    tmp_path: Path, engine: Engine, sandbox: TestClient
) -> None:
    doc = example_world()
    doc["meetings"] = many_series(500)
    load_world(engine, doc)
    reassign = "/v1/meetings/reassignHost"
    rules = [
        {"method": "POST", "path": reassign, "status": 429, "retryAfter": 1, "probability": 0.1},
        {
            "method": "POST",
            "path": reassign,
            "status": 503,
            "retryAfter": "rand(30),add(30)",
            "probability": 0.12,
        },
        {"method": "POST", "path": reassign, "status": 429, "retryAfter": "soon", "probability": 0.05},
        {"method": "POST", "path": reassign, "status": 503, "phase": "after", "probability": 0.1},
    ]
    for rule in rules:
        assert sandbox.post("/_meetadmin/faults", headers=CTL, json=rule).status_code == 201
    with engine.connect() as conn:
        ids = list(conn.scalars(select(MeetingSeries.id).where(MeetingSeries.title.like("Series %"))))
    assert len(ids) == 500
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    report = tmp_path / "out.csv"
    journal = tmp_path / "journal.jsonl"
    result = runner.invoke(
        cli_app,
        [
            "reassign", "--token", ADMIN, "--base-url", "http://testserver/v1", "--from", MARCUS_EMAIL,
            "--to", JOHN_EMAIL, "--site", SITE, "--ids", str(ids_file), "--execute", "--yes",
            "--report", str(report), "--journal", str(journal),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    hits = [r["hits"] for r in sandbox.get("/_meetadmin/faults", headers=CTL).json()["items"]]
    faulted = sum(hits)
    sent = 50 + faulted  # every faulted request was sent again; the others settled their batch
    assert all(h > 0 for h in hits), hits  # each kind of fault happened, the malformed Retry-After too
    assert 0.2 <= faulted / sent <= 0.45, (faulted, sent)

    with report.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["result"] for r in rows} == {"moved"}
    assert {host_of(engine, i) for i in ids} == {JOHN_EMAIL}
    events = _audit_targets(engine)
    assert all(events.get(i) == 1 for i in ids)  # each series moved exactly once
    journal_moved = [
        m[0] for line in journal.read_text().splitlines() for m in json.loads(line).get("moved", [])
    ]
    assert set(ids) <= set(journal_moved)
