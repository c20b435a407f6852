"""``meetadmin control ...`` against live meetadmin server processes (uvicorn) on a seeded database; two
processes on one database agree on the clock and on restored state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from meetadmin.cli import app as cli_app
from tests.worlds import ADMIN, PLANNING, auth

runner = CliRunner()
TOKEN = "live-control-token"
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "MEETADMIN_DATABASE_URL": database_url, "MEETADMIN_CONTROL_TOKEN": TOKEN}
    env.pop("MEETADMIN_STARTUP_ID", None)
    command = [sys.executable, "-m", "uvicorn", "--factory", "meetadmin.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):  # wait for the server to answer (up to ~30 s); not an assertion on timing
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"meetadmin server exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("meetadmin server did not become ready")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()


@pytest.fixture
def servers(database_url: str, world: Any) -> Iterator[Callable[[], str]]:
    """``start()``: one more server process on the test's database; its base URL."""
    with ExitStack() as stack:

        def start() -> str:
            process, base = _start(database_url)
            stack.callback(_stop, process)
            return base

        yield start


def control(base: str, *args: str) -> Any:
    result = runner.invoke(cli_app, ["control", *args, "--base-url", base, "--control-token", TOKEN])
    return result


def host_of(base: str, meeting_id: str) -> str:
    answer = httpx.get(f"{base}/v1/meetings/{meeting_id}", headers=auth(ADMIN))
    assert answer.status_code == 200, answer.text
    email: str = answer.json()["hostEmail"]
    return email


def reassign(base: str, meeting_id: str) -> httpx.Response:
    body = {"hostEmail": JOHN_EMAIL, "meetingIds": [meeting_id]}
    return httpx.post(f"{base}/v1/meetings/reassignHost", headers=auth(ADMIN), json=body)


def eventually(check: Callable[[], bool]) -> bool:
    """Poll ``check`` for up to 20 s (processes refresh their clock every second)."""
    for _ in range(200):
        if check():
            return True
        time.sleep(0.1)
    return False


def test_snapshot_commands_and_reset_on_a_live_server(servers: Callable[[], str]) -> None:
    base = servers()
    saved = control(base, "snapshot", "save", "clean")
    assert saved.exit_code == 0, saved.output
    assert "saved snapshot 'clean'" in saved.output
    assert control(base, "snapshot", "save", "clean").exit_code == 1  # taken
    listed = control(base, "snapshot", "list")
    assert listed.exit_code == 0 and "__startup__" in listed.output and "clean" in listed.output

    assert reassign(base, PLANNING).status_code == 204
    assert control(base, "snapshot", "restore", "clean").exit_code == 0
    assert host_of(base, PLANNING) == MARCUS_EMAIL
    assert reassign(base, PLANNING).status_code == 204
    assert control(base, "reset").exit_code == 0
    assert host_of(base, PLANNING) == MARCUS_EMAIL

    assert control(base, "snapshot", "delete", "clean").exit_code == 0
    missing = control(base, "snapshot", "restore", "clean")
    assert missing.exit_code == 1 and "404" in missing.output
    wrong = runner.invoke(cli_app, ["control", "reset", "--base-url", base, "--control-token", "wrong"])
    assert wrong.exit_code == 1 and "401" in wrong.output


def test_clock_and_meeting_commands_on_a_live_server(servers: Callable[[], str]) -> None:
    base = servers()
    frozen = control(base, "clock", "set", "2026-12-03T16:05:00Z")
    assert frozen.exit_code == 0, frozen.output
    assert json.loads(frozen.output)["mode"] == "frozen"
    started = control(base, "meeting", "start", PLANNING)
    assert started.exit_code == 0, started.output
    instance = json.loads(started.output)
    assert instance["state"] == "inProgress" and instance["start"] == "2026-12-03T16:05:00Z"
    assert reassign(base, PLANNING).json()["items"][0]["httpStatus"] == 409
    again = control(base, "meeting", "start", PLANNING)
    assert again.exit_code == 1 and "409" in again.output
    advanced = control(base, "clock", "advance", "3600")
    assert json.loads(advanced.output)["now"] == "2026-12-03T17:05:00.000Z"
    ended = control(base, "meeting", "end", instance["id"])
    assert ended.exit_code == 0, ended.output
    assert json.loads(ended.output)["end"] == "2026-12-03T17:05:00Z"
    shifted = control(base, "clock", "shift", "86400")
    assert json.loads(shifted.output)["mode"] == "offset"
    real = control(base, "clock", "real")
    assert real.exit_code == 0 and json.loads(real.output)["mode"] == "real"


def test_two_processes_agree_on_the_clock_and_the_restored_state(servers: Callable[[], str]) -> None:
    first, second = servers(), servers()

    def clock_of(base: str) -> dict[str, Any]:
        answer = httpx.get(f"{base}/_meetadmin/clock", headers=auth(TOKEN))
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def state_on_second() -> str:
        answer = httpx.get(f"{second}/v1/meetings/{PLANNING}", headers=auth(ADMIN))
        assert answer.status_code == 200, answer.text
        found: str = answer.json()["state"]
        return found

    assert state_on_second() == "active"
    assert control(first, "clock", "set", "2030-05-05T05:05:05Z").exit_code == 0
    # the second process follows by itself (its background refresh): the series has expired by 2030
    assert eventually(lambda: state_on_second() == "expired")
    assert clock_of(second)["now"] == "2030-05-05T05:05:05.000Z"
    assert control(second, "snapshot", "save", "before").exit_code == 0
    assert reassign(first, PLANNING).status_code == 204
    assert host_of(second, PLANNING) == JOHN_EMAIL
    assert control(second, "snapshot", "restore", "before").exit_code == 0
    assert host_of(first, PLANNING) == MARCUS_EMAIL
    assert eventually(lambda: reassign(first, PLANNING).status_code == 204)  # tokens work after a restore
    assert control(second, "clock", "real").exit_code == 0
    assert eventually(lambda: clock_of(first)["mode"] == "real")
