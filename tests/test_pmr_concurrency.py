"""Racing personal room ID refreshes through two real server processes sharing one database.

On PostgreSQL the two processes really run transactions side by side: a tiny ID space (4 digits) makes
concurrently generated IDs collide, and the unique index plus retries must keep every ID with one
person. On SQLite the same test runs two processes on one database file (its writers queue).

What a client may see, documented: 200 for every systemGenerated refresh; for explicit IDs that several
people ask for at once, exactly one 200 and 400 "Personal meeting room ID is being used by someone else."
for the others; the same Idempotency-Key sent to both servers at once answers one stored response. Never a
5xx.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from meetadmin.domain.pmr import ROOM_ID_IN_USE
from meetadmin.store.models import AuditEvent, Person, PersonalRoomId, Site
from tests.test_cli import serving
from tests.worlds import ADMIN, SITE, example_world

HOSTS = [f"h{i:02d}@example.com" for i in range(40)]
RIVALS = [f"c{i:02d}@example.com" for i in range(12)]
URL = "/admin/meetingPreferences/personalMeetingRoom/refreshId"


def _world(tmp_path: Path) -> Path:
    doc = example_world()
    doc["sites"][0]["pmrIdRule"] = {"prefix": "pr", "siteCode": "ABCD", "digits": 4}
    doc["people"] += [
        {
            "email": email,
            "displayName": f"Host {i}",
            "sites": {SITE: {"host": True, "personalMeetingRoomId": f"start-{i:02d}"}},
        }
        for i, email in enumerate(HOSTS + RIVALS)
    ]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_racing_refreshes_never_share_an_id(database_url: str, engine: Engine, tmp_path: Path) -> None:
    fixture = _world(tmp_path)
    # 40 systemGenerated refreshes of 20 people each: two disjoint groups, so requests of different
    # groups run side by side (and collide on generated IDs), requests of one group queue on row locks.
    generated = [
        {"siteUrl": SITE, "personalMeetingRoomIds": [{"email": e, "systemGenerated": True} for e in group]}
        for i in range(40)
        for group in [HOSTS[:20] if i % 2 == 0 else HOSTS[20:]]
    ]
    # 3 contested IDs, each asked for by 4 other people at once
    contested = [
        {
            "siteUrl": SITE,
            "personalMeetingRoomIds": [{"email": RIVALS[n * 4 + k], "personalMeetingRoomId": f"Hot-{n}"}],
        }
        for n in range(3)
        for k in range(4)
    ]
    keyed = {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [{"email": "john.andersen@example.com", "systemGenerated": True}],
    }

    with (
        serving("--database-url", database_url, "--fixture", str(fixture)) as port_a,
        serving("--database-url", database_url) as port_b,
    ):
        clients = [
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}/v1",
                headers={"Authorization": f"Bearer {ADMIN}"},
                timeout=60,
            )
            for port in (port_a, port_b)
        ]
        jobs: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        for i in range(max(len(generated), len(contested))):
            if i < len(generated):
                jobs.append(("generated", generated[i], {}))
            if i < len(contested):
                jobs.append(("contested", contested[i], {}))
            if i < 6:
                jobs.append(("keyed", keyed, {"Idempotency-Key": "one-refresh"}))

        def send(
            n_job: tuple[int, tuple[str, dict[str, Any], dict[str, str]]],
        ) -> tuple[str, dict[str, Any], Any]:
            n, (kind, body, headers) = n_job
            r = clients[n % 2].post(URL, json=body, headers=headers)
            return kind, body, r

        try:
            with ThreadPoolExecutor(max_workers=12) as pool:
                results = list(pool.map(send, enumerate(jobs)))
        finally:
            for client in clients:
                client.close()

    statuses = Counter((kind, r.status_code) for kind, _, r in results)
    assert all(status < 500 for _, status in statuses), statuses
    assert statuses[("generated", 200)] == 40, statuses
    assert statuses[("keyed", 200)] == 6, statuses

    # every generated ID was handed out once only, and follows the rule
    handed: list[str] = [
        item["personalMeetingRoomId"]
        for kind, _, r in results
        if kind == "generated"
        for item in r.json()["personalMeetingRoomIds"]
    ]
    assert len(handed) == 800
    assert len({h.lower() for h in handed}) == 800
    assert all(len(h) == 10 and h.startswith("prABCD") for h in handed)

    # contested IDs: one winner each, everyone else told the ID is taken
    for n in range(3):
        answers = [
            r
            for kind, body, r in results
            if kind == "contested"
            and body["personalMeetingRoomIds"][0]["personalMeetingRoomId"] == f"Hot-{n}"
        ]
        assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]
        for r in answers:
            if r.status_code == 400:
                assert [e["description"] for e in r.json()["errors"]] == [ROOM_ID_IN_USE]

    # the keyed duplicates: one piece of work, one answer
    keyed_answers = {r.content for kind, _, r in results if kind == "keyed"}
    assert len(keyed_answers) == 1

    with Session(engine) as session:
        site_id = session.scalar(select(Site.id).where(Site.site_url == SITE))
        rows = session.execute(
            select(Person.email, PersonalRoomId.room_key, PersonalRoomId.active)
            .join(Person, Person.id == PersonalRoomId.person_id)
            .where(PersonalRoomId.site_id == site_id)
        ).all()
        events = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "refreshPersonalMeetingRoomId")
        )
    keys = Counter(key for _, key, _ in rows)
    assert max(keys.values()) == 1  # no ID held twice, active or quarantined
    active_per_person = Counter(email for email, _, active in rows if active)
    assert set(active_per_person.values()) == {1}
    assert set(HOSTS + RIVALS) <= set(active_per_person)
    winners = [r for kind, _, r in results if kind == "contested" and r.status_code == 200]
    # each change was recorded once: 800 generated + the contested winners + one keyed refresh
    assert events == 800 + len(winners) + 1
    hot = {key for _, key, active in rows if key.startswith("hot-") and active}
    assert hot == {"hot-0", "hot-1", "hot-2"}
