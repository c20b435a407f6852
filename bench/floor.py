"""The floor the issues measure against: the bare minimum doing the same durable change.

    .venv/bin/python bench/floor.py [--sizes 1000,100000] [--duration 5]

A raw ASGI app under uvicorn (httptools, uvloop) with raw ``sqlite3`` on the benchmark organisation, WAL
and full sync, one thread, no framework, no checks beyond the rules: a bearer token looked up once, the
new host's privilege, the series read, the host changed, an audit row per moved series; for personal
rooms, the people read, a new ID per person (the site's rule), the old ID released and an audit row each
(old and new ID); and the notice meetadmin must queue in the same transaction for each change (an e-mail
outbox row with the same columns and payload fields: the old host told of the cancelled meeting, the
person of their new room link). SQLite is tuned as meetadmin tunes it (journals in memory, a 32 MiB page
cache, a checkpoint every 4,000 pages), and audit rows are keyed by time-ordered IDs as meetadmin's are:
random ones would scatter 100 inserts a request over the audit table's key index, a cost no sane
implementation pays. It prints requests/s under load (16 connections) and p50 unloaded, like ``run.py``,
so that meetadmin's figures can be read against what this machine does on the same day.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
import world
from common import SCENARIOS, Requests, free_port, wait_for_health

AUDIT = (
    "INSERT INTO audit_events (id, org_id, created, actor_id, category, action, target_type, "
    "target_id, target_name, tracking_id, data) "
    "VALUES (?, ?, ?, ?, 'MEETINGS', '{action}', '{target}', ?, '', 't', ?)"
)
NOTICE = (
    "INSERT INTO notices (org_id, kind, recipient, recipient_key, subject, payload, created) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def ordered_id() -> str:
    """A time-ordered UUID (version 7 layout): audit rows are appended to their key index."""
    h = f"{(time.time_ns() // 1_000_000) << 80 | random.getrandbits(80):032x}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-{h[16:20]}-{h[20:]}"


class Floor:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "temp_store=MEMORY",
            "cache_size=-32768",
            "wal_autocheckpoint=4000",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.tokens: dict[str, tuple[int, str]] = {}

    def caller(self, headers: list[tuple[bytes, bytes]]) -> tuple[int, str] | None:
        auth = dict(headers).get(b"authorization", b"").decode()
        digest = hashlib.sha256(auth.removeprefix("Bearer ").encode()).hexdigest()
        if digest not in self.tokens:
            row = self.db.execute(
                "SELECT p.id, p.org_id FROM api_tokens t JOIN people p ON p.id = t.person_id "
                "WHERE t.token_hash = ?",
                (digest,),
            ).fetchone()
            if row is None:
                return None
            self.tokens[digest] = (row[0], row[1])
        return self.tokens[digest]

    def reassign(self, actor: tuple[int, str], body: dict[str, Any]) -> int:
        db = self.db
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        db.execute("BEGIN IMMEDIATE")
        try:
            host = db.execute(
                "SELECT p.id FROM people p JOIN host_privileges h ON h.person_id = p.id "
                "WHERE p.email_key = ? AND p.org_id = ? AND h.host",
                (body["hostEmail"].lower(), actor[1]),
            ).fetchone()
            if host is None:
                db.execute("ROLLBACK")
                return 403
            ids = body["meetingIds"]
            marks = ",".join("?" * len(ids))
            rows = db.execute(
                "SELECT s.id, s.host_id, s.state, s.scheduled_type, s.title, s.start, s.timezone, "
                "s.recurrence, p.email, p.display_name FROM meeting_series s "
                f"JOIN people p ON p.id = s.host_id WHERE s.id IN ({marks}) AND s.org_id = ?",
                (*ids, actor[1]),
            ).fetchall()
            moved = [r for r in rows if r[2] != "inProgress" and r[1] != host[0]]
            moving = [r[0] for r in moved]
            marks = ",".join("?" * len(moving))
            db.execute(
                f"UPDATE meeting_series SET host_id = ?, updated = ? WHERE id IN ({marks})",
                (host[0], now, *moving),
            )
            reason = f"The meeting was reassigned to {body['hostEmail']} by the admin."
            db.executemany(
                NOTICE,
                [
                    (
                        actor[1],
                        "meetingCancelled",
                        r[8],
                        r[8].lower(),
                        f"Cancelled: {r[4]}",
                        _json(
                            {
                                "meetingId": r[0],
                                "title": r[4],
                                "siteUrl": "site",
                                "reason": reason,
                                "trackingId": "t",
                                "hostName": r[9],
                                "newHostEmail": body["hostEmail"],
                                "changedBy": "admin",
                                "start": r[5],
                                "timezone": r[6],
                                "recurrence": r[7],
                            }
                        ),
                        now,
                    )
                    for r in moved
                ],
            )
            db.executemany(
                AUDIT.format(action="reassignHost", target="MEETING_SERIES"),
                [
                    (
                        ordered_id(),
                        actor[1],
                        now,
                        actor[0],
                        m,
                        _json({"newHost": body["hostEmail"]}),
                    )
                    for m in moving
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return 204 if len(rows) == len(ids) else 207

    def refresh(self, actor: tuple[int, str], body: dict[str, Any]) -> int:
        db = self.db
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        db.execute("BEGIN IMMEDIATE")
        try:
            site = db.execute(
                "SELECT id, pmr_prefix, pmr_site_code, pmr_digits FROM sites WHERE site_url = ?",
                (body["siteUrl"],),
            ).fetchone()
            emails = [item["email"].lower() for item in body["personalMeetingRoomIds"]]
            marks = ",".join("?" * len(emails))
            people = db.execute(
                f"SELECT email_key, id, email, display_name FROM people WHERE email_key IN ({marks}) "
                "AND org_id = ?",
                (*emails, actor[1]),
            ).fetchall()
            person_of = {p[0]: p[1] for p in people}
            named = {p[1]: (p[2], p[3]) for p in people}
            keys = list(person_of.values())
            marks = ",".join("?" * len(keys))
            old = dict(
                db.execute(
                    f"UPDATE personal_room_ids SET active = 0, released_at = ? "
                    f"WHERE site_id = ? AND person_id IN ({marks}) AND active RETURNING person_id, room_id",
                    (now, site[0], *keys),
                ).fetchall()
            )
            given = {  # explicit IDs: the unique index refuses one that is taken
                person_of[item["email"].lower()]: item["personalMeetingRoomId"]
                for item in body["personalMeetingRoomIds"]
                if "personalMeetingRoomId" in item
            }
            rooms: dict[int, str] = dict(given)
            while len(rooms) < len(keys):  # draw again for any drawn ID that is taken
                drawn = {
                    key: f"{site[1]}{site[2]}{random.randrange(10 ** site[3]):0{site[3]}d}"
                    for key in keys
                    if key not in rooms
                }
                marks = ",".join("?" * len(drawn))
                taken = {
                    r[0]
                    for r in db.execute(
                        f"SELECT room_key FROM personal_room_ids WHERE site_id = ? AND room_key IN ({marks})",
                        (site[0], *(d.lower() for d in drawn.values())),
                    )
                }
                rooms.update((k, d) for k, d in drawn.items() if d.lower() not in taken)
            fresh = [(site[0], key, room, room.lower()) for key, room in rooms.items()]
            db.executemany(
                "INSERT INTO personal_room_ids (site_id, person_id, room_id, room_key, active) "
                "VALUES (?, ?, ?, ?, 1)",
                fresh,
            )
            db.executemany(
                AUDIT.format(action="refreshPersonalMeetingRoomId", target="PERSON"),
                [
                    (
                        ordered_id(),
                        actor[1],
                        now,
                        actor[0],
                        str(f[1]),
                        _json({"old": old.get(f[1]), "new": f[2]}),
                    )
                    for f in fresh
                ],
            )
            db.executemany(
                NOTICE,
                [
                    (
                        actor[1],
                        "personalRoomChanged",
                        named[f[1]][0],
                        named[f[1]][0].lower(),
                        f"Your personal room on {body['siteUrl']} has a new link",
                        _json(
                            {
                                "email": named[f[1]][0],
                                "displayName": named[f[1]][1],
                                "siteUrl": body["siteUrl"],
                                "oldRoomId": old.get(f[1]),
                                "newRoomId": f[2],
                                "changedBy": "admin",
                            }
                        ),
                        now,
                    )
                    for f in fresh
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return 200


def make_app(path: str) -> Any:
    floor = Floor(path)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        actor = floor.caller(scope["headers"])
        if scope["path"] == "/health":
            status = 200
        elif actor is None:
            status = 401
        elif scope["path"] == "/v1/meetings/reassignHost":
            status = floor.reassign(actor, orjson.loads(body))
        else:
            status = floor.refresh(actor, orjson.loads(body))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return app


def serve(path: str, port: int) -> None:
    import uvicorn

    uvicorn.run(make_app(path), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def measure(
    size: int, people: int, duration: float, connections: int, scenarios: tuple[str, ...] = SCENARIOS
) -> dict[str, tuple[float, float, float]]:
    """Serve a fresh organisation of ``size`` series with the floor and load it: per scenario, requests/s
    under load and p50 under load and on one connection (ms)."""
    path = f"{tempfile.mkdtemp(prefix='meetadmin-floor-')}/floor.db"
    world.create(f"sqlite:///{path}", size, people)
    port = free_port()
    server = multiprocessing.Process(target=serve, args=(path, port), daemon=True)
    server.start()
    try:
        wait_for_health(port)
        reqs = Requests(size, people, port)
        out: dict[str, tuple[float, float, float]] = {}
        for name in scenarios:
            make = reqs.scenario(name)
            asyncio.run(loadgen.run("127.0.0.1", port, make, 1, total=20))
            single = asyncio.run(loadgen.run("127.0.0.1", port, make, 1, duration=duration / 2))
            loaded = asyncio.run(loadgen.run("127.0.0.1", port, make, connections, duration=duration))
            if set(loaded.statuses) - {200, 204}:
                raise SystemExit(f"floor {name}: unexpected statuses {loaded.statuses}")
            out[name] = (loaded.rate(), loaded.percentile(50), single.percentile(50))
        return out
    finally:
        server.terminate()
        server.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(f"floor (raw ASGI + raw sqlite3, full sync); load: {args.connections} connections")
    for size in (int(s) for s in args.sizes.split(",")):
        figures = measure(size, args.people, args.duration, args.connections)
        print(f"\n## {size:,} series\n{'scenario':<20} {'req/s':>8} {'p50 load':>9} {'p50 1conn':>10}")
        for name, (rate, p50, p50_single) in figures.items():
            print(f"{name:<20} {rate:>8.0f} {p50:>8.1f}ms {p50_single:>9.1f}ms")


if __name__ == "__main__":
    main()
