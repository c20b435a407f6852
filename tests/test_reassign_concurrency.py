"""Concurrent reassignments through two real server processes sharing one database.

Requests race to move the same series back and forth. Row locks (PostgreSQL) and the single writer
(SQLite) must serialise them: no 5xx, and every series' audit trail must be a consistent chain, which a
lost update (two requests both moving Marcus -> John) would break.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from meetadmin.store.models import AuditEvent, MeetingSeries, Person
from tests.test_cli import serving
from tests.worlds import ADMIN, example_world

JOHN = "john.andersen@example.com"
MARCUS = "marcus.hoffmann@example.com"
SERIES = [f"cc{i:030x}" for i in range(20)]


def test_racing_reassignments_stay_consistent(database_url: str, engine: Engine, tmp_path: Path) -> None:
    doc = example_world()
    doc["meetings"] += [
        {
            "id": sid,
            "siteUrl": "example.webex.com",
            "host": MARCUS,
            "title": f"Race {i}",
            "sessionTypeId": "3",
            "start": "2027-03-01T10:00:00Z",
            "end": "2027-03-01T11:00:00Z",
        }
        for i, sid in enumerate(SERIES)
    ]
    fixture = tmp_path / "org.yaml"
    fixture.write_text(yaml.safe_dump(doc))
    with (
        serving("--database-url", database_url, "--fixture", str(fixture)) as port_a,
        serving("--database-url", database_url) as port_b,
    ):
        clients = [
            httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", headers={"Authorization": f"Bearer {ADMIN}"})
            for port in (port_a, port_b)
        ]
        rng = random.Random(5)
        jobs = [
            (clients[i % 2], rng.choice([JOHN, MARCUS]), rng.sample(SERIES, rng.randint(1, 8)))
            for i in range(160)
        ]

        def send(job: tuple[httpx.Client, str, list[str]]) -> int:
            client, host, ids = job
            r = client.post("/meetings/reassignHost", json={"hostEmail": host, "meetingIds": ids})
            return r.status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = Counter(pool.map(send, jobs))
        for client in clients:
            client.close()
    assert set(statuses) == {204}, statuses

    with Session(engine) as session:
        final = dict(
            session.execute(
                select(MeetingSeries.id, Person.email)
                .join(Person, Person.id == MeetingSeries.host_id)
                .where(MeetingSeries.id.in_(SERIES))
            ).all()
        )
        events = session.scalars(select(AuditEvent).where(AuditEvent.target_id.in_(SERIES))).all()
    assert events, "some requests must have moved meetings"
    to_john = Counter(e.target_id for e in events if e.data["newHostEmail"] == JOHN)
    from_john = Counter(e.target_id for e in events if e.data["oldHostEmail"] == JOHN)
    for sid in SERIES:
        assert all(e.data["oldHostEmail"] != e.data["newHostEmail"] for e in events if e.target_id == sid)
        # starting at Marcus, each move to John is followed by one move back before the next
        assert to_john[sid] - from_john[sid] == (1 if final[sid] == JOHN else 0), sid
