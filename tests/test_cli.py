"""The meetadmin command: load, token create, serve and demo, run for real."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from meetadmin.cli import app
from meetadmin.store.models import MeetingSeries
from tests.worlds import PLANNING, example_world

MEETADMIN = str(Path(sys.executable).with_name("meetadmin"))
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[str]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise AssertionError("server exited early")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(example_world()))
    return path


def test_load_reports_what_it_loaded(database_url: str, fixture_file: Path, engine: Engine) -> None:
    result = runner.invoke(app, ["load", str(fixture_file), "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "loaded organisation 'example'" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MeetingSeries)).scalar_one() == 12


def test_load_errors_are_one_clear_line_and_exit_1(database_url: str, tmp_path: Path) -> None:
    doc = example_world()
    doc["meetings"][0]["colour"] = "red"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    result = runner.invoke(app, ["load", str(bad), "--database-url", database_url])
    assert result.exit_code == 1
    assert "bad.yaml: meetings[0]" in result.output and "key 'colour'" in result.output
    assert "Traceback" not in result.output


def test_token_create_prints_a_working_token_once(
    database_url: str, fixture_file: Path, client: object
) -> None:
    assert runner.invoke(app, ["load", str(fixture_file), "--database-url", database_url]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "token",
            "create",
            "--person",
            "admin@example.com",
            "--scope",
            "meeting:admin_schedule_read",
            "--database-url",
            database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("ma_")
    assert isinstance(client, httpx.Client)
    r = client.get(f"/v1/meetings/{PLANNING}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    unknown = runner.invoke(
        app,
        ["token", "create", "--person", "ghost@example.com", "--scope", "x", "--database-url", database_url],
    )
    assert unknown.exit_code == 1 and "no person" in unknown.output
    missing = runner.invoke(
        app, ["token", "create", "--person", "admin@example.com", "--database-url", database_url]
    )
    assert missing.exit_code == 1 and "--scope" in missing.output


@contextmanager
def serving(*args: str) -> Iterator[int]:
    """``meetadmin serve`` as a real process on a free port (its output goes to a log file)."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [MEETADMIN, "serve", "--port", str(port), *args], stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_healthy(port, proc)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture
def server(database_url: str, fixture_file: Path) -> Iterator[int]:
    with serving("--database-url", database_url, "--fixture", str(fixture_file)) as port:
        yield port


def test_serve_loads_fixtures_and_answers_over_http(server: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server}/v1") as http:
        r = http.post(
            "/meetings/reassignHost",
            headers={"Authorization": "Bearer example-admin-token"},
            json={"hostEmail": "john.andersen@example.com", "meetingIds": [PLANNING]},
        )
        assert r.status_code == 204
        assert r.headers["trackingid"]
        got = http.get(f"/meetings/{PLANNING}", headers={"Authorization": "Bearer example-admin-token"})
        assert got.json()["hostEmail"] == "john.andersen@example.com"
        assert http.get("/nowhere").json()["message"]


def test_demo_serves_a_fresh_organisation_and_prints_a_working_curl(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [MEETADMIN, "demo", "--port", str(port), "--database", str(tmp_path / "demo.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        wait_healthy(port, proc)
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    token = re.search(r"ma_[A-Za-z0-9_\-]+", output)
    assert token, output
    assert re.search(r"Control token \(/_meetadmin, meetadmin control \.\.\.\): [A-Za-z0-9_\-]{24,}", output)
    assert f"curl -i -X POST http://127.0.0.1:{port}/v1/meetings/reassignHost" in output
    # the printed token is an admin token of the demo organisation; serve the same file to use it
    with serving("--database-url", f"sqlite:///{tmp_path / 'demo.db'}") as port:
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/meetings/reassignHost",
            headers={"Authorization": f"Bearer {token.group(0)}"},
            json={
                "hostEmail": "john.andersen@example.com",
                "meetingIds": ["870f51ff287b41be84648412901e0402", "41be84640b711b8414a4a205042ebba9"],
            },
        )
        assert r.status_code == 204, r.text
