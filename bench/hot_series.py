"""Lock contention: several server processes on one PostgreSQL database, every request reassigning one of
a few hot series, so that requests keep meeting each other's locks (in a group commit only a group's
first unit waits for a lock; see store/pg_group_commit.py).

    .venv/bin/python bench/hot_series.py postgresql://postgres@127.0.0.1:5432/bench_x
    .venv/bin/python bench/hot_series.py URL --servers 3 --hot 5 --duration 8

The database must hold the benchmark organisation (``run.py``, ``ab.py`` or ``world.create`` load it).
Prints each server's requests/s, answers by status and p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import loadgen
import world
from common import free_port, wait_for_health


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--hot", type=int, default=20, help="series every request picks from")
    parser.add_argument("--connections", type=int, default=16, help="per server")
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args()
    if not world.loaded(args.url):
        raise SystemExit("the database holds no benchmark organisation")
    exe = Path(sys.executable).with_name("meetadmin")
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    headers = {"Authorization": f"Bearer {world.TOKEN}", "Content-Type": "application/json"}

    def make() -> bytes:
        body = {
            "hostEmail": world.person_email(random.randrange(10_000)),
            "meetingIds": [world.series_id(random.randrange(args.hot))],
        }
        return loadgen.request_bytes(
            "POST", "/v1/meetings/reassignHost", "127.0.0.1", headers, json.dumps(body).encode()
        )

    async def load() -> list[loadgen.Result]:
        runs = (loadgen.run("127.0.0.1", p, make, args.connections, duration=args.duration) for p in ports)
        return list(await asyncio.gather(*runs))

    try:
        for _ in range(args.servers):
            port = free_port()
            proc = subprocess.Popen(
                [str(exe), "serve", "--database-url", args.url, "--port", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            procs.append(proc)
            wait_for_health(port, proc.poll)
            ports.append(port)
        results = asyncio.run(load())
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
    for n, result in enumerate(results, 1):
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result.statuses.items()))
        print(f"server {n}: {result.rate():6.0f} req/s  ({statuses})  p99 {result.percentile(99):.1f} ms")
    print(f"all: {sum(r.rate() for r in results):.0f} req/s")


if __name__ == "__main__":
    main()
