"""Real ``meetadmin serve`` processes on loopback ports, for tests that need a server of their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

MEETADMIN = str(Path(sys.executable).with_name("meetadmin"))
REDIS_URL = os.environ.get("MEETADMIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def redis_prefix() -> str:
    """A Redis key prefix of its own for one test (tests share the one Redis)."""
    return f"meetadmin-test-{uuid.uuid4().hex[:12]}"


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, tries: int = 600) -> Iterator[str]:
    """Run a server ``command`` listening on ``port`` until the block ends; yields
    ``http://127.0.0.1:PORT`` once ``/health`` answers (up to ``tries`` tenths of a second; not an
    assertion on timing). The one way the tests start and stop a real server process."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(tries):
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"meetadmin server exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("meetadmin server did not become ready")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def uvicorn_command(port: int) -> list[str]:
    """``meetadmin.app:create_app`` under uvicorn on ``port`` (settings from the environment)."""
    command = [sys.executable, "-m", "uvicorn", "--factory", "meetadmin.app:create_app"]
    return [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]


@contextmanager
def serving(database_url: str, *args: str, **env: str) -> Iterator[str]:
    """``meetadmin serve`` on a free port with ``MEETADMIN_<KEY>`` settings; yields ``http://127.0.0.1:PORT``."""
    port = free_port()
    environ = {**os.environ, **{f"MEETADMIN_{k.upper()}": v for k, v in env.items()}}
    command = [MEETADMIN, "serve", "--database-url", database_url, "--port", str(port), *args]
    with running(command, environ, port) as base:
        yield base
