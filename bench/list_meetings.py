"""List Meetings on a large organisation: time per page for admins and for one host (prints figures).

    .venv/bin/python bench/list_meetings.py                   # 100,000 series, SQLite in a temp dir
    .venv/bin/python bench/list_meetings.py --series 20000 --database-url postgresql://...
    .venv/bin/python bench/list_meetings.py --series 1000000 --hosts 10000   # a million series

Series start over four years around now; one in five recurs (some without end), one in ten has ended
instances. The app runs in-process (starlette TestClient); each scenario follows up to 20 Link pages.
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'list.db'}"
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    with Writer(engine).writing() as session:
        load_documents(session, [("bench", FixtureDoc.model_validate(build(args.series, args.hosts)))])
    print(f"loaded {args.series} series in {time.perf_counter() - started:.1f}s")
    client = TestClient(create_app(Settings(database_url=url), engine=engine))
    scenarios: list[dict[str, str]] = [
        {},
        {"max": "100"},
        {"meetingType": "scheduledMeeting", "max": "100"},
        {"meetingType": "meeting", "max": "100"},
        {"hostEmail": "h7@list.example.com", "max": "100"},
        {"from": (datetime.now(UTC) + timedelta(days=700)).strftime("%Y-%m-%dT%H:%M:%SZ")},
    ]
    for token in ("list-admin-token", "list-host-token"):
        for params in scenarios:
            headers = {"Authorization": f"Bearer {token}"}
            times, items = [], 0
            response = None
            for _ in range(20):
                t0 = time.perf_counter()
                if response is None:
                    response = client.get("/v1/meetings", params=params, headers=headers)
                else:
                    link = response.headers["link"]
                    response = client.get(link[1 : link.index(">")], headers=headers)
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
                items += len(response.json()["items"])
                if "link" not in response.headers:
                    break
            print(
                f"{token:17} {params!s:55} pages={len(times):2} items={items:5} "
                f"first={times[0] * 1000:6.1f}ms mean={sum(times) / len(times) * 1000:6.1f}ms "
                f"p50={sorted(times)[len(times) // 2] * 1000:6.1f}ms"
            )
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
