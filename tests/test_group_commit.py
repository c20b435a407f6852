"""Group commit (store/group_commit.py): units that wait are committed together, each still all or
nothing. It serves SQLite only (PostgreSQL runs concurrent transactions itself), so these tests run on
an SQLite file of their own whatever backends the suite runs on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from meetadmin.store.group_commit import GroupCommit
from meetadmin.store.models import ApiToken, Notice


def notice(n: int, fail: bool = False, gate: threading.Event | None = None) -> Callable[[Connection], int]:
    """A unit of work that queues notice ``r<n>`` (and then fails, or first waits, if asked)."""

    def work(conn: Connection) -> int:
        if gate is not None:
            assert gate.wait(10)
        conn.execute(
            insert(Notice).values(
                org_id="example",
                kind="test",
                recipient=f"r{n}",
                subject="",
                payload={},
                created=datetime.now(),
            )
        )
        if fail:
            raise RuntimeError(f"unit {n} failed")
        return n

    return work


def recipients(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Notice.recipient).where(Notice.kind == "test")).scalars())


def behind_one_unit(group: GroupCommit, units: list[Callable[[Connection], int]]) -> list[object]:
    """Unit 1 (notice r1) holds the writer while ``units`` queue behind it, so that they are one group;
    every outcome, results and exceptions, in order."""
    gate = threading.Event()

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(group.run(notice(1, gate=gate)))
        await asyncio.sleep(0.1)  # the writer is inside unit 1; the others queue behind it
        rest = [asyncio.ensure_future(group.run(unit)) for unit in units]
        await asyncio.sleep(0.1)
        gate.set()
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    try:
        return asyncio.run(scenario())
    finally:
        group.close()


def test_waiting_units_commit_together_and_a_failing_one_alone_is_undone(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    results = behind_one_unit(group, [notice(n, fail=n == 3) for n in (2, 3, 4, 5)])
    assert results[:2] == [1, 2] and results[3:] == [4, 5]
    assert isinstance(results[2], RuntimeError)
    assert group.groups == 2  # unit 1 alone, then 2 to 5 in one transaction
    assert group.redone == 1  # unit 3 failed after writing: 2 to 5 ran again, each in a savepoint
    assert recipients(sqlite_engine) == {"r1", "r2", "r4", "r5"}


def test_a_unit_that_fails_before_changing_anything_fails_alone_without_a_second_pass(
    sqlite_engine: Engine,
) -> None:
    group = GroupCommit(sqlite_engine)
    runs: list[int] = []

    def counted(n: int) -> Callable[[Connection], int]:
        def work(conn: Connection) -> int:
            runs.append(n)
            return notice(n)(conn)

        return work

    def refused(conn: Connection) -> int:
        conn.execute(select(Notice.id).limit(1)).all()  # it reads, then refuses
        raise PermissionError("not allowed")

    results = behind_one_unit(group, [counted(2), refused, counted(4)])
    assert results[:2] == [1, 2] and results[3] == 4 and isinstance(results[2], PermissionError)
    assert (group.groups, group.redone) == (2, 0)
    assert runs == [2, 4]  # each ran once
    assert recipients(sqlite_engine) == {"r1", "r2", "r4"}


def test_a_unit_that_loses_a_race_after_writing_retries_in_the_second_pass(sqlite_engine: Engine) -> None:
    """A unit whose unique key was taken after it had written other rows: the group is run again,
    each unit in a savepoint, where the unit retries on its own and the rows of its lost attempt are gone."""
    from meetadmin.store.writer import Retry

    group = GroupCommit(sqlite_engine)
    attempts: list[int] = []

    def racing(conn: Connection) -> int:
        attempts.append(1)
        notice(len(attempts) + 10)(conn)  # r11, r12, r13
        if len(attempts) < 3:  # then loses the race for a key (here: takes one twice)
            for _ in range(2):
                conn.execute(
                    insert(Notice).values(
                        id=1,
                        org_id="example",
                        kind="test",
                        recipient="dup",
                        subject="",
                        payload={},
                        created=datetime.now(),
                    )
                )
        return len(attempts)

    retry = Retry(attempts=3, message="lost")
    try:
        assert asyncio.run(group.run(racing, retry)) == 3
    finally:
        group.close()
    assert group.redone == 1
    assert recipients(sqlite_engine) == {"r13"}


def test_a_unit_that_fails_after_its_own_transaction_leaves_nothing(sqlite_engine: Engine) -> None:
    """The lane hands a failed unit to the route, which does the work again: so a unit that raises after
    its inner transaction finished must not keep that transaction's changes."""
    group = GroupCommit(sqlite_engine)

    def committed_then_failed(conn: Connection) -> int:
        notice(7)(conn)
        raise ValueError("answering failed")

    try:
        with pytest.raises(ValueError):
            asyncio.run(group.run(committed_then_failed))
        assert asyncio.run(group.run(notice(8))) == 8
    finally:
        group.close()
    assert recipients(sqlite_engine) == {"r8"}


def test_every_connection_is_durable_and_keeps_its_journals_in_memory(sqlite_engine: Engine) -> None:
    """Group commit answers after the commit: that commit must reach the disk (WAL, synchronous=FULL).
    Savepoint and statement journals stay in memory (temp_store=MEMORY) instead of spilling to files,
    and the WAL is checkpointed every 4,000 pages rather than 1,000."""
    with sqlite_engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        got = {
            pragma: driver.execute(f"PRAGMA {pragma}").fetchone()[0]
            for pragma in ("journal_mode", "synchronous", "temp_store", "foreign_keys", "wal_autocheckpoint")
        }
    assert got == {
        "journal_mode": "wal",
        "synchronous": 2,
        "temp_store": 2,
        "foreign_keys": 1,
        "wal_autocheckpoint": 4000,
    }


def test_a_writer_thread_that_died_is_started_again(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    try:
        assert asyncio.run(group.run(notice(1))) == 1
        first = group._thread
        assert first is not None
        group._queue.put(None)  # the thread stops as if it had died; the group still holds it
        first.join(timeout=10)
        assert not first.is_alive()
        assert asyncio.run(group.run(notice(2))) == 2
        assert group._thread is not None and group._thread is not first and group._thread.is_alive()
    finally:
        group.close()
    assert recipients(sqlite_engine) == {"r1", "r2"}


def test_a_request_whose_event_loop_closed_does_not_stop_the_writer(sqlite_engine: Engine) -> None:
    """The client went away and its event loop closed while its unit was in a group: the unit's change
    stands (it was committed), nobody is told, and the writer goes on serving others."""
    group = GroupCommit(sqlite_engine)
    gate = threading.Event()
    try:
        with pytest.raises(TimeoutError):
            asyncio.run(asyncio.wait_for(group.run(notice(1, gate=gate)), 0.2))
        gate.set()  # the unit finishes after its loop has closed: settling it fails, quietly
        assert asyncio.run(group.run(notice(2))) == 2
        assert group._thread is not None and group._thread.is_alive()
    finally:
        group.close()
    assert recipients(sqlite_engine) == {"r1", "r2"}


def test_a_failed_commit_fails_every_unit_of_the_group(sqlite_engine: Engine) -> None:
    """Each unit's statements succeed, but the group's COMMIT fails (a deferred foreign
    key is checked only then): every unit gets the error and nothing of the group is kept."""
    group = GroupCommit(sqlite_engine)
    gate = threading.Event()

    def dangling(conn: Connection) -> int:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        conn.execute(
            insert(ApiToken).values(
                token_hash="dangling",
                person_id=999_999,  # no such person
                scopes="",
                created=datetime.now(),
            )
        )
        return 9

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(group.run(notice(1, gate=gate)))
        await asyncio.sleep(0.1)  # unit 1 holds the writer; the next three form one group
        rest = [asyncio.ensure_future(group.run(w)) for w in (notice(2), dangling, notice(3))]
        await asyncio.sleep(0.1)
        gate.set()
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    try:
        results = asyncio.run(scenario())
        assert results[0] == 1
        assert all(isinstance(r, IntegrityError) for r in results[1:]), results
        assert len({id(r) for r in results[1:]}) == 1  # the one failure of the group's commit
        assert asyncio.run(group.run(notice(4))) == 4  # the next group commits as usual
    finally:
        group.close()
    assert recipients(sqlite_engine) == {"r1", "r4"}
