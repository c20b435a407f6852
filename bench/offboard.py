"""Offboarding benchmark: move 10,000 meeting series from one host to another with the real CLI.

Builds an organisation in a temporary SQLite database (one host with N series, plus the new host and an
admin), starts ``meetadmin serve`` on a free port, runs

    meetadmin reassign --from A --to B --execute --yes --report /tmp/x.csv

as a subprocess, and prints the wall time from start to report and how many meetings moved.

    .venv/bin/python bench/offboard.py [--series 10000] [--recurrence RRULE] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from meetadmin.store.db import make_engine
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.fixtures import load_documents
from meetadmin.store.migrate import upgrade
from meetadmin.store.models import MeetingSeries, Person
from meetadmin.store.writer import Writer

SITE = "bench.webex.com"
OLD = "alice@bench.example"
NEW = "bob@bench.example"
TOKEN = "bench-admin-token"


def world(series: int, recurrence: str = "FREQ=WEEKLY;COUNT=52") -> dict[str, Any]:
    host = {"host": True, "licenses": ["meeting"], "sessionTypes": ["3"], "calling": True}
    return {
        "org": {"id": "bench", "name": "Bench Inc."},
        "sites": [
            {
                "siteUrl": SITE,
                "pmrIdRule": {"prefix": "bn", "siteCode": "BNCH", "digits": 8},
                "sessionTypes": [{"id": "3", "shortName": "PRO", "name": "Pro Meeting", "type": "meeting"}],
            }
        ],
        "people": [
            {"email": "admin@bench.example", "displayName": "Admin", "admin": True, "preferredSite": SITE},
            {"email": OLD, "displayName": "Alice Leaving", "preferredSite": SITE, "sites": {SITE: host}},
            {"email": NEW, "displayName": "Bob Staying", "preferredSite": SITE, "sites": {SITE: host}},
        ],
        "meetings": [
            {
                "siteUrl": SITE,
                "host": OLD,
                "title": f"Weekly sync {i:05d}",
                "sessionTypeId": "3",
                "start": "2027-01-04T09:00:00Z",
                "end": "2027-01-04T09:30:00Z",
                **({"recurrence": recurrence} if recurrence else {}),
            }
            for i in range(series)
        ]
        + [
            {
                "siteUrl": SITE,
                "host": NEW,
                "title": "Bob's own",
                "sessionTypeId": "3",
                "start": "2027-01-05T09:00:00Z",
                "end": "2027-01-05T09:30:00Z",
            }
        ],
        "tokens": [
            {"token": TOKEN, "person": "admin@bench.example", "scopes": ["meeting:admin_schedule_write",
                                                                         "meeting:admin_schedule_read",
                                                                         "meeting:admin_preferences_read",
                                                                         "spark-admin:people_read"]}
        ],
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def meetadmin_command() -> list[str]:
    script = Path(sys.executable).with_name("meetadmin")
    return (
        [str(script)] if script.exists() else [sys.executable, "-c", "from meetadmin.cli import main; main()"]
    )


def wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux /proc), or None where that can't be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hosted_by(url: str, email: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(MeetingSeries)
                .join(Person, Person.id == MeetingSeries.host_id)
                .where(Person.email_key == email)
            )
    finally:
        engine.dispose()
    return int(count or 0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=10_000, help="Series the leaving host holds.")
    parser.add_argument(
        "--recurrence",
        default="FREQ=WEEKLY;COUNT=52",
        help="RRULE of every series (default weekly for a year; '' for one-off meetings).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    parser.add_argument(
        "--profile", type=Path, help="Run the client under cProfile and write its stats here."
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="meetadmin-offboard-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    with Writer(engine).writing() as session:
        load_documents(session, [("bench", FixtureDoc.model_validate(world(args.series, args.recurrence)))])
    engine.dispose()
    print(f"built {args.series} series for {OLD} in {time.perf_counter() - started:.1f} s ({url})")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*meetadmin_command(), "serve", "--port", str(port), "--database-url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_up(base, server)
        report = tmp / "x.csv"
        env = {k: v for k, v in os.environ.items() if k not in ("WEBEX_ACCESS_TOKEN", "MEETADMIN_BASE_URL")}
        command = [
            *meetadmin_command(), "reassign", "--from", OLD, "--to", NEW, "--site", SITE,
            "--execute", "--yes", "--report", str(report),
            "--token", TOKEN, "--base-url", f"{base}/v1", "--journal", str(tmp / "journal.jsonl"),
        ]  # fmt: skip
        server_cpu = cpu_seconds(server.pid)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if args.profile:
            script = str(Path(sys.executable).with_name("meetadmin"))
            profiler = [sys.executable, "-m", "cProfile", "-o", str(args.profile), script]
            command[: len(meetadmin_command())] = profiler
        t0 = time.perf_counter()
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        server_end = cpu_seconds(server.pid)
        if server_cpu is not None and server_end is not None:
            server_cpu = server_end - server_cpu
    finally:
        server.terminate()
        server.wait(timeout=30)

    if run.returncode not in (0, 1):
        print(run.stdout, run.stderr, sep="\n")
        raise SystemExit(f"meetadmin reassign exited with {run.returncode}")
    with report.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    moved = sum(r["result"] == "moved" for r in rows)
    print(
        "\n".join(
            line for line in run.stderr.splitlines() if line.startswith(("Listed", "Previewed", "Sent"))
        )
    )
    print(f"reassign exit code: {run.returncode}")
    print(f"report rows: {len(rows)}, moved: {moved}")
    new_count, old_count = hosted_by(url, NEW), hosted_by(url, OLD)
    print(f"series hosted by {NEW}: {new_count} (1 was theirs before); by {OLD}: {old_count}")
    print(f"wall time, start to report: {wall:.2f} s (target <= 10 s)")
    server_text = f"{server_cpu:.2f} s" if server_cpu is not None else "unknown"
    print(f"CPU time: client (meetadmin reassign) {client_cpu:.2f} s, server {server_text}")
    print(f"load average when done: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.keep:
        print(f"kept {tmp}")
    else:
        for path in sorted(tmp.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        tmp.rmdir()


if __name__ == "__main__":
    main()
