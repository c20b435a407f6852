"""Engines and transactions (``begin``, ``savepoint``), and the store's formats of times and JSON.
Hand-written SQL on the driver and PostgreSQL's deferred statements are in ``store/driver.py``.

SQLite runs in WAL mode with foreign keys on and full sync. Write transactions on SQLite start with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing when a read
lock cannot be upgraded. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from meetadmin.store.driver import (
    OWN_STATEMENT,
    PIPELINE,
    begin_later,
    commit_deferred,
    drop_deferred,
    end_own_begin,
    run_later,
    run_sql,
    send_deferred,
)
from meetadmin.store.loop_work import LoopConnection

WRITE = "meetadmin_write"
AUTOCHECKPOINT_PAGES = 4000  # SQLite connections checkpoint when the WAL holds this many pages (16 MiB)


class WriterLock:
    """SQLite has one writer at a time. Writers queue for it here instead of polling SQLite's busy
    handler, which sleeps in growing steps and wrecks throughput and tail latency: threads of a process
    on a lock, processes (``serve --workers N``) on an ``flock`` of a file beside the database, which the
    kernel hands over as soon as it is released."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._fd = os.open(f"{database}.writelock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


def writer_lock(engine: Engine) -> WriterLock | None:
    """The lock SQLite writers of this engine queue on (None on PostgreSQL)."""
    return _SQLITE_WRITE_LOCKS.get(engine)


def sqlite_file(engine: Engine) -> str | None:
    """The file of a SQLite database (None in memory, for a ``file:`` URI, or on PostgreSQL)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, pool_size: int = 10, sqlite_cache_mib: int | None = None) -> Engine:
    """An engine for ``url``. ``sqlite_cache_mib`` bounds the page caches of every SQLite connection of
    the process together (SQLite's soft heap limit, which is the process's; 0: none)."""
    url = normalise_url(url)
    if is_sqlite(url):
        # Every transaction ends in an explicit commit or rollback, so the pool's rollback-on-return is
        # redundant work on the hot path.
        # Last in, first out: the connection used last has the warmest page cache (SQLite drops a
        # connection's cache when another connection has written since).
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_reset_on_return=None,
            pool_use_lifo=True,
        )
        _configure_sqlite(engine, sqlite_cache_mib)
        _SQLITE_WRITE_LOCKS[engine] = WriterLock(make_url(url).database)
        return engine
    # No pool_pre_ping: it cost a round trip (and an autocommit toggle) on every checkout. A connection
    # the server dropped fails its first statement instead, before anything is committed, and the
    # Writer runs the work again once on a fresh connection (``store.writer.lost_connection``).
    # psycopg prepares nothing itself: on a rollback after it had prepared a statement it sends DEALLOCATE
    # ALL, which would take the store's own prepared statements (``store/pg_wire.py``) with it.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, connect_args={"prepare_threshold": None}
    )
    _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "do_connect")
    def _loop_connection(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # psycopg's connection, waiting on the event loop in a work of ``run_in_loop``
        return LoopConnection.connect(*cargs, **cparams)

    @event.listens_for(engine, "checkout")
    def _set_up(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.checked_out = True  # see LoopConnection

    @event.listens_for(engine, "before_cursor_execute")
    def _send_deferred_first(
        conn: Connection, cursor: Any, _sql: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        # Core statements (and any driver cursor) go after what was deferred (``run_later``): it goes
        # first, in a round trip of its own.
        if PIPELINE in conn.info and cursor is not OWN_STATEMENT:
            send_deferred(conn)

    # Deferred statements never outlive their transaction, whoever ends it (``begin`` sends them with its
    # COMMIT; a Core transaction, ``engine.begin()``, commits them here): sent before a commit, dropped
    # on a rollback and when the connection goes back to the pool.
    @event.listens_for(engine, "commit")
    def _send_deferred_before_commit(conn: Connection) -> None:
        send_deferred(conn)

    @event.listens_for(engine, "rollback")
    def _drop_deferred_on_rollback(conn: Connection) -> None:
        if not conn.invalidated:  # an invalidated connection has lost its info with its connection
            conn.info.pop(PIPELINE, None)

    @event.listens_for(engine, "checkin")
    def _drop_deferred_on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(PIPELINE, None)


def _configure_sqlite(engine: Engine, cache_mib: int | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 32 MiB of page cache per connection (SQLite's default is 2 MiB): a 100-person refresh reads
        # and rewrites a few hundred index pages, which then stay in memory.
        cursor.execute("PRAGMA cache_size=-32768")
        if cache_mib is not None:
            # All connections' page caches together: past the limit a cache reuses its own pages rather
            # than grow (at 100,000 series a loaded server's RSS went 201-206 -> 180-185 MiB at 48 MiB).
            cursor.execute(f"PRAGMA soft_heap_limit={int(cache_mib) * 1024 * 1024}")
        # Statement journals and savepoint journals in memory: past 64 KiB SQLite spills them to temp
        # files, and a group commit's savepoints (each page's old copy) took 250 of the 440 write
        # system calls per 100-person refresh.
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint when the WAL holds 4,000 pages (16 MiB), not SQLite's 1,000: a checkpoint copies each
        # page once however often it changed since the last, and a refresh rewrites the same index pages
        # over and over. Per 100-person refresh: commit 1.4 -> 1.0 ms, write calls 209 -> 170.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: this runs once per request.
        statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN"
        driver = conn.connection.driver_connection
        try:
            driver.execute(statement)  # type: ignore[union-attr]
        except conn.dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy would for its own statements: a closed connection leaves the pool.
            lost = conn.dialect.is_disconnect(exc, driver, None)
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                statement, [], exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost
            ) from exc


@contextmanager
def begin(engine: Engine, write: bool = False) -> Iterator[Connection]:
    """One transaction on a connection of its own: committed when the block succeeds, rolled back on any
    exception. Used by ``store.writer.Writer`` (the one way to run database work), not by services."""
    lock = _SQLITE_WRITE_LOCKS.get(engine) if write else None
    with lock or nullcontext(), engine.connect() as conn:
        if write:
            conn.execution_options(**{WRITE: True})
        try:
            trans = conn.begin()
            try:
                if write and conn.dialect.name == "postgresql":
                    begin_later(conn)  # BEGIN goes out with the first statements
                yield conn
            except BaseException:
                drop_deferred(conn)
                trans.rollback()
                raise
            try:
                if PIPELINE in conn.info:
                    commit_deferred(conn)  # the deferred statements and COMMIT: one round trip
                trans.commit()
            except DBAPIError as exc:
                if not getattr(exc, "meetadmin_before_commit", False):
                    exc.meetadmin_at_commit = True  # type: ignore[attr-defined]  # outcome unknown: no retry
                raise
        except BaseException:
            drop_deferred(conn)
            # A COMMIT that failed (SQLite: a deferred foreign key) leaves the driver's transaction open,
            # and the pool does not roll back on return: end it here, or the next user can't begin.
            with contextlib.suppress(Exception):
                conn.connection.driver_connection.rollback()  # type: ignore[union-attr]
            raise
        finally:
            end_own_begin(conn)


@contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A savepoint in the running transaction, sent straight to the driver (SQLAlchemy's
    ``begin_nested`` costs several times as much, and group commit takes two per request): released
    when the block succeeds, rolled back to on any exception. Savepoints are named by their depth, so
    every request sends the same few statements: a name per savepoint made each one a statement of its
    own, which pushed the hot statements out of the driver's statement cache (SQLite) and grew
    ``_dialect_sql``'s cache without bound (PostgreSQL)."""
    depth = conn.info.get(_DEPTH, 0) + 1
    conn.info[_DEPTH] = depth
    begin_sql, rollback_sql, release_sql = _SAVEPOINT_SQL[depth]
    try:
        if conn.dialect.paramstyle == "qmark":  # SQLite (group commit takes two per request): as is
            run_sql(conn, begin_sql)
            try:
                yield conn
            except BaseException:
                run_sql(conn, rollback_sql)
                run_sql(conn, release_sql)
                raise
            run_sql(conn, release_sql)
            return
        # PostgreSQL: SAVEPOINT and RELEASE go out with the statements around them (``run_later``); what
        # the block deferred is sent before it ends, so that its errors are the block's.
        run_later(conn, begin_sql)
        try:
            yield conn
            send_deferred(conn)
        except BaseException:
            drop_deferred(conn)
            run_sql(conn, rollback_sql)
            run_sql(conn, release_sql)
            raise
        run_later(conn, release_sql)
    finally:
        conn.info[_DEPTH] = depth - 1


class _SavepointSql(dict[int, tuple[str, str, str]]):
    def __missing__(self, depth: int) -> tuple[str, str, str]:
        name = f"meetadmin_{depth}"
        found = (f"SAVEPOINT {name}", f"ROLLBACK TO SAVEPOINT {name}", f"RELEASE SAVEPOINT {name}")
        self[depth] = found
        return found


_DEPTH = "meetadmin_savepoint_depth"
_SAVEPOINT_SQL = _SavepointSql()


_LAST_TIME: tuple[datetime, str] = (datetime.min, "")


def db_time(conn: Connection, value: datetime) -> Any:
    """A naive UTC datetime as the store keeps it: SQLAlchemy's SQLite text form, or as is."""
    global _LAST_TIME
    if conn.dialect.name != "sqlite":
        return value
    last = _LAST_TIME  # one request converts the same time several times
    if last[0] == value:
        return last[1]
    text = sqlite_time_text(value)
    _LAST_TIME = (value, text)
    return text


def sqlite_time_text(value: datetime) -> str:
    """A naive datetime as SQLAlchemy's ``DateTime`` stores it on SQLite (``2026-12-01 10:00:00.000000``)."""
    return value.isoformat(" ", "microseconds")  # strftime's %Y would not pad years before 1000


def from_db_time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def db_json(value: Any) -> str:
    """A JSON column's value as text (compact; read back by SQLAlchemy's JSON type like its own)."""
    return orjson.dumps(value).decode()
