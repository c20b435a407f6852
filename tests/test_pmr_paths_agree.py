"""The refresh's quick path is only a faster way to carry out the planner's plan: for small generated
organisations and requests, a refresh with the quick path and one without it (``quick=False``) leave
the same personal room rows and the same audit events (ids and times aside), and answer the same.

Each example loads one organisation into two fresh databases (SQLite, and PostgreSQL when
``MEETADMIN_TEST_POSTGRES_URL`` is set) and runs the request through the real service on each, with
the same clock and the same stream of generated IDs from a tiny ID space, so that generated IDs
collide with held, reserved and expired ones and with each other.
"""

from __future__ import annotations

import random
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from meetadmin.domain.pmr import RoomIdRequest, RoomIdRule
from meetadmin.errors import ApiError
from meetadmin.services import pmr
from meetadmin.services.pmr import REFRESH_RETRY, RefreshOutcome, check_refresh, refresh_room_ids
from meetadmin.store.db import begin, make_engine, normalise_url
from meetadmin.store.models import AuditEvent, Base, Person, PersonalRoomId, Site
from meetadmin.store.tokens import find_token_owner
from meetadmin.store.writer import Writer
from tests.conftest import BACKENDS, PG_URL, _admin_engine, load_world

SITE = "paths.webex.com"
TOKEN = "paths-admin-token"
NOW = datetime(2026, 6, 1, 12, 0)
PEOPLE = 5
POOL = [f"rm{i}" for i in range(6)]  # the IDs rows and explicit requests use
SPACE = [*POOL, "gen0", "gen1", "gen2"]  # the tiny space generated IDs come from


@dataclass(frozen=True)
class Existing:
    room_id: str
    owner: int
    state: str  # "active", "reserved" (quarantine running) or "expired"


@dataclass(frozen=True)
class Case:
    hosts: list[bool]
    rooms: list[Existing]
    items: list[RoomIdRequest]
    seed: int


def _spelling(room_id: str, upper: bool) -> str:
    return room_id.upper() if upper else room_id


@st.composite
def cases(draw: st.DrawFn) -> Case:
    hosts = draw(st.lists(st.sampled_from([True, True, True, False]), min_size=PEOPLE, max_size=PEOPLE))
    rooms: list[Existing] = []
    active: set[int] = set()
    for room_id in POOL:
        if not draw(st.booleans()):
            continue
        owner = draw(st.integers(0, PEOPLE - 1))
        state = draw(st.sampled_from(["active", "reserved", "expired"]))
        if state == "active" and owner in active:
            state = "reserved"
        if state == "active":
            active.add(owner)
        rooms.append(Existing(_spelling(room_id, draw(st.booleans())), owner, state))
    who = draw(st.lists(st.integers(0, PEOPLE - 1), min_size=1, max_size=4))
    if draw(st.booleans()):
        items = [RoomIdRequest(email=f"p{n}@paths.example", system_generated=True) for n in who]
    else:
        items = [
            RoomIdRequest(
                email=f"p{n}@paths.example",
                room_id=_spelling(draw(st.sampled_from([*POOL, "new0", "new1"])), draw(st.booleans())),
            )
            for n in who
        ]
    return Case(hosts, rooms, items, draw(st.integers(0, 2**32)))


def _world(case: Case) -> dict[str, Any]:
    return {
        "org": {"id": "paths", "name": "Paths Inc."},
        "sites": [{"siteUrl": SITE, "pmrIdRule": {"prefix": "pr", "siteCode": "PT", "digits": 4}}],
        "people": [
            {"email": "admin@paths.example", "displayName": "Admin", "admin": True, "preferredSite": SITE},
            *[
                {"email": f"p{n}@paths.example", "displayName": f"P {n}", "sites": {SITE: {"host": host}}}
                for n, host in enumerate(case.hosts)
            ],
        ],
        "tokens": [
            {"token": TOKEN, "person": "admin@paths.example", "scopes": ["meeting:admin_preferences_write"]}
        ],
    }


def _load(engine: Engine, case: Case) -> None:
    load_world(engine, _world(case))
    with begin(engine, write=True) as conn:
        site_id = conn.execute(select(Site.id).where(Site.site_url == SITE)).scalar_one()
        keys = {r.email: r.id for r in conn.execute(select(Person.email, Person.id))}
        conn.execute(delete(PersonalRoomId))  # the loader gave every host a room: ours instead
        for room in case.rooms:
            until = {"active": None, "reserved": NOW + timedelta(days=3), "expired": NOW - timedelta(days=3)}
            conn.execute(
                insert(PersonalRoomId).values(
                    site_id=site_id,
                    person_id=keys[f"p{room.owner}@paths.example"],
                    room_id=room.room_id,
                    room_key=room.room_id.lower(),
                    active=room.state == "active",
                    released_at=None if room.state == "active" else NOW - timedelta(days=30),
                    reserved_until=until[room.state],
                )
            )


def _run(engine: Engine, case: Case, quick: bool, paths: Counter[str]) -> Any:
    """The request through the real service; its answer (or error) and what it left in the database."""
    with Session(engine) as session:
        caller = find_token_owner(session, TOKEN)
    assert caller is not None
    stream = random.Random(case.seed)
    spy = pmr._refresh_quickly

    def quickly(*args: Any) -> bool:
        done = spy(*args)
        paths["quick" if done else "stepped back"] += 1
        return done

    with (
        mock.patch.object(pmr, "utcnow", lambda: NOW),
        mock.patch.object(RoomIdRule, "generate_many", lambda _rule, n: stream.choices(SPACE, k=n)),
        mock.patch.object(pmr, "_refresh_quickly", quickly),
    ):
        try:
            request = check_refresh(caller, SITE, case.items)
            outcome: Any = Writer(engine, group_commit=False).write_now(
                lambda conn: refresh_room_ids(conn, request, "tracking-1", quick=quick), retry=REFRESH_RETRY
            )
            assert isinstance(outcome, RefreshOutcome)
        except ApiError as exc:
            outcome = (type(exc).__name__, exc.descriptions)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Person.email,
                PersonalRoomId.room_id,
                PersonalRoomId.room_key,
                PersonalRoomId.active,
                PersonalRoomId.released_at,
                PersonalRoomId.reserved_until,
            )
            .join(Person, Person.id == PersonalRoomId.person_id)
            .order_by(PersonalRoomId.room_key)
        ).all()
        events = conn.execute(
            select(
                AuditEvent.actor_id,
                AuditEvent.category,
                AuditEvent.action,
                AuditEvent.target_type,
                AuditEvent.target_id,
                AuditEvent.target_name,
                AuditEvent.tracking_id,
                AuditEvent.data,
            ).order_by(AuditEvent.target_name)
        ).all()
    return outcome, [tuple(r) for r in rows], [tuple(e) for e in events]


@pytest.fixture(params=BACKENDS)
def fresh_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Engine]]:
    """Makes fresh, migrated databases for the examples of one test, two at a time (the engine made two
    calls before is disposed): on SQLite a copy of the migrated template each; on PostgreSQL two
    databases made once and emptied before each use (keys start at 1 again), as a database per example
    would take minutes."""
    engines: list[Engine] = []
    databases: list[str] = []

    def make() -> Engine:
        if request.param == "sqlite":
            if len(engines) >= 2:
                engines.pop(0).dispose()
            template: Path = request.getfixturevalue("sqlite_template")
            path = tmp_path_factory.mktemp("paths") / "meetadmin.db"
            shutil.copyfile(template, path)
            engine = make_engine(f"sqlite:///{path}", pool_size=2)
            # durability is not what this test is about: no waits for the disk
            event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA synchronous=OFF"))
            engines.append(engine)
            return engine
        if not databases:
            template_name: str = request.getfixturevalue("pg_template")
            admin = _admin_engine()
            with admin.connect() as conn:
                for _ in range(2):
                    databases.append(f"meetadmin_p_{uuid.uuid4().hex[:12]}")
                    conn.execute(text(f'CREATE DATABASE "{databases[-1]}" TEMPLATE "{template_name}"'))
            admin.dispose()
            for name in databases:
                url = make_url(normalise_url(PG_URL)).set(database=name)
                # durability is not what this test is about: commits don't wait for the disk
                url = url.update_query_dict({"options": "-c synchronous_commit=off"})
                engines.append(make_engine(url.render_as_string(False), 2))
        engines.append(engine := engines.pop(0))
        with begin(engine, write=True) as conn:  # DELETE: a TRUNCATE of every table takes 60 times as long
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
                if "id" in table.c:
                    conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)")
                    )
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if databases:
        admin = _admin_engine()
        with admin.connect() as conn:
            for name in databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_quick_path_and_the_general_path_leave_the_same_rows(fresh_engine: Callable[[], Engine]) -> None:
    paths: Counter[str] = Counter()

    @settings(
        max_examples=40,
        derandomize=True,  # the same examples every run: a CI run can't draw a set that misses a path
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=cases())
    def agree(case: Case) -> None:
        results = []
        for quick in (True, False):
            engine = fresh_engine()
            _load(engine, case)
            results.append(_run(engine, case, quick, paths))
        with_quick, without = results
        assert with_quick == without

    agree()
    # both ways out of the quick path were taken, and general refreshes changed rows
    assert paths["quick"] > 0 and paths["stepped back"] > 0, paths
