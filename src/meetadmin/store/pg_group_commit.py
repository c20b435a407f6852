"""Group commit for PostgreSQL: the writes waiting at the same moment run in one transaction, one after
another, each in a savepoint of its own, and are made durable by one COMMIT.

A one-meeting reassignment in a transaction of its own costs two round trips (BEGIN and its reads;
its writes and COMMIT) and a commit that waits for the disk. Here a unit's writes are not sent on their
own: they go out with the next unit's first statements (``store/driver.py``'s deferred statements), so a
group of N units costs N + 1 round trips and one COMMIT. Each round trip and each commit wakes a
PostgreSQL backend, which on a machine where it shares the cores costs both sides more CPU than the
statements themselves.

As with SQLite's group commit (``store/group_commit.py``):

* each unit is all-or-nothing (its savepoint): one that raises gets its exception and leaves nothing;
  the others of the group are not affected;
* each unit sees the ones before it, as if they had run one after another (they did);
* nobody hears of a change before the COMMIT that made it durable; when COMMIT fails, every unit of the
  group gets the error.

What is particular to PostgreSQL:

* **Locks.** A unit waits for a row another transaction holds while holding the locks of the units
  before it in the group, which two groups could do to each other (a deadlock that one transaction per
  request, locking in order, never makes). So only the first unit of a group waits for locks; after it
  the group sets ``lock_timeout`` to a millisecond, and a unit that would wait longer is undone, the
  group is committed without it, and it runs first in the next group.
* **A unit's writes go out with the next unit.** Should one of them fail (they are writes nobody reads
  back, so almost never), the next unit's round trip fails for it: then the group is rolled back and run
  again with each unit's writes sent before the unit ends, so that every failure is its own unit's.
* **Lanes.** Up to ``lanes`` groups run at once, each on a connection of its own, in the event loop's
  thread (``store/loop_work.py``): a lane takes every unit waiting when it starts a group (at most
  ``max_group``, well under the 64 subtransactions a PostgreSQL backend keeps track of cheaply).

Used by ``store.writer.Writer`` for every write on PostgreSQL from the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from meetadmin.store.db import begin
from meetadmin.store.driver import PIPELINE, run_later, run_sql, send_deferred
from meetadmin.store.loop_work import run_in_loop

if TYPE_CHECKING:
    from meetadmin.store.writer import Retry

T = TypeVar("T")
Job = tuple[Callable[[Connection], Any], "Retry | None", "asyncio.Future[Any]"]

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired
_SHORT_LOCK_WAITS = "SET LOCAL lock_timeout = '1ms'"
_UNIT = (
    "SAVEPOINT meetadmin_unit",
    "ROLLBACK TO SAVEPOINT meetadmin_unit",
    "RELEASE SAVEPOINT meetadmin_unit",
)


class PgGroupCommit:
    def __init__(self, engine: Engine, slots: asyncio.Semaphore, lanes: int = 2, max_group: int = 32) -> None:
        self.engine = engine
        self.slots = slots  # the writer's: no more works at once than the pool has connections
        self.lanes = lanes
        self.max_group = max_group
        self.groups = 0  # groups committed (or failed): for tests and curiosity
        self.redone = 0  # groups run again with each unit's writes sent before it ends
        self.busy = 0  # units that met a lock after the first of a group, and went on to the next
        self._jobs: collections.deque[Job] = collections.deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, work: Callable[[Connection], T], retry: Retry | None = None) -> T:
        """Run ``work`` (a function of the group's connection) in the next group; with ``retry``, again
        in a fresh savepoint when it loses a race."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.append((work, retry, future))
        if self._running < self.lanes:
            self._running += 1
            task = loop.create_task(self._lane())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _lane(self) -> None:
        try:
            while self._jobs:
                group = [self._jobs.popleft() for _ in range(min(self.max_group, len(self._jobs)))]
                try:
                    async with self.slots:
                        outcomes, later = await run_in_loop(functools.partial(self._commit, group))
                except BaseException as exc:  # not a unit's failure (those are outcomes): nobody hangs
                    for _work, _retry, future in group:
                        if future.done():
                            continue
                        if isinstance(exc, Exception):
                            future.set_exception(exc)
                        else:
                            future.cancel()
                    raise
                self._jobs.extendleft(reversed(later))
                for (_work, _retry, future), (ok, value) in zip(group, outcomes, strict=False):
                    if future.done():  # the request went away meanwhile
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._running -= 1

    def _commit(self, jobs: list[Job]) -> tuple[list[tuple[bool, Any]], list[Job]]:
        """Run ``jobs`` in one transaction: the outcomes of the first ones, and the jobs left for the next
        group (from the first that met a lock, if one did)."""
        try:
            return self._commit_with(jobs, fast=True, reconnect=True)
        except _Undo:
            self.redone += 1
            return self._commit_with(jobs, fast=False, reconnect=True)
        finally:
            self.groups += 1

    def _commit_with(
        self, jobs: list[Job], fast: bool, reconnect: bool
    ) -> tuple[list[tuple[bool, Any]], list[Job]]:
        from meetadmin.store.writer import lost_connection, stale_statement

        outcomes: list[tuple[bool, Any]] = []
        later: list[Job] = []
        try:
            with begin(self.engine, write=True) as conn:
                for index, (work, retry, _future) in enumerate(jobs):
                    if index == 1:
                        run_later(conn, _SHORT_LOCK_WAITS)
                    try:
                        outcomes.append((True, _run_unit(conn, work, retry, fast, first=index == 0)))
                    except _Busy:
                        self.busy += 1
                        later = jobs[index:]
                        break
                    except _Undo:
                        raise
                    except Exception as exc:  # it left nothing; the group goes on, if it can
                        if not _in_transaction(conn):
                            raise
                        outcomes.append((False, exc))
        except _Undo:
            raise
        except DBAPIError as exc:
            if getattr(exc, "meetadmin_before_commit", False) and fast:
                raise _Undo from exc  # a unit's write failed with COMMIT: whose, the slow way says
            if reconnect and (lost_connection(exc) or stale_statement(exc)):
                return self._commit_with(jobs, fast, reconnect=False)  # nothing was kept: once more
            outcomes, later = [(False, exc)] * (len(jobs) - len(later)), later
        except Exception as exc:  # nothing of the group was kept
            outcomes = [(False, exc)] * (len(jobs) - len(later))
        return outcomes, later


def _in_transaction(conn: Connection) -> bool:
    """The group's transaction is still good (not failed, the connection not lost)."""
    if conn.invalidated or conn.closed:
        return False
    driver: Any = conn.connection.driver_connection
    return bool(driver.pgconn.transaction_status == _IN_TRANSACTION)


_IN_TRANSACTION = 2  # libpq's PQTRANS_INTRANS


class _Undo(Exception):
    """A unit's write failed in the next unit's round trip: the group runs again the slow way."""


class _Busy(Exception):
    """A unit after the first would have waited for a lock: it goes first in the next group."""


def _run_unit(
    conn: Connection, work: Callable[[Connection], Any], retry: Retry | None, fast: bool, first: bool
) -> Any:
    """One unit in a savepoint, again from the start if it lost a race and may retry. ``fast``: its
    writes and the savepoint's release go out with what comes next."""
    from meetadmin.store.writer import stale_statement

    attempts = retry.attempts if retry else 1
    attempt = 0
    stale_once = True
    while True:
        before = list(conn.info.get(PIPELINE, ()))  # the writes of the unit before, not yet sent
        run_later(conn, _UNIT[0])
        try:
            result = work(conn)
            if not fast:
                send_deferred(conn)
        except BaseException as exc:
            late: BaseException | None = None
            try:
                send_deferred(conn)  # what is queued goes first: the savepoint must exist to go back to
            except DBAPIError as error:
                late = error
            if fast and any(item is _failed(exc) or item is _failed(late) for item in before):
                raise _Undo from exc
            run_sql(conn, _UNIT[1])
            run_later(conn, _UNIT[2])
            if not isinstance(exc, DBAPIError):
                raise
            if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE and not first:
                raise _Busy from exc
            if stale_statement(exc) and stale_once:
                stale_once = False  # its prepared statements were gone: prepared afresh now
                continue
            attempt += 1
            if retry is None or not retry.retryable(exc):
                raise
            if attempt >= attempts:
                raise retry.give_up() from None
            continue
        run_later(conn, _UNIT[2])
        return result


def _failed(exc: BaseException | None) -> Any:
    """The deferred statement (``Queued``) whose failure ``exc`` is, if it is one."""
    return getattr(getattr(exc, "orig", None), "meetadmin_failed", None)
