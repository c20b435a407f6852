"""Group commit for SQLite: many requests' changes made durable by one commit.

SQLite has one writer, and with ``synchronous=FULL`` every commit waits for the disk (0.2 to 0.8 ms
here), so requests that each commit on their own are bound by that wait, not by their work. Here one
writer thread takes the units of work that are waiting, runs them back to back in one transaction, and
commits them together:

* each unit is still all-or-nothing: one that raises gets its exception and leaves nothing; the others
  of the group are not affected;
* each unit sees the ones before it, as if they had run one after another (they did);
* nobody hears of a change before the commit that makes it durable, and when that commit fails every
  unit of the group gets the error (nothing of the group is kept).

Units run without a savepoint of their own. A savepoint would make SQLite copy every page a unit
changes into a sub-journal before changing it (a tenth of a 100-series reassignment's work), to undo a
unit that fails, which is rare and almost always happens before it has changed anything (a refusal, an
unknown host). So a unit that fails having changed no row (SQLite's ``total_changes`` did not move, and
the transaction is still open) is failed alone, as it is. One that fails after changing rows can't be
undone alone: the group's transaction is rolled back and the whole group run again, each unit in a
savepoint (``store.db.savepoint``), which can undo one. A unit that loses a race and may retry (a unique
key taken meanwhile) is run again at once when it changed nothing, or in that second pass.

Used by ``store.writer.Writer`` for every write on SQLite; PostgreSQL runs concurrent transactions itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from meetadmin.store.checkpoints import Checkpointer
from meetadmin.store.db import begin, savepoint, sqlite_file, writer_lock

if TYPE_CHECKING:
    from meetadmin.store.writer import Retry

T = TypeVar("T")
Job = tuple[Callable[[Connection], Any], "Retry | None", asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(self, engine: Engine, max_group: int = 64) -> None:
        self.engine = engine
        self.max_group = max_group
        self.groups = 0  # groups committed (or failed): for tests and curiosity
        self.redone = 0  # groups run again with a savepoint per unit
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        # WAL checkpoints on a thread of their own (store/checkpoints.py), for a database in a file
        database, lock = sqlite_file(engine), writer_lock(engine)
        self.checkpoints = Checkpointer(engine, database, lock) if database and lock else None

    async def run(self, work: Callable[[Connection], T], retry: Retry | None = None) -> T:
        """Run ``work`` (a function of the group's connection) in the next group; with ``retry``, again
        in a fresh savepoint when it loses a race."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_thread()
        self._queue.put((work, retry, loop, future))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None
        if self.checkpoints is not None:
            self.checkpoints.close()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._serve, name="meetadmin-writer", daemon=True)
                    self._thread.start()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            while len(jobs) < self.max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                jobs.append(more)
            # One call per event loop (almost always one): each call wakes the loop with a system call.
            settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], tuple[bool, Any]]]] = {}
            for (_work, _retry, loop, future), outcome in zip(jobs, self._commit(jobs), strict=True):
                settled.setdefault(loop, []).append((future, outcome))
            for loop, outcomes in settled.items():
                with contextlib.suppress(RuntimeError):  # that event loop has closed: nobody waits
                    loop.call_soon_threadsafe(_settle_all, outcomes)

    def _commit(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        try:
            try:
                return self._commit_with(jobs, savepoints=False)
            except _Undo:  # a unit failed after changing rows: again, each unit in a savepoint
                self.redone += 1
                return self._commit_with(jobs, savepoints=True)
        finally:
            self.groups += 1

    def _commit_with(self, jobs: list[Job], savepoints: bool) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with begin(self.engine, write=True) as conn:
                if self.checkpoints is not None:
                    self.checkpoints.quiet(conn.connection.driver_connection, conn.connection.info)
                for work, retry, _loop, _future in jobs:
                    try:
                        outcomes.append((True, _run_unit(conn, work, retry, savepoints)))
                    except _Undo:
                        raise
                    except Exception as exc:  # it left nothing; the group goes on
                        outcomes.append((False, exc))
            if self.checkpoints is not None:
                self.checkpoints.poke()
        except _Undo:
            raise
        except BaseException as exc:  # the commit failed: nothing of the group was kept
            outcomes = [(False, exc)] * len(jobs)
        return outcomes


class _Undo(Exception):
    """A unit failed after changing rows: only a rollback of the group can undo it."""


def _run_unit(
    conn: Connection, work: Callable[[Connection], Any], retry: Retry | None, savepoints: bool
) -> Any:
    """One unit, again from the start if it lost a race and may retry. Without ``savepoints``, a unit
    that fails after changing rows (or whose failure ended the transaction) raises ``_Undo``; with them,
    it runs in a savepoint of its own and a failure undoes all of it, and only it."""
    driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    attempts = retry.attempts if retry else 1
    for _attempt in range(attempts):
        changes = driver.total_changes
        try:
            if savepoints:
                with savepoint(conn):
                    return work(conn)
            return work(conn)
        except Exception as exc:
            if not savepoints and (driver.total_changes != changes or not driver.in_transaction):
                raise _Undo from exc
            if not isinstance(exc, DBAPIError) or retry is None or not retry.retryable(exc):
                raise
    assert retry is not None
    raise retry.give_up()


def _settle_all(outcomes: list[tuple[asyncio.Future[Any], tuple[bool, Any]]]) -> None:
    for future, (ok, value) in outcomes:
        if future.done():  # the request went away meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
