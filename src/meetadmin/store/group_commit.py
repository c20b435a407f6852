"""Group commit for SQLite: many requests' changes made durable by one commit.

SQLite has one writer, and with ``synchronous=FULL`` every commit waits for the disk (0.2 to 0.8 ms
here), so requests that each commit on their own are bound by that wait, not by their work. Here one
writer thread takes the units of work that are waiting, runs them back to back in one transaction, each
in a savepoint of its own, and commits them together:

* each unit is still all-or-nothing: one that raises is rolled back to its savepoint and gets its
  exception; the others of the group are not affected;
* each unit sees the ones before it, as if they had run one after another (they did);
* nobody hears of a change before the commit that makes it durable, and when that commit fails every
  unit of the group gets the error (nothing of the group is kept).

Used by the fast lane (``api/fast_lane.py``) on SQLite; PostgreSQL runs concurrent transactions itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

from meetadmin.store.db import Units, savepoint

T = TypeVar("T")
Job = tuple[Callable[[Units], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(self, engine: Engine, max_group: int = 64) -> None:
        self.engine = engine
        self.max_group = max_group
        self.groups = 0  # groups committed (or failed): for tests and curiosity
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    async def run(self, work: Callable[[Units], T]) -> T:
        """Run ``work`` (which opens its transactions from the units it is given) in the next group."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_thread()
        self._queue.put((work, loop, future))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

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
            for (_work, loop, future), outcome in zip(jobs, self._commit(jobs), strict=True):
                with contextlib.suppress(RuntimeError):  # that request's event loop has closed: nobody waits
                    loop.call_soon_threadsafe(_settle, future, outcome)

    def _commit(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with Units(self.engine).begin(write=True) as conn:
                within = Units.within(conn)
                for work, _loop, _future in jobs:
                    try:
                        with savepoint(conn):  # the unit's own savepoint: all of it, or none
                            result = work(within)
                        outcomes.append((True, result))
                    except Exception as exc:  # rolled back to its savepoint; the group goes on
                        outcomes.append((False, exc))
        except BaseException as exc:  # the commit failed: nothing of the group was kept
            outcomes = [(False, exc)] * len(jobs)
        finally:
            self.groups += 1
        return outcomes


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():  # the request went away meanwhile
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
