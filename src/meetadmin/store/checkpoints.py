"""WAL checkpoints on a thread of their own, so that the group-commit writer never copies pages.

In WAL mode a commit appends the changed pages to the ``-wal`` file and waits for the disk
(``synchronous=FULL``); a *checkpoint* later copies those pages into the database file. By default the
connection that commits runs it, right after its commit, when the WAL has grown past
``wal_autocheckpoint`` pages. For the group-commit writer, which is the one serial part of a server,
that copy was a large share of its time: a group of eight 100-series reassignments changes about 3,000
pages, so every other commit also checkpointed (measured: 107 -> 135 reassignments of 100 per second
with no checkpoints at all).

So the writer's connections do not checkpoint (``wal_autocheckpoint=0``); this thread does, on a
connection of its own, after commits wake it, but not more often than every ``gap`` seconds (0.1): a
checkpoint after every commit copied the same few hot pages (the ends of the audit and notice indexes)
and synced the database file hundreds of times a second, which cost one-meeting reassignments a tenth of
their CPU (measured: 0.07 ms of 0.6 ms per request on this thread, 0.01 ms paced):

* ``PASSIVE`` checkpoints copy what is in the WAL while the writer goes on appending (SQLite allows one
  checkpointer beside one writer and any readers). Durability does not change: a commit is durable
  once its WAL frames are synced, before anyone hears of it.
* The WAL starts again from its beginning at a write transaction that finds every frame copied. While
  the writer keeps appending, a passive checkpoint may never catch up; when the WAL holds more than
  ``limit`` pages, the checkpointer takes the writer lock (``store.db.WriterLock``) and finishes with a
  ``RESTART`` checkpoint, which leaves an empty WAL behind. Most pages are copied by then, so the
  writer waits only for the rest, and for readers still on the old WAL to finish (a long read, such
  as an export of a large organisation, holds writes back that long; the connection gives up after
  30 s and the next commit tries again).

Other writers (the CLI, tests, ``write_now``) keep SQLite's own checkpoints.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event

from meetadmin.store.db import AUTOCHECKPOINT_PAGES

DEFAULT_LIMIT = 16_000  # pages (64 MiB with 4 KiB pages) before the checkpointer blocks the writer
DEFAULT_GAP = 0.1  # seconds from one checkpoint to the next, at least

# In the pool's record of a connection whose automatic checkpoints are off while the writer holds it.
_QUIET = "meetadmin_no_autocheckpoint"


class Checkpointer:
    def __init__(
        self, engine: Engine, database: str, lock: Any, limit: int = DEFAULT_LIMIT, gap: float = DEFAULT_GAP
    ) -> None:
        self.database = database
        self.lock = lock  # the database's store.db.WriterLock: held for a RESTART checkpoint
        self.limit = limit
        self.gap = gap
        self.checkpoints = 0  # completed checkpoints (for tests and curiosity)
        self.restarts = 0
        self._wake = threading.Event()
        self._stop = threading.Event()  # set by close: ends the thread, and cuts a gap short
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        if not event.contains(engine, "checkin", _loud):
            event.listen(engine, "checkin", _loud)

    def quiet(self, driver: Any, info: dict[Any, Any]) -> None:
        """Turn off the checkpoints of the writer's connection for as long as it holds it (they are
        back on when it returns to the pool)."""
        driver.execute("PRAGMA wal_autocheckpoint=0")
        info[_QUIET] = True

    def poke(self) -> None:
        """A commit added pages to the WAL: copy them soon."""
        if self._thread is None or not self._thread.is_alive():
            with self._start:
                if self._thread is None or not self._thread.is_alive():
                    self._stop.clear()
                    self._thread = threading.Thread(
                        target=self._serve, name="meetadmin-checkpoints", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def close(self) -> None:
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=30)
            self._thread = None

    def _serve(self) -> None:
        db = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA synchronous=FULL")
            while not self._stop.is_set():
                self._wake.wait()
                self._wake.clear()
                if self._stop.is_set():
                    break
                with contextlib.suppress(sqlite3.Error):  # a locked or busy moment: the next commit wakes us
                    self._checkpoint(db)
                self._stop.wait(self.gap)  # commits meanwhile set _wake: one checkpoint copies them all
            with contextlib.suppress(sqlite3.Error):
                self._checkpoint(db)
        finally:
            db.close()

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        _busy, frames, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        if frames > self.limit:
            with self.lock:
                db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += 1


def _loud(driver: Any, record: Any) -> None:
    """A connection the writer quieted goes back to the pool: its own checkpoints are on again."""
    if record.info.pop(_QUIET, False):
        with contextlib.suppress(sqlite3.Error):
            driver.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
