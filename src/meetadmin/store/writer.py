"""The one way to run database work: ``Writer``.

Work is a function of a ``Connection`` that is already inside a transaction; it never commits, never
opens a transaction or a savepoint of its own, and is all-or-nothing: when it raises, nothing it did
is kept. The writer decides how the work is carried:

* **writes on SQLite** go through group commit (``store/group_commit.py``): one writer thread runs
  the waiting units back to back, each in a savepoint of its own, and makes them durable with one
  commit, so no write blocks the event loop and no answer is sent before its change is durable;
* **writes on PostgreSQL** run in the thread pool, one transaction each, concurrently;
* **reads** run in the event loop's own thread on SQLite (a worker thread per request costs more than
  it saves there) and in the thread pool on PostgreSQL.

A work that may lose a race against another server process (a unique index, a deadlock) passes
``retry``: the writer runs it again, from the start and in a fresh transaction or savepoint, up to
``retry.attempts`` times, then answers 409 with ``retry.message``.

``write_now`` and ``read_now`` are the same for code that is not in the event loop (the CLI, fixtures,
tests): they block the calling thread, and on SQLite queue for the writer lock like any writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from meetadmin.errors import Conflict
from meetadmin.store.db import begin
from meetadmin.store.group_commit import GroupCommit

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
        self.engine = engine
        self.inline_reads = engine.dialect.name == "sqlite"
        self.group = GroupCommit(engine) if self.inline_reads and group_commit else None

    async def write(self, work: Work[T], retry: Retry | None = None) -> T:
        """Run ``work`` in a write transaction; its result once the change is durable."""
        if self.group is not None:
            return await self.group.run(work, retry)
        return await run_in_threadpool(self.write_now, work, retry)

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read transaction."""
        if self.inline_reads:
            return self.read_now(work)
        return await run_in_threadpool(self.read_now, work)

    def write_now(self, work: Work[T], retry: Retry | None = None) -> T:
        """``write`` for callers outside the event loop (blocks this thread)."""
        attempts = retry.attempts if retry else 1
        for _attempt in range(attempts):
            try:
                with begin(self.engine, write=True) as conn:
                    return work(conn)
            except DBAPIError as exc:
                if retry is None or not retry.retryable(exc):
                    raise
        assert retry is not None
        raise retry.give_up()

    def read_now(self, work: Work[T]) -> T:
        with begin(self.engine) as conn:
            return work(conn)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()


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


# Batch Refresh Personal Meeting Room ID (``services.pmr.refresh_room_ids``): the work to run again when it
# loses a race, and what a client hears when it kept losing.
REFRESH_RETRY = Retry(
    attempts=8,
    message=(
        "Other requests kept changing the same personal room IDs at the same time; send the request again."
    ),
)
