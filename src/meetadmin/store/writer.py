"""The one way to run database work: ``Writer``.

Work is a function of a ``Connection`` that is already inside a transaction; it never commits, never
opens a transaction or a savepoint of its own, and is all-or-nothing: when it raises, nothing it did
is kept. The writer decides how the work is carried:

* **writes on SQLite** go through group commit (``store/group_commit.py``): one writer thread runs
  the waiting units back to back, each in a savepoint of its own, and makes them durable with one
  commit, so no write blocks the event loop and no answer is sent before its change is durable;
* **writes on PostgreSQL** go through PostgreSQL's group commit (``store/pg_group_commit.py``): the
  units waiting together run in one transaction, each in a savepoint, and one COMMIT makes them durable;
  up to two such groups run at once, on connections of their own. A big write (``alone``) runs in a
  transaction of its own, beside them;
* **reads** run in the event loop's own thread on SQLite (a worker thread per request costs more than
  it saves there), and in a greenlet of the event loop's thread on PostgreSQL, which waits for the
  database on the loop (``store/loop_work.py``), as groups do.

A work that may lose a race against another server process (a unique index, a deadlock) passes
``retry``: the writer runs it again, from the start and in a fresh transaction or savepoint, up to
``retry.attempts`` times, then answers 409 with ``retry.message``.

``write_now`` and ``read_now`` are the same for code that is not in the event loop (the CLI, fixtures,
tests): they block the calling thread, and on SQLite queue for the writer lock like any writer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from meetadmin.errors import Conflict
from meetadmin.store.db import begin
from meetadmin.store.group_commit import GroupCommit
from meetadmin.store.loop_work import run_in_loop
from meetadmin.store.pg_group_commit import PgGroupCommit
from meetadmin.store.pg_wire import PLAN_GONE

T = TypeVar("T")
Work = Callable[[Connection], T]

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


@dataclass(frozen=True)
class Retry:
    """Run the work again when it loses a race (a unique violation, a deadlock)."""

    attempts: int
    message: str

    def retryable(self, exc: DBAPIError) -> bool:
        if isinstance(exc, IntegrityError):
            return True
        return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES

    def give_up(self) -> Conflict:
        return Conflict(self.message)


class Writer:
    def __init__(self, engine: Engine, group_commit: bool = True) -> None:
        """``group_commit=False``: each write in a transaction of its own (the webhook dispatcher's engine:
        on SQLite in a worker thread, on PostgreSQL in the event loop's thread)."""
        self.engine = engine
        self.inline_reads = engine.dialect.name == "sqlite"
        # PostgreSQL: works run in the event loop's thread (``store/loop_work.py``), no more at once than
        # the pool holds connections: a work that found the pool empty would block the loop.
        self._slots: asyncio.Semaphore | None = None
        self.group: GroupCommit | PgGroupCommit | None = None
        if self.inline_reads:
            self.group = GroupCommit(engine) if group_commit else None
        else:
            self._slots = asyncio.Semaphore(getattr(engine.pool, "size", lambda: 10)())
            self.group = PgGroupCommit(engine, self._slots) if group_commit else None

    async def write(self, work: Work[T], retry: Retry | None = None, alone: bool = False) -> T:
        """Run ``work`` in a write transaction; its result once the change is durable. ``alone``: on
        PostgreSQL, in a transaction of its own, not in a group (a big write: see
        ``api.operations.GROUP_ITEMS``); SQLite, with one writer, groups every write."""
        if self.group is not None and not (alone and isinstance(self.group, PgGroupCommit)):
            return await self.group.run(work, retry)
        return await self._carry(functools.partial(self.write_now, work, retry))

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read transaction."""
        if self.inline_reads:
            return self.read_now(work)
        return await self._carry(functools.partial(self.read_now, work))

    async def _carry(self, call: Callable[[], T]) -> T:
        """Run a blocking ``write_now`` or ``read_now`` without blocking the event loop."""
        if self._slots is None:  # SQLite without group commit: a worker thread
            return await asyncio.get_running_loop().run_in_executor(None, call)
        async with self._slots:
            return await run_in_loop(call)

    def write_now(self, work: Work[T], retry: Retry | None = None) -> T:
        """``write`` for callers outside the event loop (blocks this thread)."""
        attempts = retry.attempts if retry else 1
        reconnected = False
        attempt = 0
        while True:
            try:
                with begin(self.engine, write=True) as conn:
                    return work(conn)
            except DBAPIError as exc:
                if (lost_connection(exc) or stale_statement(exc)) and not reconnected:
                    reconnected = True  # the connection was dead, or its prepared statements: once more
                    continue
                attempt += 1
                if retry is None or not retry.retryable(exc):
                    raise
                if attempt >= attempts:
                    raise retry.give_up() from None

    def read_now(self, work: Work[T]) -> T:
        try:
            with begin(self.engine) as conn:
                return work(conn)
        except DBAPIError as exc:
            if not (lost_connection(exc) or stale_statement(exc)):
                raise
        with begin(self.engine) as conn:
            return work(conn)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """For blocking callers that build with the ORM (fixture loading, the CLI): an ORM session in a
        write transaction of its own, committed when the block succeeds."""
        with begin(self.engine, write=True) as conn, orm(conn) as session:
            yield session

    def close(self) -> None:
        if isinstance(self.group, GroupCommit):
            self.group.close()


def lost_connection(exc: DBAPIError) -> bool:
    """The connection was found dead before COMMIT was sent: nothing of the work was kept, so it may run
    again. (The pool does not ping connections before handing them out, see ``store.db.make_engine``;
    a connection lost during COMMIT leaves the outcome unknown and is not retried.)"""
    return exc.connection_invalidated and not getattr(exc, "meetadmin_at_commit", False)


def stale_statement(exc: DBAPIError) -> bool:
    """PostgreSQL: a prepared statement of the connection was gone or outdated (``store/pg_wire.py``
    has forgotten them all, and prepares afresh); nothing of the work was kept, so it may run again."""
    return getattr(exc.orig, "sqlstate", None) in PLAN_GONE and not getattr(exc, "meetadmin_at_commit", False)


@contextmanager
def orm(conn: Connection) -> Iterator[Session]:
    """An ORM session on the work's connection, for code that reads or writes ORM objects: it joins the
    running transaction (and never commits it) and is flushed when the block ends."""
    session = Session(bind=conn, join_transaction_mode="rollback_only", autoflush=False)
    try:
        yield session
        session.flush()
    finally:
        session.close()
