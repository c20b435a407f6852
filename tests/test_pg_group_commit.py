"""Group commit on PostgreSQL (store/pg_group_commit.py): the writes waiting together run in one
transaction, each unit in a savepoint, its writes sent with the next unit's first statements, and one
COMMIT. Each unit is still all or nothing; a unit after the first never waits for a lock; a unit whose
write fails in the next unit's round trip is found out and fails alone."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from meetadmin.api.operations import GROUP_ITEMS
from meetadmin.store.driver import run_later, run_sql
from meetadmin.store.pg_group_commit import PgGroupCommit
from meetadmin.store.writer import Writer
from tests.conftest import BACKENDS
from tests.test_lost_connection import _kill_pooled_connection
from tests.test_reassign_http import JOHN_EMAIL, hosts, reassign
from tests.worlds import PLANNING, WEBINAR

pytestmark = pytest.mark.parametrize(
    "database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True
)
Unit = Callable[[Connection], Any]


def probe(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (n INTEGER NOT NULL, note TEXT NOT NULL)"))


def unit(n: int, fail: bool = False, bad_write: bool = False) -> Unit:
    """Reads (a round trip), then writes row ``n`` without waiting (deferred); then fails if asked, or
    writes a row PostgreSQL refuses (NULL note), which only the next round trip finds out."""

    def work(conn: Connection) -> int:
        run_sql(conn, "SELECT count(*) FROM probe WHERE n = ?", [n])
        run_later(conn, "INSERT INTO probe (n, note) VALUES (?, ?)", [n, "ok"])
        if bad_write:
            run_later(conn, "INSERT INTO probe (n, note) VALUES (?, ?)", [n, None])
        if fail:
            raise RuntimeError(f"unit {n} failed")
        return n

    return work


def rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT n FROM probe")).scalars())


def together(writer: Writer, units: list[Unit]) -> list[Any]:
    """Submit ``units`` at the same moment (one group); every outcome, results and exceptions."""

    async def scenario() -> list[Any]:
        return list(await asyncio.gather(*(writer.write(u) for u in units), return_exceptions=True))

    return asyncio.run(scenario())


def group_of(writer: Writer) -> PgGroupCommit:
    assert isinstance(writer.group, PgGroupCommit)
    return writer.group


def test_units_waiting_together_take_one_round_trip_each_and_one_commit(engine: Engine) -> None:
    probe(engine)
    writer = Writer(engine)
    syncs: list[int] = []
    with tempfile.TemporaryFile("w+") as trace:

        def traced_first(conn: Connection) -> int:
            pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(1)  # no timestamps
            return unit(1)(conn)

        assert together(writer, [traced_first] + [unit(n) for n in range(2, 6)]) == [1, 2, 3, 4, 5]
        with engine.connect() as conn:  # the group's connection, back in the pool: stop tracing it
            conn.connection.driver_connection.pgconn.untrace()  # type: ignore[union-attr]
        trace.seek(0)
        sent = [line.split("\t") for line in trace.read().splitlines()]
        syncs.append(sum(1 for fields in sent if fields[0] == "F" and fields[2:3] == ["Sync"]))
    assert group_of(writer).groups == 1
    assert syncs == [6]  # five reads, each with the writes before it, then the last writes and COMMIT
    assert rows(engine) == [1, 2, 3, 4, 5]


def test_a_failing_unit_is_undone_alone(engine: Engine) -> None:
    probe(engine)
    writer = Writer(engine)
    results = together(writer, [unit(n, fail=n == 3) for n in range(1, 6)])
    assert results[:2] == [1, 2] and results[3:] == [4, 5]
    assert isinstance(results[2], RuntimeError)
    assert (group_of(writer).groups, group_of(writer).redone) == (1, 0)
    assert rows(engine) == [1, 2, 4, 5]


@pytest.mark.parametrize("bad", [3, 5], ids=["found-by-the-next-unit", "found-by-commit"])
def test_a_write_that_fails_after_its_unit_ended_fails_that_unit_alone(engine: Engine, bad: int) -> None:
    """Unit ``bad``'s refused write goes out after the unit has returned (with the next unit's read, or
    with COMMIT): the group runs again with each unit's writes sent before it ends, and only that unit
    fails, with its own error."""
    probe(engine)
    writer = Writer(engine)
    results = together(writer, [unit(n, bad_write=n == bad) for n in range(1, 6)])
    assert isinstance(results[bad - 1], IntegrityError)
    assert [r for r in results if not isinstance(r, Exception)] == [n for n in range(1, 6) if n != bad]
    assert group_of(writer).redone == 1
    assert rows(engine) == [n for n in range(1, 6) if n != bad]


def test_a_unit_that_meets_a_lock_goes_to_the_next_group_without_holding_up_this_one(engine: Engine) -> None:
    """Unit 2 needs a row another transaction holds: it does not wait inside the group (holding unit 1's
    locks); unit 1 is committed at once, and unit 2 runs first in the next group, waiting there."""
    probe(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO probe (n, note) VALUES (0, 'locked')"))
    writer = Writer(engine)
    seen_while_locked: list[list[int]] = []

    def update_locked(conn: Connection) -> int:
        return len(run_sql(conn, "UPDATE probe SET note = ? WHERE n = ? RETURNING n", ["changed", 0]))

    async def scenario() -> list[Any]:
        locker = engine.connect()
        locker.execute(text("SELECT n FROM probe WHERE n = 0 FOR UPDATE"))

        def release() -> None:
            seen_while_locked.append(rows(engine))
            locker.commit()
            locker.close()

        asyncio.get_running_loop().call_later(0.5, release)
        units = [unit(1), update_locked, unit(3)]
        return list(await asyncio.gather(*(writer.write(u) for u in units), return_exceptions=True))

    assert asyncio.run(scenario()) == [1, 1, 3]
    assert seen_while_locked == [[0, 1]]  # unit 1 was durable while unit 2 still waited for the lock
    assert group_of(writer).busy == 1 and group_of(writer).groups == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM probe WHERE n = 0")).scalar_one() == "changed"


def test_a_group_on_a_dead_pooled_connection_runs_again_on_a_fresh_one(engine: Engine) -> None:
    probe(engine)
    writer = Writer(engine)
    assert together(writer, [unit(1)]) == [1]
    _kill_pooled_connection(engine)
    assert together(writer, [unit(n) for n in (2, 3, 4)]) == [2, 3, 4]
    assert rows(engine) == [1, 2, 3, 4]


def test_small_writes_go_in_groups_and_big_ones_alone(client: Any, engine: Engine, world: Any) -> None:
    """Through the API: a reassignment of one meeting is a unit of a group; one of more than
    ``GROUP_ITEMS`` meetings runs in a transaction of its own, and moves its meetings all the same."""
    group = group_of(client.app.state.writer)
    assert reassign(client, JOHN_EMAIL, [PLANNING]).status_code == 204
    assert group.groups == 1
    unknown = [f"{n:032x}" for n in range(GROUP_ITEMS)]
    answer = reassign(client, JOHN_EMAIL, [WEBINAR, *unknown])
    assert answer.status_code == 207  # the unknown ones are 404 items; the webinar moved
    assert group.groups == 1
    assert hosts(engine)[WEBINAR] == JOHN_EMAIL
