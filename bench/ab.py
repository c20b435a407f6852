"""Two servers under the same drift: short loads taking turns (A B B A ...), requests/s and CPU per request
of each over all their turns.

This machine's speed drifts by 20-40% over minutes to hours, more than most changes are worth, so two
runs of ``run.py`` one after the other compare the machine as much as the code. Here both servers are
up at once and take turns under load every few seconds, so the drift falls on both alike:

    # this tree against another checkout (its src/ first on the server's PYTHONPATH), on one database
    .venv/bin/python bench/ab.py --series 100000 \\
        new=postgresql://postgres@127.0.0.1:5432/bench_x old=postgresql://postgres@127.0.0.1:5432/bench_x%/tmp/old/src
    # SQLite against PostgreSQL
    .venv/bin/python bench/ab.py --series 100000 sqlite=sqlite:////tmp/b.db pg=postgresql://...

Each server is ``NAME=URL`` or ``NAME=URL%PYTHONPATH``. A database without the benchmark's organisation
of ``--series`` series gets it first (``world.create``). Both servers get their requests from one
``Requests`` (bench/common.py), so a request body is never sent twice. CPU per request is meetadmin's
server process and, on PostgreSQL, the backends of its database (bench/cpu.py); two servers on one
database share its backends, which only the server under load keeps busy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import cpu
import loadgen
import world
from common import SCENARIOS, Requests, free_port, wait_for_health


def start(url: str, pythonpath: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    exe = Path(sys.executable).with_name("meetadmin")
    proc = subprocess.Popen(
        [str(exe), "serve", "--database-url", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    wait_for_health(port, proc.poll)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("servers", nargs=2, help="NAME=URL or NAME=URL%%PYTHONPATH")
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--scenario", default="reassign1", choices=SCENARIOS)
    parser.add_argument("--turns", type=int, default=4, help="turns of each server")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of load per turn")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    specs = []
    for spec in args.servers:
        name, _, rest = spec.partition("=")
        url, _, pythonpath = rest.partition("%")
        if not world.loaded(url):
            world.create(url, args.series, args.people)
        specs.append((name, url, pythonpath))
    servers = []
    try:
        for name, url, pythonpath in specs:
            proc, port = start(url, pythonpath)
            servers.append((name, url, proc, port))
        reqs = Requests(args.series, args.people, servers[0][3])
        make = reqs.scenario(args.scenario)
        totals = {name: [0, 0.0, 0.0, 0.0] for name, *_ in servers}  # requests, seconds, ma, pg
        for _name, _url, _proc, port in servers:  # warm up
            asyncio.run(loadgen.run("127.0.0.1", port, make, args.connections, duration=2))
        order = [s for turn in range(args.turns) for s in (servers if turn % 2 == 0 else servers[::-1])]
        for name, url, proc, port in order:
            meter = cpu.Meter(proc.pid, url)
            before = meter.read()
            load = loadgen.run("127.0.0.1", port, make, args.connections, duration=args.seconds)
            result = asyncio.run(load)
            ma, pg = meter.since(before)
            meter.close()
            failed = sum(n for status, n in result.statuses.items() if status >= 300)
            total = totals[name]
            total[0] += result.requests
            total[1] += result.elapsed
            total[2] += ma
            total[3] += pg
            print(f"  {name:10} {result.rate():8.0f} req/s" + (f"  {failed} failed" if failed else ""))
        print(f"\n{args.scenario}, {args.series:,} series, {args.turns} turns of {args.seconds:g} s each")
        for name, (requests, seconds, ma, pg) in totals.items():
            print(
                f"{name:10} {requests / seconds:8.0f} req/s   cpu/req ma {ma / requests * 1000:.3f} ms"
                f"   pg {pg / requests * 1000:.3f} ms"
            )
    finally:
        for _name, _url, proc, _port in servers:
            os.killpg(proc.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
