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
def serving(database_url: str, *args: str, **env: str) -> Iterator[str]:
    """``meetadmin serve`` on a free port with ``MEETADMIN_<KEY>`` settings; yields ``http://127.0.0.1:PORT``."""
    port = free_port()
    environ = {**os.environ, **{f"MEETADMIN_{k.upper()}": v for k, v in env.items()}}
    command = [MEETADMIN, "serve", "--database-url", database_url, "--port", str(port), *args]
    process = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # wait for the server to answer (up to ~60 s); not an assertion on timing
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"meetadmin serve exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("meetadmin serve did not become ready")
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
