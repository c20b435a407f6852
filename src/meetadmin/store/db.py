"""Engines, transactions and the driver-level helpers of the store (hand-written SQL, savepoints).

SQLite runs in WAL mode with foreign keys on and full sync. Write transactions on SQLite start with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing when a read
lock cannot be upgraded. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

WRITE = "meetadmin_write"


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


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, pool_size: int = 10) -> Engine:
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
        _configure_sqlite(engine)
        _SQLITE_WRITE_LOCKS[engine] = WriterLock(make_url(url).database)
        return engine
    # No pool_pre_ping: it cost a round trip (and an autocommit toggle) on every checkout. A connection
    # the server dropped fails its first statement instead, before anything is committed, and the
    # Writer runs the work again once on a fresh connection (``store.writer.lost_connection``).
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size)


def _configure_sqlite(engine: Engine) -> None:
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
        # Statement journals and savepoint journals in memory: past 64 KiB SQLite spills them to temp
        # files, and a group commit's savepoints (each page's old copy) took 250 of the 440 write
        # system calls per 100-person refresh.
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint when the WAL holds 4,000 pages (16 MiB), not SQLite's 1,000: a checkpoint copies each
        # page once however often it changed since the last, and a refresh rewrites the same index pages
        # over and over. Per 100-person refresh: commit 1.4 -> 1.0 ms, write calls 209 -> 170.
        cursor.execute("PRAGMA wal_autocheckpoint=4000")
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
                yield conn
            except BaseException:
                trans.rollback()
                raise
            try:
                trans.commit()
            except DBAPIError as exc:
                exc.meetadmin_at_commit = True  # type: ignore[attr-defined]  # outcome unknown: no retry
                raise
        except BaseException:
            # A COMMIT that failed (SQLite: a deferred foreign key) leaves the driver's transaction open,
            # and the pool does not roll back on return: end it here, or the next user can't begin.
            with contextlib.suppress(Exception):
                conn.connection.driver_connection.rollback()  # type: ignore[union-attr]
            raise


@contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    """A savepoint in the running transaction, sent straight to the driver (SQLAlchemy's
    ``begin_nested`` costs several times as much, and group commit takes two per request): released
    when the block succeeds, rolled back to on any exception. Savepoints are named by their depth, so
    every request sends the same few statements: a name per savepoint made each one a statement of its
    own, which pushed the hot statements out of the driver's statement cache (SQLite re-prepared a
    100-row insert) and grew ``_dialect_sql``'s cache without bound (PostgreSQL)."""
    depth = conn.info.get(_DEPTH, 0) + 1
    conn.info[_DEPTH] = depth
    try:
        run_sql(conn, _SAVEPOINT_SQL[depth][0])
        try:
            yield conn
        except BaseException:
            run_sql(conn, _SAVEPOINT_SQL[depth][1])
            run_sql(conn, _SAVEPOINT_SQL[depth][2])
            raise
        run_sql(conn, _SAVEPOINT_SQL[depth][2])
    finally:
        conn.info[_DEPTH] = depth - 1


class _SavepointSql(dict[int, tuple[str, str, str]]):
    def __missing__(self, depth: int) -> tuple[str, str, str]:
        name = f"meetadmin_{depth}"
        found = self[depth] = (
            f"SAVEPOINT {name}",
            f"ROLLBACK TO SAVEPOINT {name}",
            f"RELEASE SAVEPOINT {name}",
        )
        return found


_DEPTH = "meetadmin_savepoint_depth"
_SAVEPOINT_SQL = _SavepointSql()


# --- Hand-written SQL on the driver, for the statements every reassignment and refresh runs -----------
#
# SQLAlchemy Core spends 20 to 35 µs building each execution; the driver itself takes 3 µs for these
# lookups. The statements that reassignments and personal room refreshes run on every request are
# therefore written out once (in store/meetings.py, rooms.py, sites.py, audit.py), with ``?``
# placeholders (``$1``, ``$2``, ... on PostgreSQL: see ``_cursor``), and run on the connection's driver
# cursor inside the same transaction. Values cross in the store's own formats: see ``db_time``,
# ``from_db_time``, ``db_json``.

_PYFORMAT: dict[str, str] = {}


@dataclass(frozen=True)
class Statement:
    """A statement of hand-written SQL, as declared with ``sql``."""

    text: str
    module: str  # the module that declared it
    row: type[tuple[Any, ...]] | None  # a NamedTuple naming its result columns, in order
    dialect: str | None  # "postgresql": only ever run there (``FOR UPDATE``)


STATEMENTS: list[Statement] = []  # every statement declared with ``sql``, for tests/test_sql_statements.py


def sql(text: str, row: type[tuple[Any, ...]] | None = None, dialect: str | None = None) -> str:
    """Declare a statement of hand-written SQL; returns ``text`` as is. Declared statements are checked
    against the migrated schema (tests/test_sql_statements.py): each must name only tables and columns
    that exist, and ``row``, a NamedTuple the caller reads the rows through (``row._make(r).col``),
    must name the statement's result columns in order. ``{ids}``-style fields stand for lists of ``?``;
    a statement that ``insert_rows`` runs is declared in its one-row form (``head row tail``)."""
    STATEMENTS.append(Statement(text, sys._getframe(1).f_globals.get("__name__", "?"), row, dialect))
    return text


def _dialect_sql(conn: Connection, sql: str) -> str:
    if conn.dialect.paramstyle == "qmark":
        return sql
    found = _PYFORMAT.get(sql)
    if found is None:
        parts = sql.split("?")
        found = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        _PYFORMAT[sql] = found
    return found


def _cursor(conn: Connection) -> Any:
    """A driver cursor. On PostgreSQL a ``psycopg.RawCursor``, which takes PostgreSQL's own ``$1``
    placeholders: psycopg's ordinary cursor rewrites ``%s`` into them with a regular expression on every
    execution of a statement longer than 4 KiB or with more than 50 parameters (it caches only smaller
    ones), which was a third of a 100-meeting reassignment's CPU."""
    driver = conn.connection.driver_connection
    if conn.dialect.paramstyle == "qmark":
        return driver.cursor()  # type: ignore[union-attr]
    import psycopg

    return psycopg.RawCursor(driver)  # type: ignore[arg-type]


def _announce(conn: Connection, cursor: Any, sql: str, params: Any, many: bool) -> None:
    """Tell ``before_cursor_execute`` listeners (statement counters, tracing) as Core would."""
    listeners = conn.dispatch.before_cursor_execute
    if listeners:
        for listener in listeners:
            listener(conn, cursor, sql, params, None, many)


def run_sql(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Run one statement of hand-written SQL on the driver; the rows it returns, if any. Driver errors
    come out as SQLAlchemy's (``IntegrityError`` and so on), as from ``Connection.execute``."""
    rows: list[Any] = _run(conn, sql, params, count=False)
    return rows


def run_count(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement that changes rows; how many it changed (``ON CONFLICT DO NOTHING`` skips
    are not counted). Cheaper than ``RETURNING`` when the count is all that matters: each row returned
    is a step of its own, and on SQLite every step lets go of Python's lock and takes it back."""
    count: int = _run(conn, sql, params, count=True)
    return count


def _run(conn: Connection, sql: str, params: Sequence[Any], count: bool) -> Any:
    cursor = _cursor(conn)
    sql = _dialect_sql(conn, sql)
    _announce(conn, cursor, sql, params, False)
    try:
        cursor.execute(sql, params)
        if count:
            return cursor.rowcount
        return list(cursor.fetchall()) if cursor.description else []
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement of hand-written SQL once per parameter row (an ``executemany``)."""
    if not rows:
        return
    cursor = _cursor(conn)
    sql = _dialect_sql(conn, sql)
    _announce(conn, cursor, sql, rows, True)
    try:
        cursor.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, rows, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def insert_rows(conn: Connection, head: str, row: str, rows: Sequence[Sequence[Any]], tail: str = "") -> int:
    """``INSERT ... VALUES`` of many rows in one statement (``head`` ends in ``VALUES``, ``row`` is one
    row's ``(?, ...)``, ``tail`` an ``ON CONFLICT`` clause if any), not one execution per row as
    ``run_many``; how many rows went in. SQLite then steps once, and the driver lets go of Python's
    lock once instead of once per row: under load, each time the writer thread let go it had to wait
    for the event loop's thread to give the lock back (100-person refreshes: writer CPU per request
    3.8 -> 3.3 ms, explicit IDs 175-185 -> 192-205 req/s)."""
    added = 0
    for start in range(0, len(rows), 100):  # the batches here have 100 rows at most: one statement
        chunk = rows[start : start + 100]
        sql = f"{head} {', '.join([row] * len(chunk))} {tail}".rstrip()
        added += run_count(conn, sql, [v for r in chunk for v in r])
    return added


def marks(count: int) -> str:
    """``?, ?, ?``: placeholders for an IN list."""
    return ", ".join("?" * count)


_LAST_TIME: tuple[datetime, str] = (datetime.min, "")


def db_time(conn: Connection, value: datetime) -> Any:
    """A naive UTC datetime as the store keeps it: SQLAlchemy's SQLite text form, or as is."""
    global _LAST_TIME
    if conn.dialect.name != "sqlite":
        return value
    last = _LAST_TIME  # one request converts the same time several times
    if last[0] == value:
        return last[1]
    text = value.isoformat(" ", "microseconds")  # strftime's %Y would not pad years before 1000
    _LAST_TIME = (value, text)
    return text


def from_db_time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def db_json(value: Any) -> str:
    """A JSON column's value as text (compact; read back by SQLAlchemy's JSON type like its own)."""
    return orjson.dumps(value).decode()
