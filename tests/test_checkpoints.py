"""WAL checkpoints on a thread of their own (store/checkpoints.py): the group-commit writer never copies
pages into the database file, and the WAL still does not grow without bound. SQLite only: these tests
run on an SQLite file of their own whatever backends the suite runs on."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, func, insert, select

from meetadmin.store.db import sqlite_file, writer_lock
from meetadmin.store.group_commit import GroupCommit
from meetadmin.store.models import Notice


def notices(n: int, size: int = 2000) -> Callable[[Connection], int]:
    """A unit that queues ``n`` notices with a payload of ``size`` characters each."""

    def work(conn: Connection) -> int:
        conn.execute(
            insert(Notice),
            [
                {
                    "org_id": "example",
                    "kind": "test",
                    "recipient": f"r{i}",
                    "subject": "",
                    "payload": {"pad": "x" * size},
                    "created": datetime.now(),
                }
                for i in range(n)
            ],
        )
        return n

    return work


def wal_frames(path: str) -> int:
    """How many frames the WAL holds now (since it last started again)."""
    db = sqlite3.connect(path)
    try:
        _busy, frames, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames)
    finally:
        db.close()


def in_database_file(path: str, copy: Path) -> int:
    """How many test notices the database file itself holds, leaving out what is only in the WAL: a copy
    of the file alone is opened (0 while the copy is torn by a checkpoint writing to it)."""
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, copy)
    db = sqlite3.connect(copy)
    try:
        return int(db.execute("SELECT count(*) FROM notices WHERE kind = 'test'").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0
    finally:
        db.close()


def wait_for(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def run(group: GroupCommit, works: list[Callable[[Connection], int]]) -> list[int]:
    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(group.run(w) for w in works)))

    return asyncio.run(scenario())


def test_the_writers_connection_does_not_checkpoint_and_the_checkpointer_copies_the_wal(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    group = GroupCommit(sqlite_engine)
    try:
        assert group.checkpoints is not None
        got = asyncio.run(
            group.run(
                lambda conn: conn.connection.driver_connection.execute(
                    "PRAGMA wal_autocheckpoint"
                ).fetchone()[0]
            )  # type: ignore[union-attr]
        )
        assert got == 0  # the writer's own checkpoints are off...
        run(group, [notices(20) for _ in range(10)])
        path = sqlite_file(sqlite_engine)
        assert path is not None
        # ...and the checkpointer's thread copies the pages into the database file
        wait_for(lambda: in_database_file(path, tmp_path / "copy.db") == 200)
        assert group.checkpoints.checkpoints > 0
    finally:
        group.close()
    # other connections keep SQLite's own checkpoints
    with sqlite_engine.connect() as conn:
        assert conn.connection.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000  # type: ignore[union-attr]


def test_the_wal_starts_again_once_it_holds_more_than_the_limit(sqlite_engine: Engine) -> None:
    """Past ``limit`` pages the checkpointer takes the writer lock and restarts the WAL: it stays near
    the limit however much is written."""
    path = sqlite_file(sqlite_engine)
    assert path is not None
    group = GroupCommit(sqlite_engine)
    try:
        assert group.checkpoints is not None
        group.checkpoints.limit = 200
        for _ in range(20):
            run(group, [notices(50) for _ in range(4)])  # about 100 pages a unit
        checkpoints = group.checkpoints
        wait_for(lambda: checkpoints.restarts > 0)
        # The write after a restart starts at the WAL's beginning. A restart may have come during the
        # rounds, with the later rounds' pages still in the WAL: each write wakes the checkpointer,
        # which restarts the WAL again once it holds more than the limit.
        writes: list[int] = []

        def small_again() -> bool:
            run(group, [notices(1)])
            writes.append(1)
            return wal_frames(path) < 2_000  # the 20 rounds wrote about 8,000 pages

        wait_for(small_again)
    finally:
        group.close()
    with sqlite_engine.connect() as conn:  # and every unit's rows are there
        count = conn.execute(select(func.count()).select_from(Notice).where(Notice.kind == "test")).scalar()
    assert count == 20 * 4 * 50 + len(writes)


def test_closing_stops_the_checkpointer_after_a_last_checkpoint(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    group = GroupCommit(sqlite_engine)
    run(group, [notices(10) for _ in range(3)])
    checkpoints = group.checkpoints
    assert checkpoints is not None
    thread = checkpoints._thread
    assert thread is not None and thread.is_alive()
    group.close()
    assert not thread.is_alive()
    path = sqlite_file(sqlite_engine)
    assert path is not None
    assert in_database_file(path, tmp_path / "copy.db") == 30


def test_a_database_in_memory_has_no_checkpointer(sqlite_engine: Engine) -> None:
    memory = create_engine("sqlite://")
    try:
        assert sqlite_file(memory) is None
        assert GroupCommit(memory).checkpoints is None
    finally:
        memory.dispose()
    assert sqlite_file(sqlite_engine) is not None and writer_lock(sqlite_engine) is not None
