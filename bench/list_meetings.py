"""List Meetings on a large organisation: time per page for admins and for one host (prints figures).

    .venv/bin/python bench/list_meetings.py                   # 100,000 series, SQLite in a temp dir
    .venv/bin/python bench/list_meetings.py --series 20000 --database-url postgresql://...
    .venv/bin/python bench/list_meetings.py --series 1000000 --hosts 10000 --sqlite-file /tmp/l.db
        # a million series; the file is loaded once and reused by later runs (--reuse for PostgreSQL)

Series start over four years around now; one in five recurs (some without end), one in ten has ended
instances. The app runs in-process (starlette TestClient); each scenario runs --repeat times (the
hostEmail ones for a different host each time) and follows up to --pages Link pages; p50/p99 are over
all those requests.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from meetadmin.app import create_app
from meetadmin.settings import Settings
from meetadmin.store.db import make_engine
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.fixtures import load_documents
from meetadmin.store.migrate import upgrade
from meetadmin.store.writer import Writer

SITE = "list.webex.com"
RULES = ["FREQ=WEEKLY;COUNT=26", "FREQ=DAILY;COUNT=30", "FREQ=WEEKLY", "FREQ=MONTHLY;COUNT=12"]


def build(series: int, hosts: int) -> dict[str, Any]:
    rng = random.Random(1)
    base = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0) - timedelta(days=730)
    people: list[dict[str, Any]] = [
        {
            "email": f"h{i}@list.example.com",
            "displayName": f"Host {i}",
            "sites": {SITE: {"host": True, "licenses": ["meeting"], "sessionTypes": ["3"]}},
        }
        for i in range(hosts)
    ]
    people.append(
        {"email": "admin@list.example.com", "displayName": "Admin", "admin": True, "preferredSite": SITE}
    )
    meetings = []
    for i in range(series):
        start = base + timedelta(hours=rng.randint(0, 24 * 365 * 4))
        m: dict[str, Any] = {
            "siteUrl": SITE,
            "host": f"h{i % hosts}@list.example.com",
            "title": f"M{i}",
            "sessionTypeId": "3",
            "start": start.isoformat() + "Z",
            "end": (start + timedelta(hours=1)).isoformat() + "Z",
        }
        if i % 5 == 0:
            m["recurrence"] = rng.choice(RULES)
        if i % 10 == 0:
            m["endedInstances"] = 3
        meetings.append(m)
    scopes = ["meeting:admin_schedule_read"]
    return {
        "org": {"id": "list", "name": "List Bench"},
        "sites": [
            {
                "siteUrl": SITE,
                "sessionTypes": [{"id": "3", "shortName": "PRO", "name": "Pro", "type": "meeting"}],
            }
        ],
        "people": people,
        "meetings": meetings,
        "tokens": [
            {"token": "list-admin-token", "person": "admin@list.example.com", "scopes": scopes},
            {
                "token": "list-host-token",
                "person": "h1@list.example.com",
                "scopes": ["meeting:schedules_read"],
            },
        ],
    }


def _scenarios(hosts: int) -> list[tuple[str, str, dict[str, str]]]:
    """(name, token, params): ``{host}`` in a value becomes a different host's email on each repeat."""
    now = datetime.now(UTC)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    month_from, month_to = (now + timedelta(days=30)).strftime(fmt), (now + timedelta(days=60)).strftime(fmt)
    past_from, past_to = (now - timedelta(days=400)).strftime(fmt), (now - timedelta(days=370)).strftime(fmt)
    admin, host = "list-admin-token", "list-host-token"
    return [
        ("admin default", admin, {}),
        ("admin max=100", admin, {"max": "100"}),
        ("admin scheduledMeeting", admin, {"meetingType": "scheduledMeeting", "max": "100"}),
        ("admin meeting (instances)", admin, {"meetingType": "meeting", "max": "100"}),
        ("admin from/to month ahead", admin, {"from": month_from, "to": month_to, "max": "100"}),
        ("admin from in 700 days", admin, {"from": (now + timedelta(days=700)).strftime(fmt)}),
        ("admin hostEmail max=100", admin, {"hostEmail": "{host}", "max": "100"}),
        (
            "admin hostEmail scheduled",
            admin,
            {"hostEmail": "{host}", "meetingType": "scheduledMeeting", "max": "100"},
        ),
        ("admin hostEmail meeting", admin, {"hostEmail": "{host}", "meetingType": "meeting", "max": "100"}),
        (
            "admin hostEmail past month",
            admin,
            {"hostEmail": "{host}", "from": past_from, "to": past_to, "max": "100"},
        ),
        ("host max=100", host, {"max": "100"}),
        ("host scheduledMeeting", host, {"meetingType": "scheduledMeeting", "max": "100"}),
        ("host meeting (instances)", host, {"meetingType": "meeting", "max": "100"}),
        ("host from/to month ahead", host, {"from": month_from, "to": month_to, "max": "100"}),
    ]


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--sqlite-file", default="", help="SQLite file to use (kept; loaded only when it has no data yet)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep what --database-url holds if it was loaded already"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each scenario (different hosts)")
    parser.add_argument("--pages", type=int, default=5, help="Link pages followed per run")
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this")
    parser.add_argument(
        "--seed", type=int, default=7, help="picks the hosts (another seed: hosts no earlier run read)"
    )
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{args.sqlite_file or Path(tempfile.mkdtemp()) / 'list.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT count(*) FROM orgs WHERE id = 'list'")).scalar_one() > 0
    if loaded and (args.reuse or args.sqlite_file):
        print("using the data already loaded")
    else:
        started = time.perf_counter()
        with Writer(engine).writing() as session:
            load_documents(session, [("bench", FixtureDoc.model_validate(build(args.series, args.hosts)))])
        print(f"loaded {args.series} series in {time.perf_counter() - started:.1f}s")
    client = TestClient(create_app(Settings(database_url=url), engine=engine))
    floor = []
    for _ in range(20):
        t0 = time.perf_counter()
        client.get("/health")
        floor.append(time.perf_counter() - t0)
    print(f"{'floor: GET /health':28} requests= 20 (the harness's own cost)  p50={_pct(floor, 0.5):7.1f}ms")
    rng = random.Random(args.seed)
    for name, token, params in _scenarios(args.hosts):
        if args.only and args.only not in name:
            continue
        headers = {"Authorization": f"Bearer {token}"}
        first: list[float] = []
        times: list[float] = []
        items = 0
        for _ in range(args.repeat):
            email = f"h{rng.randrange(args.hosts)}@list.example.com"
            run = {k: v.replace("{host}", email) for k, v in params.items()}
            response = None
            for page in range(args.pages):
                t0 = time.perf_counter()
                if response is None:
                    response = client.get("/v1/meetings", params=run, headers=headers)
                else:
                    link = response.headers["link"]
                    response = client.get(link[1 : link.index(">")], headers=headers)
                elapsed = time.perf_counter() - t0
                times.append(elapsed)
                if page == 0:
                    first.append(elapsed)
                assert response.status_code == 200, response.text
                items += len(response.json()["items"])
                if "link" not in response.headers:
                    break
        print(
            f"{name:28} requests={len(times):3} items/run={items / args.repeat:6.0f} "
            f"first-page p50={_pct(first, 0.5):7.1f}ms  all pages p50={_pct(times, 0.5):7.1f}ms "
            f"p99={_pct(times, 0.99):7.1f}ms",
            flush=True,
        )
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
