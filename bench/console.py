"""Server time of every console page on a big generated organisation (bench/world.py: 100,000 series,
10,000 people, plus 100,000 audit events), measured in-process (no network), median and worst of a few
runs per page. Prints figures; asserts nothing.

    .venv/bin/python bench/console.py [--series 100000] [--people 10000] [--audit 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

import world
from meetadmin.app import create_app
from meetadmin.domain.people import TokenOwner
from meetadmin.services.common import audit_batch, utcnow
from meetadmin.settings import Settings
from meetadmin.store.audit import add_audit_batch
from meetadmin.store.db import make_engine
from meetadmin.store.notices import NewNotice, add_notices
from meetadmin.store.tokens import add_token
from meetadmin.store.writer import Writer, orm

CONSOLE_TOKEN = "bench-console-token"
SCOPES = [
    "meeting:admin_schedule_write",
    "meeting:admin_schedule_read",
    "meeting:admin_preferences_write",
    "meeting:admin_preferences_read",
    "spark-admin:people_read",
    "audit:events_read",
]


def prepare(url: str, series: int, people: int, audit: int) -> None:
    world.create(url, series, people)
    engine = make_engine(url)
    writer = Writer(engine, group_commit=False)

    def setup(conn):  # type: ignore[no-untyped-def]
        from sqlalchemy import text

        admin = conn.execute(
            text("SELECT id, person_id, org_id FROM people WHERE email_key = 'admin@bench.example.com'")
        ).one()
        with orm(conn) as session:
            add_token(session, admin.id, CONSOLE_TOKEN, SCOPES)
        org = conn.execute(text("SELECT webex_id FROM orgs WHERE id = :o"), {"o": admin.org_id}).scalar_one()
        caller = TokenOwner(admin.id, admin.person_id, "admin@bench.example.com", "Admin", admin.org_id, org,
                            True, None, frozenset(SCOPES))  # fmt: skip
        start = utcnow() - timedelta(days=20)
        for n in range(0, audit, 1000):
            targets = [
                (world.series_id(i), f"Meeting {i}", {"oldHostEmail": "a", "newHostEmail": "b"})
                for i in range(n, min(n + 1000, audit))
            ]
            at = start + timedelta(seconds=n)
            add_audit_batch(
                conn,
                audit_batch(caller, at, f"bench_{n}", category="MEETINGS", action="reassignHost",
                            target_type="MEETING_SERIES", targets=targets),
            )  # fmt: skip

        # 50,000 notices in the mailbox (a busy week): half to one person, the rest spread
        for n in range(0, 50_000, 1000):
            add_notices(
                conn,
                utcnow() - timedelta(days=3) + timedelta(seconds=n),
                [
                    NewNotice(
                        org_id=admin.org_id,
                        kind="meetingCancelled",
                        recipient=world.person_email(7 if i % 2 else i % people),
                        subject=f"Cancelled: Meeting {i}",
                        payload={"meetingId": world.series_id(i), "title": f"Meeting {i}"},
                    )
                    for i in range(n, n + 1000)
                ],
            )

    writer.write_now(setup)
    writer.close()
    engine.dispose()


def measure(client: TestClient, method: str, path: str, runs: int, **kw: object) -> tuple[float, float, int]:
    times = []
    status = 0
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.request(method, path, **kw)  # type: ignore[arg-type]
        times.append((time.perf_counter() - began) * 1000)
        status = answer.status_code
    return statistics.median(times), max(times), status


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--audit", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="meetadmin-console-bench-")
    url = f"sqlite:///{folder}/bench.db"
    began = time.perf_counter()
    prepare(url, args.series, args.people, args.audit)
    print(f"world: {args.series:,} series, {args.people:,} people, {args.audit:,} audit events "
          f"({time.perf_counter() - began:.0f} s to build)")  # fmt: skip
    engine = make_engine(url)
    app = create_app(Settings(database_url=url, control_token="bench-control"), engine=engine)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login = client.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)[1]  # type: ignore[index]
        client.post("/console/login", data={"csrf_token": token, "token": CONSOLE_TOKEN})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console").text)[1]  # type: ignore[index]
        person = re.search(r'href="(/console/people/[^"]+)"', client.get("/console/people?q=User 7").text)[1]  # type: ignore[index]
        host, to = world.person_email(7), world.person_email(8)
        lines = "email,personalMeetingRoomId\n" + "".join(
            f"{world.person_email(i)},prBNCHNEW{i:05d}\n" for i in range(100, 200)
        )
        bearer = {"Authorization": f"Bearer {CONSOLE_TOKEN}"}
        for i in range(3):
            made = client.post(
                "/v1/webhooks",
                headers=bearer,
                json={"name": f"hook {i}", "targetUrl": "http://127.0.0.1:9/", "resource": "meetings",
                      "event": "all", "ownedBy": "org"},
            )  # fmt: skip
        hook = made.json()["id"]
        mail_page = re.search(r'href="(/console/mail/[0-9]+)"', client.get("/console/mail").text)[1]  # type: ignore[index]
        client.post("/console/sandbox/unlock", data={"csrf_token": csrf, "controlToken": "bench-control"})
        first = client.get("/console/audit").text
        older = re.search(r'href="(\?[^"]*before=[^"]*)"', first)[1].replace("&amp;", "&")  # type: ignore[index]
        rooms = {"csrf_token": csrf, "site": world.SITE, "mode": "ids", "csv": lines}
        pages: list[tuple[str, str, str, dict[str, Any]]] = [
            ("overview", "GET", "/console", {}),
            ("people, first page", "GET", "/console/people", {}),
            ("people, search by name", "GET", "/console/people?q=User 99", {}),
            ("people, search by email", "GET", f"/console/people?q={to}", {}),
            ("people, a far page", "GET", "/console/people?after=9000", {}),
            ("a person (10 series)", "GET", person, {}),
            ("offboard form", "GET", "/console/offboard", {}),
            (
                "offboard plan (10 series)",
                "GET",
                f"/console/offboard?from={host}&to={to}&site={world.SITE}",
                {},
            ),
            ("rooms form", "GET", "/console/rooms", {}),
            ("rooms check, 100 lines", "POST", "/console/rooms/check", {"data": rooms}),
            ("audit, last 30 days", "GET", "/console/audit", {}),
            ("audit, an older page", "GET", "/console/audit" + older, {}),
            ("audit, by type", "GET", "/console/audit?type=refreshPersonalMeetingRoomId", {}),
            ("audit, by actor", "GET", f"/console/audit?actor={to}", {}),
            ("audit, by target", "GET", f"/console/audit?target={world.series_id(5)}", {}),
            ("webhooks (3)", "GET", "/console/webhooks", {}),
            ("a webhook and its deliveries", "GET", f"/console/webhooks/{hook}", {}),
            ("mailbox (50,000 notices)", "GET", "/console/mail", {}),
            ("mailbox, one recipient", "GET", f"/console/mail?to={host}", {}),
            ("a message", "GET", mail_page, {}),
            ("sandbox (faults, limit, snapshots)", "GET", "/console/sandbox", {}),
        ]
        print(f"{'page':34} {'median ms':>10} {'worst ms':>9} status")
        for label, method, path, kw in pages:
            median, worst, status = measure(client, method, path, args.runs, **kw)
            print(f"{label:34} {median:10.1f} {worst:9.1f} {status}")
        started = client.post(
            "/console/offboard",
            data={"csrf_token": csrf, "from": host, "to": to, "site": world.SITE, "confirm": "yes"},
            follow_redirects=False,
        )
        job = started.headers["location"]
        for label, method, path, kw in [
            ("offboard job page", "GET", job, {}),
            ("offboard batch (10 series)", "POST", job + "/next", {"data": {"csrf_token": csrf}}),
            ("offboard result page", "GET", job, {}),
            ("offboard report CSV", "GET", job + "/report.csv", {}),
        ]:
            median, worst, status = measure(client, method, path, 1 if "batch" in label else args.runs, **kw)
            print(f"{label:34} {median:10.1f} {worst:9.1f} {status}")
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
