"""meetadmin benchmarks: reassignments and personal room refreshes against a real server process.

    ./dev bench                       # 1,000 and 100,000 series, 10,000 people, every scenario
    ./dev bench --sizes 1000 --duration 5 --scenarios reassign1,reassign100
    ./dev bench --floor               # and the bare minimum (bench/floor.py) just before, for comparison

For each organisation size it generates an organisation into a fresh SQLite file (or --database-url),
starts ``meetadmin serve`` on a free loopback port, and prints requests/s and items changed/s under load
(16 connections), p50/p99 latency unloaded (1 connection) and under load, the server's memory, and CPU
time per request under load: meetadmin's server processes ("cpu/req ma") and, on PostgreSQL, the
backends of the benchmark's database ("cpu/req pg"); see bench/cpu.py. On a small machine where the
database shares the cores, CPU per request is the figure that carries over to a larger one.
Items changed are counted from the audit log, so a request that changed nothing does not count.

    ./dev bench --sizes 100000 --scenarios reassign1,reassign100 --webhooks 0,3

``--webhooks 0,3`` measures each scenario with no webhook and then with three active org webhooks (every
event) to a local receiver (bench/receiver.py), back to back on the same server, and prints the second's
requests/s as a share of the first's. With webhooks it reports the delivery lag (the receiver's clock
minus the change's time) of the deliveries the loaded phase owed, which grows with the backlog when the
load owes more deliveries than a process sends, and then of a capped load that owes about
``--lag-deliveries`` (500) a second, or half the full load's requests/s if that is less: a load the
process keeps up with, so its lag is what a steady load sees.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cpu
import floor
import loadgen
import world
from common import SCENARIOS, Requests, free_port, wait_for_health
from meetadmin.store.db import make_engine
from meetadmin.store.models import AuditEvent, WebhookQueue


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MiB."""
    total = 0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("meetadmin")
    proc = subprocess.Popen(
        [str(exe), "serve", "--database-url", url, "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the workers go with it
    )
    try:
        wait_for_health(port, proc.poll)
    except SystemExit:
        # workers too, or they keep the pipe open and this blocks (the server may be gone already)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise SystemExit(
            f"server did not come up: {proc.stderr.read().decode() if proc.stderr else ''}"
        ) from None
    return proc


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    script = Path(__file__).resolve().parent / "receiver.py"
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            receiver_stats(port)
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the webhook receiver did not come up")


def receiver_stats(port: int, reset: bool = False) -> dict[str, float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{'reset' if reset else 'stats'}", method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        body = answer.read()
    return json.loads(body) if body else {}


def _call(port: int, method: str, path: str, body: object | None = None) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {world.TOKEN}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bytes(answer.read())


def set_webhooks(port: int, receiver_port: int, count: int, registered: list[str]) -> None:
    """Make ``count`` active org webhooks for every meeting event point to the receiver (registering or
    deleting some; ``registered`` holds their IDs)."""
    while len(registered) > count:
        _call(port, "DELETE", f"/v1/webhooks/{registered.pop()}")
    while len(registered) < count:
        body = {
            "name": f"bench {len(registered)}",
            "targetUrl": f"http://127.0.0.1:{receiver_port}/hook/{len(registered)}",
            "resource": "meetings",
            "event": "all",
            "ownedBy": "org",
        }
        registered.append(json.loads(_call(port, "POST", "/v1/webhooks", body))["id"])


def owed_count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(WebhookQueue)).scalar_one())
    engine.dispose()
    return n


def drain(url: str, limit: float) -> float:
    """Wait until nothing is owed (at most ``limit`` seconds); how long the wait took."""
    t0 = time.perf_counter()
    if os.environ.get("MEETADMIN_WEBHOOK_DISPATCH", "").lower() in ("0", "false"):
        return 0.0
    while owed_count(url) and time.perf_counter() - t0 < limit:
        time.sleep(0.2)
    return time.perf_counter() - t0


def lag_text(stats: dict[str, float]) -> str:
    return (
        f"{stats.get('count', 0):.0f} deliveries, lag p50 {stats.get('p50')} ms, p99 {stats.get('p99')} ms, "
        f"max {stats.get('max')} ms"
    )


def audit_count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
    engine.dispose()
    return n


def bench_size(args: argparse.Namespace, series: int, url: str | None) -> None:
    tmp = tempfile.mkdtemp(prefix="meetadmin-bench-")
    url = url or f"sqlite:///{tmp}/bench.db"
    t0 = time.perf_counter()
    if args.reuse and world.loaded(url):
        print(f"\n## {series:,} series, {args.people:,} people (already in the database, --reuse)")
    else:
        world.create(url, series, args.people)
        print(
            f"\n## {series:,} series, {args.people:,} people "
            f"(generated and loaded in {time.perf_counter() - t0:.1f} s)"
        )
    floor_figures = {}
    if args.floor:  # the bare minimum on this machine, measured just before meetadmin
        floor_figures = floor.measure(
            series, args.people, args.duration, args.connections, tuple(args.scenarios)
        )
    port = free_port()
    server = start_server(url, port, args.workers)
    receiver = None
    receiver_port = free_port()
    registered: list[str] = []
    try:
        reqs = Requests(series, args.people, port)
        print(f"server: meetadmin serve --workers {args.workers}, idle RSS {rss_mib(server.pid):.0f} MiB")
        if any(args.webhooks):
            receiver = start_receiver(receiver_port)
            print(
                f"webhooks: {' then '.join(map(str, args.webhooks))} active org webhooks (event all) to a "
                f"receiver on 127.0.0.1, back to back per scenario; delivery lag at full load and at a load "
                f"capped at {args.lag_deliveries:g} deliveries/s or half the full load's req/s"
            )
        header = (
            f"{'scenario':<20} {'req/s':>8} {'items/s':>9} {'p50 load':>9} {'p99 load':>9} "
            f"{'p50 1conn':>10} {'p99 1conn':>10} {'errors':>7} {'RSS MiB':>8} "
            f"{'cpu/req ma':>10} {'cpu/req pg':>10}"
            + (f" {'floor req/s':>11} {'vs floor':>8}" if floor_figures else "")
            + (f" {'vs 0 hooks':>10}" if len(args.webhooks) > 1 else "")
        )
        print(header)
        meter = cpu.Meter(server.pid, url)
        for name in args.scenarios:
            make = reqs.scenario(name)
            batch = 1 if name == "reassign1" else 100
            without: float | None = None
            for hooks in args.webhooks:
                if receiver is not None:
                    set_webhooks(port, receiver_port, hooks, registered)
                label = name if len(args.webhooks) == 1 else f"{name} {hooks}wh"
                # warm up, then unloaded latency on one connection, then load on 16
                asyncio.run(loadgen.run("127.0.0.1", port, make, 1, total=20))
                single = asyncio.run(loadgen.run("127.0.0.1", port, make, 1, duration=args.duration / 2))
                if receiver is not None:
                    drain(url, args.drain_limit)
                    receiver_stats(receiver_port, reset=True)
                before = audit_count(url)
                cpu_before = meter.read()
                loaded = asyncio.run(
                    loadgen.run("127.0.0.1", port, make, args.connections, duration=args.duration)
                )
                server_cpu, db_cpu = meter.since(cpu_before)
                changed = audit_count(url) - before
                per_request = 1000 / max(loaded.requests, 1)
                notes = []
                if hooks:
                    owed_at_end = owed_count(url)
                    waited = drain(url, args.drain_limit)
                    lag = receiver_stats(receiver_port)
                    left = owed_count(url)
                    notes.append(
                        f"   full load: {lag_text(lag)}; {owed_at_end} owed when the load stopped, "
                        + (
                            f"{left} still owed after {waited:.0f} s"
                            if left
                            else f"delivered {waited:.1f} s later"
                        )
                        + (f" ({(owed_at_end - left) / waited:.0f}/s)" if waited > 1 else "")
                    )
                    if args.lag_deliveries and not left:
                        # at most half the rate the full load reached: a load the server keeps up with
                        rate = min(args.lag_deliveries / (batch * hooks), loaded.rate() / 2)
                        receiver_stats(receiver_port, reset=True)
                        capped = asyncio.run(
                            loadgen.run(
                                "127.0.0.1", port, make, args.connections, duration=args.duration, rate=rate
                            )
                        )
                        owed_at_end = owed_count(url)
                        waited = drain(url, args.drain_limit)
                        notes.append(
                            f"   capped at {rate:.1f} req/s ({capped.rate():.1f} done, p99 "
                            f"{capped.percentile(99):.0f} ms): {lag_text(receiver_stats(receiver_port))}; "
                            f"{owed_at_end} owed when the load stopped, delivered {waited:.1f} s later"
                        )
                bad = sum(
                    n
                    for status, n in {**single.statuses, **loaded.statuses}.items()
                    if status >= 300 and status != 204
                )
                if hooks == 0:
                    without = loaded.rate()
                print(
                    f"{label:<20} {loaded.rate():>8.0f} {changed / loaded.elapsed:>9.0f} "
                    f"{loaded.percentile(50):>8.1f}ms {loaded.percentile(99):>8.1f}ms "
                    f"{single.percentile(50):>9.1f}ms {single.percentile(99):>9.1f}ms "
                    f"{bad:>7} {rss_mib(server.pid):>8.0f} "
                    f"{server_cpu * per_request:>8.2f}ms "
                    + (f"{db_cpu * per_request:>8.2f}ms" if url.startswith("postgres") else f"{'-':>10}")
                    + (
                        f" {floor_figures[name][0]:>11.0f} {loaded.rate() / floor_figures[name][0]:>7.0%}"
                        if name in floor_figures
                        else ""
                    )
                    + (f" {loaded.rate() / without:>9.0%}" if hooks and without else "")
                )
                for note in notes:
                    print(note)
                if bad:
                    print(f"   statuses: unloaded {single.statuses}, loaded {loaded.statuses}")
        meter.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        if receiver is not None:
            receiver.terminate()
            receiver.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000", help="series counts, comma separated")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/floor.py (the bare minimum) on the same machine, just before, and compare",
    )
    parser.add_argument("--database-url", default=None, help="an empty database to use instead of SQLite")
    parser.add_argument(
        "--webhooks",
        default="0",
        help="org webhooks (every event) to a local receiver: a count, or counts measured back to back "
        "per scenario (0,3); with webhooks, delivery lag is reported at full load and at a capped load",
    )
    parser.add_argument(
        "--lag-deliveries",
        type=float,
        default=500,
        help="with webhooks: the capped load owes about this many deliveries a second (0: no capped run)",
    )
    parser.add_argument(
        "--drain-limit",
        type=float,
        default=300,
        help="with webhooks: wait at most this long (s) for what a load left owed to be delivered",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --database-url: keep the organisation an earlier run of the same size loaded there",
    )
    args = parser.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.webhooks = [int(n) for n in args.webhooks.split(",") if n]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    print(
        f"meetadmin benchmark on {os.cpu_count()} cores; "
        f"load: {args.connections} connections, {args.duration:.0f} s"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        bench_size(args, size, args.database_url)


if __name__ == "__main__":
    main()
