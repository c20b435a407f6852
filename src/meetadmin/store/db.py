"""Engines, transactions and the driver-level helpers of the store (hand-written SQL, savepoints).

SQLite runs in WAL mode with foreign keys on and full sync. Write transactions on SQLite start with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing when a read
lock cannot be upgraded. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

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
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _send_deferred_first(
        conn: Connection, cursor: Any, _sql: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        # Core statements (and any driver cursor but the store's own RawCursor) need the connection out
        # of pipeline mode: what was deferred goes first (``run_later``).
        if PIPELINE in conn.info and not isinstance(cursor, _raw_cursor_class()):
            send_deferred(conn)


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
                yield conn
            except BaseException:
                _drop_deferred(conn)
                trans.rollback()
                raise
            try:
                if PIPELINE in conn.info:
                    _commit_deferred(conn)  # the deferred statements and COMMIT: one round trip
                trans.commit()
            except DBAPIError as exc:
                if not getattr(exc, "meetadmin_before_commit", False):
                    exc.meetadmin_at_commit = True  # type: ignore[attr-defined]  # outcome unknown: no retry
                raise
        except BaseException:
            _drop_deferred(conn)
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
            _drop_deferred(conn)
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
    return _raw_cursor_class()(driver)


@functools.cache
def _raw_cursor_class() -> Any:
    import psycopg  # only where PostgreSQL is used

    return psycopg.RawCursor


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
        if conn.dialect.paramstyle == "qmark":
            cursor.execute(sql, params)
            if count:
                return cursor.rowcount
            return list(cursor.fetchall()) if cursor.description else []
        cursor.execute(sql, params)
        if PIPELINE in conn.info:  # deferred statements wait: this one went out with them, one round trip
            _end_pipeline(conn)
        if count:
            return cursor.rowcount
        return _rows(cursor)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement of hand-written SQL once per parameter row (an ``executemany``); on
    PostgreSQL deferred like ``run_later``."""
    if not rows:
        return
    if conn.dialect.paramstyle != "qmark":
        _defer(conn, sql, rows, many=True)
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


# --- Deferred statements (PostgreSQL): several statements of a request in one round trip -------------
#
# A statement whose outcome the work does not read (an UPDATE whose count nobody asks, an INSERT of
# audit rows, notices, queue rows, a SAVEPOINT) is sent in psycopg's pipeline mode and not waited for:
# it goes out with the next statement that is waited for (``run_sql``, ``run_count``, a Core statement,
# the end of a savepoint) or with COMMIT, and their answers come back together. PostgreSQL runs them in
# order, so every statement still sees the ones before it. A deferred statement that fails fails the
# statement it went out with (its own error, e.g. ``IntegrityError``), and the transaction as always;
# a COMMIT that went out after a failed statement was not run, so that error is not a COMMIT's (the
# writer may retry). The pipeline lasts only while something deferred is waiting; Core statements and
# other driver cursors send it first (the engine's ``before_cursor_execute`` listener). On SQLite
# ``run_later`` simply runs the statement.

PIPELINE = "meetadmin_pipeline"  # in the connection's info while deferred statements wait: the pipeline


def run_later(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement whose outcome nobody reads; on PostgreSQL without waiting for its answer (see
    above). Its error, if any, comes out of the next statement waited for or out of the commit."""
    if conn.dialect.paramstyle == "qmark":
        _run(conn, sql, params, count=True)
        return
    _defer(conn, sql, params, many=False)


def _defer(conn: Connection, sql: str, params: Any, many: bool) -> Any:
    info = conn.info
    driver: Any = conn.connection.driver_connection
    if PIPELINE not in info:
        pipeline = driver.pipeline()
        pipeline.__enter__()
        info[PIPELINE] = pipeline
    cursor = _raw_cursor_class()(driver)  # not closed: its answer arrives later
    sql = _dialect_sql(conn, sql)
    _announce(conn, cursor, sql, params, many)
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:  # an earlier deferred statement's error
        _drop_deferred(conn)
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error) from exc
    return cursor


def read_later(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Any]]:
    """Send a statement whose rows are needed later; the rows, when called. On PostgreSQL it goes out
    with the next statement waited for (as ``run_later``), so two reads that do not depend on each
    other cost one round trip; on SQLite it runs now."""
    if conn.dialect.paramstyle == "qmark":
        rows = run_sql(conn, sql, params)
        return lambda: rows
    cursor = _defer(conn, sql, params, many=False)

    def fetch() -> list[Any]:
        send_deferred(conn)  # when nothing has sent it yet
        return _rows(cursor)

    return fetch


def _rows(cursor: Any) -> list[Any]:
    """A psycopg cursor's rows, if its statement returns any (``description`` builds a column object
    per column to say so, on every call)."""
    result = cursor.pgresult
    return cursor.fetchall() if result is not None and result.status == _TUPLES_OK else []


_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK


def send_deferred(conn: Connection) -> None:
    """Send the statements ``run_later`` deferred and wait for their answers (raises the first error)."""
    if PIPELINE not in conn.info:
        return
    try:
        _end_pipeline(conn)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance("(deferred statements)", [], exc, conn.dialect.loaded_dbapi.Error) from exc


def _end_pipeline(conn: Connection) -> None:
    """Leave pipeline mode: one round trip for everything queued; the first error, if any, is raised
    (the driver's), and the connection is out of pipeline mode either way."""
    pipeline = conn.info.pop(PIPELINE)
    pipeline.__exit__(None, None, None)


def _drop_deferred(conn: Connection) -> None:
    """Leave pipeline mode after an error: what is queued is sent, and errors are let go (the
    transaction is being rolled back)."""
    with contextlib.suppress(Exception):
        if PIPELINE in conn.info:
            with contextlib.suppress(Exception):
                _end_pipeline(conn)


def _commit_deferred(conn: Connection) -> None:
    """COMMIT sent with the deferred statements, in their round trip. A failure marked
    ``meetadmin_before_commit`` was a deferred statement's: COMMIT was not run, nothing was kept."""
    driver: Any = conn.connection.driver_connection
    dbapi_error = conn.dialect.loaded_dbapi.Error
    commit = _raw_cursor_class()(driver)
    try:
        commit.execute("COMMIT")
        _end_pipeline(conn)
    except dbapi_error as exc:
        error = DBAPIError.instance("COMMIT", [], exc, dbapi_error)
        # Still in a failed transaction: a deferred statement failed and COMMIT was skipped. (A COMMIT
        # that ran and failed leaves none; a lost connection leaves the outcome unknown.)
        if driver.info.transaction_status == _IN_FAILED_TRANSACTION:
            error.meetadmin_before_commit = True  # type: ignore[attr-defined]
        raise error from exc


_IN_FAILED_TRANSACTION = 3  # libpq's PQTRANS_INERROR


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
        params = [v for r in chunk for v in r]
        if tail or conn.dialect.paramstyle == "qmark":
            added += run_count(conn, sql, params)
        else:  # PostgreSQL, no ON CONFLICT: every row goes in or the statement fails; deferred
            _defer(conn, sql, params, many=False)
            added += len(chunk)
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
