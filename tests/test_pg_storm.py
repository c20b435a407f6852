"""Three server processes on one database under a mixed storm, as on three machines.

Reassignments, personal room refreshes with and without an Idempotency-Key, and reads go to three real
``meetadmin serve`` processes at once (on PostgreSQL they run transactions side by side; on SQLite the
processes queue on the one database file). Afterwards every change must be there exactly once and whole:

* each series' audit trail is a chain from its first host to its host now (a lost update would break
  the chain, a doubled one would repeat a link), and each move left its notice (nothing half-applied);
* each person's refresh trail is a chain from their first room ID to their active one, every handed-out
  ID is that person's (active or quarantined) and no one else's;
* the requests sent with one Idempotency-Key to all three servers got one answer and changed once.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from meetadmin.store.models import AuditEvent, MeetingSeries, Notice, Person, PersonalRoomId
from tests.test_cli import serving
from tests.worlds import ADMIN, SITE, example_world

HOSTS = [f"storm-h{i}@example.com" for i in range(4)]
ROOMERS = [f"storm-r{i:02d}@example.com" for i in range(16)]
SERIES = [f"dd{i:030x}" for i in range(24)]
REFRESH = "/admin/meetingPreferences/personalMeetingRoom/refreshId"


def _fixture(tmp_path: Path) -> Path:
    doc = example_world()
    doc["people"] += [
        {
            "email": email,
            "displayName": email.split("@")[0],
            "sites": {
                SITE: {
                    "host": True,
                    "licenses": ["meeting"],
                    "sessionTypes": ["3"],
                    "personalMeetingRoomId": f"storm-{email.split('@')[0]}",
                }
            },
        }
        for email in HOSTS + ROOMERS
    ]
    doc["meetings"] += [
        {
            "id": sid,
            "siteUrl": SITE,
            "host": HOSTS[0],
            "title": f"Storm {i}",
            "sessionTypeId": "3",
            "start": "2027-03-01T10:00:00Z",
            "end": "2027-03-01T11:00:00Z",
        }
        for i, sid in enumerate(SERIES)
    ]
    path = tmp_path / "storm.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _jobs(rng: random.Random) -> list[tuple[str, str, str, Any, dict[str, str]]]:
    """(kind, method, path, body, headers), interleaved."""
    jobs: list[tuple[str, str, str, Any, dict[str, str]]] = []
    for i in range(60):
        body = {"hostEmail": rng.choice(HOSTS), "meetingIds": rng.sample(SERIES, rng.randint(1, 6))}
        jobs.append(("reassign", "POST", "/meetings/reassignHost", body, {}))
        people = rng.sample(ROOMERS, rng.randint(1, 5))
        items = [{"email": e, "systemGenerated": True} for e in people]
        jobs.append(("refresh", "POST", REFRESH, {"siteUrl": SITE, "personalMeetingRoomIds": items}, {}))
        if i % 4 == 0:
            jobs.append(("read", "GET", f"/meetings?hostEmail={rng.choice(HOSTS)}", None, {}))
            jobs.append(("read", "GET", f"/meetings/{rng.choice(SERIES)}", None, {}))
    for k in range(4):  # each key sent three times, to all three servers
        items = [{"email": ROOMERS[k], "systemGenerated": True}]
        body = {"siteUrl": SITE, "personalMeetingRoomIds": items}
        for _ in range(3):
            jobs.insert(
                rng.randrange(len(jobs)), ("keyed", "POST", REFRESH, body, {"Idempotency-Key": f"k{k}"})
            )
    return jobs


def test_three_servers_under_a_mixed_storm(database_url: str, engine: Engine, tmp_path: Path) -> None:
    fixture = _fixture(tmp_path)
    jobs = _jobs(random.Random(15))
    with ExitStack() as stack:
        ports = [stack.enter_context(serving("--database-url", database_url, "--fixture", str(fixture)))]
        ports += [stack.enter_context(serving("--database-url", database_url)) for _ in range(2)]
        clients = [
            stack.enter_context(
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}/v1",
                    headers={"Authorization": f"Bearer {ADMIN}"},
                    timeout=60,
                )
            )
            for port in ports
        ]

        def send(numbered: tuple[int, tuple[str, str, str, Any, dict[str, str]]]) -> tuple[str, Any, Any]:
            n, (kind, method, path, body, headers) = numbered
            r = clients[n % 3].request(method, path, json=body, headers=headers)
            return kind, body, r

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(send, enumerate(jobs)))

    statuses = Counter((kind, r.status_code) for kind, _, r in results)
    assert {status for _, status in statuses} <= {200, 204}, statuses

    with Session(engine) as session:
        hosts = dict(
            session.execute(
                select(MeetingSeries.id, Person.email)
                .join(Person, Person.id == MeetingSeries.host_id)
                .where(MeetingSeries.id.in_(SERIES))
            ).all()
        )
        moves = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "reassignHost", AuditEvent.target_id.in_(SERIES))
            .order_by(AuditEvent.created, AuditEvent.id)
        ).all()
        notices = session.scalar(
            select(func.count()).select_from(Notice).where(Notice.kind == "meetingCancelled")
        )
        refreshes = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "refreshPersonalMeetingRoomId")
        ).all()
        rooms = session.execute(
            select(Person.email, PersonalRoomId.room_id, PersonalRoomId.active)
            .join(Person, Person.id == PersonalRoomId.person_id)
            .where(Person.email.in_(HOSTS + ROOMERS))
        ).all()

    # reassignments: one chain per series, from its first host to its host now; a notice per move
    assert moves, "the storm must have moved meetings"
    assert notices == len(moves)
    chain: dict[str, str] = dict.fromkeys(SERIES, HOSTS[0])
    for event in moves:
        assert event.data["oldHostEmail"] == chain[event.target_id], event.target_id
        assert event.data["newHostEmail"] != event.data["oldHostEmail"]
        chain[event.target_id] = event.data["newHostEmail"]
    assert chain == hosts

    # refreshes: each answered 200 item is one audit event; the keyed ones once per key
    answered = [
        item["personalMeetingRoomId"]
        for kind, _, r in results
        if kind == "refresh"
        for item in r.json()["personalMeetingRoomIds"]
    ]
    keyed: dict[str, set[bytes]] = defaultdict(set)
    for kind, body, r in results:
        if kind == "keyed":
            keyed[body["personalMeetingRoomIds"][0]["email"]].add(r.content)
    assert all(len(answers) == 1 for answers in keyed.values()), keyed
    assert len(refreshes) == len(answered) + len(keyed)

    # each person's trail is a chain from the first room ID to the active one; no ID held twice
    owner = {room.lower(): email for email, room, _ in rooms}
    assert len(owner) == len(rooms)
    active = Counter(email for email, _, is_active in rooms if is_active)
    assert set(active.values()) == {1}
    for room in answered:
        assert room.lower() in owner
    trail: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event in refreshes:
        trail[event.data["email"]].append(
            (event.data["oldPersonalMeetingRoomId"], event.data["newPersonalMeetingRoomId"])
        )
    for email in ROOMERS:
        links = dict(trail[email])
        assert len(links) == len(trail[email]), email  # no ID left twice
        current = f"storm-{email.split('@')[0]}"
        while current in links:
            assert owner[links[current].lower()] == email
            current = links.pop(current)
        assert not links, email  # every change is on the chain
        assert (email, current, True) in {(e, r, a) for e, r, a in rooms}, email
