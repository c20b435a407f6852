"""``meetadmin webhooks tail`` against a real server process prints deliveries as they happen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.receiver import receiving
from tests.servers import Server
from tests.worlds import ADMIN, PLANNING, auth

CONTROL = "tail-control-token"


def test_tail_prints_deliveries_as_they_happen(database_url: str, world: Any) -> None:
    env = {"MEETADMIN_CONTROL_TOKEN": CONTROL, "MEETADMIN_WEBHOOK_POLL_SECONDS": "0.05"}
    with receiving() as receiver:
        server = Server(database_url, env)
        try:
            body = {
                "name": "t",
                "targetUrl": receiver.url,
                "resource": "meetings",
                "event": "all",
                "ownedBy": "org",
            }
            assert httpx.post(f"{server.base}/v1/webhooks", json=body, headers=auth(ADMIN)).status_code == 200
            exe = Path(sys.executable).with_name("meetadmin")
            command = [
                str(exe),
                "webhooks",
                "tail",
                "--base-url",
                f"{server.base}/v1",
                "--control-token",
                CONTROL,
            ]
            move = {"hostEmail": "john.andersen@example.com", "meetingIds": [PLANNING]}
            r = httpx.post(
                f"{server.base}/v1/meetings/reassignHost", json=move, headers=auth(ADMIN), timeout=30
            )
            assert r.status_code == 204
            receiver.wait_for(lambda got: len(got.received) == 1)
            # The last attempt so far, then the next one as it happens.
            tail = subprocess.Popen(
                [*command, "--last", "1", "--count", "2", "--interval", "0.1"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"},
            )
            try:
                first = tail.stdout.readline() if tail.stdout else ""
                assert "delivered" in first and PLANNING in first and "updated meetings" in first, first
                back = {"hostEmail": "marcus.hoffmann@example.com", "meetingIds": [PLANNING]}
                r = httpx.post(
                    f"{server.base}/v1/meetings/reassignHost", json=back, headers=auth(ADMIN), timeout=30
                )
                assert r.status_code == 204
                rest, errors = tail.communicate(timeout=60)
            finally:
                tail.kill()
                tail.wait()
            assert tail.returncode == 0, errors
            assert "delivered" in rest and " 200 " in rest and PLANNING in rest
            wrong = subprocess.run(
                [*command[:-1], "nope", "--count", "1"], capture_output=True, text=True, timeout=60
            )
            assert wrong.returncode == 1 and "401" in wrong.stderr
        finally:
            server.stop()
