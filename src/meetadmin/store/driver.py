"""Hand-written SQL on the driver (``run_sql`` and its kin, ``insert_rows``, declared with ``sql``) and,
on PostgreSQL, deferred statements: several statements of a request in one round trip (``run_later``).

``store/db.py`` holds the engines and the transactions these run in.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from meetadmin.store.pg_wire import Queued, round_trip

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
    a statement that ``insert_rows`` runs is declared in its one-row form (``head row``)."""
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
    """A driver cursor (SQLite's)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


class _OwnStatement:
    """What ``before_cursor_execute`` listeners get as the cursor of a statement sent on libpq by
    ``store/pg_wire.py`` (there is none): the engine's listener knows it needs no flush."""


OWN_STATEMENT = _OwnStatement()


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


def run_named(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """``run_sql`` for statements whose rows are read by column name (``row["room_key"]``): dicts on
    PostgreSQL, ``sqlite3.Row`` on SQLite, no SQLAlchemy ``Row`` per row."""
    rows: list[Any] = _run(conn, sql, params, count=False, named=True)
    return rows


def _run(conn: Connection, sql: str, params: Sequence[Any], count: bool, named: bool = False) -> Any:
    if conn.dialect.paramstyle != "qmark":  # PostgreSQL: with whatever waits, one round trip
        item = _defer(conn, sql, params, many=False, named=named)
        send_deferred(conn, sql, params)
        return item.rowcount if count else item.rows
    cursor = _cursor(conn)
    if named:
        cursor.row_factory = sqlite3.Row
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
    """Run one statement of hand-written SQL once per parameter row (an ``executemany``); on
    PostgreSQL deferred like ``run_later``."""
    if not rows:
        return
    if conn.dialect.paramstyle != "qmark":
        _defer(conn, sql, rows, many=True)
        return
    cursor = _cursor(conn)
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
# audit rows, notices, queue rows, a SAVEPOINT) is queued and not waited for: it goes out with the next
# statement that is waited for (``run_sql``, ``run_count``, a Core statement, the end of a savepoint) or
# with COMMIT, in one round trip on libpq (``store/pg_wire.py``), and their answers come back together.
# PostgreSQL runs them in order, so every statement still sees the ones before it. A deferred statement
# that fails fails the statement it went out with (its own error, e.g. ``IntegrityError``), and the
# transaction as always; a COMMIT that went out after a failed statement was not run, so that error is
# not a COMMIT's (the writer may retry). Core statements and other driver cursors send the queue first
# (the engine's ``before_cursor_execute`` listener). On SQLite ``run_later`` simply runs the statement.

PIPELINE = "meetadmin_pipeline"  # in the connection's info while deferred statements wait: their queue


def run_later(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement whose outcome nobody reads; on PostgreSQL without waiting for its answer (see
    above). Its error, if any, comes out of the next statement waited for or out of the commit."""
    if conn.dialect.paramstyle == "qmark":
        _run(conn, sql, params, count=True)
        return
    _defer(conn, sql, params, many=False)


def _defer(conn: Connection, sql: str, params: Any, many: bool, named: bool = False) -> Queued:
    queue: list[Queued] | None = conn.info.get(PIPELINE)
    if queue is None:
        queue = conn.info[PIPELINE] = []
        driver: Any = conn.connection.driver_connection
        if not driver.autocommit and driver.pgconn.transaction_status == _IDLE:
            # psycopg opens a transaction before its first statement; before ours, we do
            queue.append(Queued(driver._get_tx_start_command().decode(), (), False))
    sql = _dialect_sql(conn, sql)
    _announce(conn, OWN_STATEMENT, sql, params, many)
    item = Queued(sql, params, many, named)
    queue.append(item)
    return item


_IDLE = 0  # libpq's PQTRANS_IDLE


OWN_BEGIN = "meetadmin_own_begin"  # in the connection's info while ``begin_later`` holds autocommit on


def begin_later(conn: Connection) -> None:
    """PostgreSQL: open the transaction with its first statements, not in a round trip of its own.
    psycopg, left to open it, sends BEGIN before its first statement and waits for the answer; with
    autocommit on it leaves BEGIN to us, and BEGIN is deferred like ``run_later``. psycopg's commit
    and rollback go by the server's transaction status, so they still end it. ``end_own_begin`` turns
    autocommit off again before the connection goes back to the pool."""
    driver: Any = conn.connection.driver_connection
    driver.autocommit = True
    conn.info[OWN_BEGIN] = True
    _defer(conn, "BEGIN", (), many=False)


def end_own_begin(conn: Connection) -> None:
    """After ``begin_later``'s transaction has ended: autocommit off again, as every other user of a
    pooled connection expects; a connection that can't be set back leaves the pool."""
    if not conn.info.pop(OWN_BEGIN, False):
        return
    try:
        conn.connection.driver_connection.autocommit = False  # type: ignore[union-attr]
    except Exception:
        with contextlib.suppress(Exception):
            conn.invalidate()


def read_later(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Any]]:
    """Send a statement whose rows are needed later; the rows, when called. On PostgreSQL it goes out
    with the next statement waited for (as ``run_later``), so two reads that do not depend on each
    other cost one round trip; on SQLite it runs now."""
    if conn.dialect.paramstyle == "qmark":
        rows = run_sql(conn, sql, params)
        return lambda: rows
    item = _defer(conn, sql, params, many=False)

    def fetch() -> list[Any]:
        if not item.done:  # nothing has sent it yet
            send_deferred(conn)
        return item.rows

    return fetch


def send_deferred(conn: Connection, sql: str = "(deferred statements)", params: Any = ()) -> None:
    """Send the statements ``run_later`` deferred and wait for their answers; the first error is raised
    as SQLAlchemy's exception for ``sql`` (the statement waited for, if any)."""
    queue = conn.info.pop(PIPELINE, None)
    if queue is None:
        return
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        round_trip(conn.connection.driver_connection, queue)
    except dbapi_error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc


def drop_deferred(conn: Connection) -> None:
    """After an error, before the transaction (or a savepoint) is rolled back: what is queued is sent
    (a SAVEPOINT among it must exist to be rolled back to), and errors are let go."""
    with contextlib.suppress(Exception):
        send_deferred(conn)


def commit_deferred(conn: Connection) -> None:
    """COMMIT sent with the deferred statements, in their round trip. A failure marked
    ``meetadmin_before_commit`` was a deferred statement's: COMMIT was not run, nothing was kept."""
    driver: Any = conn.connection.driver_connection
    _defer(conn, "COMMIT", (), many=False)
    try:
        send_deferred(conn, "COMMIT")
    except DBAPIError as error:
        # Still in a failed transaction: a deferred statement failed and COMMIT was skipped. (A COMMIT
        # that ran and failed leaves none; a lost connection leaves the outcome unknown.)
        if driver.pgconn.transaction_status == _IN_FAILED_TRANSACTION:
            error.meetadmin_before_commit = True  # type: ignore[attr-defined]
        raise


_IN_FAILED_TRANSACTION = 3  # libpq's PQTRANS_INERROR


def insert_rows(conn: Connection, head: str, row: str, rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT ... VALUES`` of many rows in one statement (``head`` ends in ``VALUES``, ``row`` is one
    row's ``(?, ...)``), not one execution per row as ``run_many``; on PostgreSQL deferred like
    ``run_later`` (every row goes in or the statement fails). SQLite then steps once, and the driver lets
    go of Python's lock once instead of once per row: under load, each time the writer thread let go it
    had to wait for the event loop's thread to give the lock back (100-person refreshes: writer CPU per
    request 3.8 -> 3.3 ms, explicit IDs 175-185 -> 192-205 req/s)."""
    for start in range(0, len(rows), 100):  # the batches here have 100 rows at most: one statement
        chunk = rows[start : start + 100]
        run_later(conn, f"{head} {', '.join([row] * len(chunk))}", [v for r in chunk for v in r])


def marks(count: int) -> str:
    """``?, ?, ?``: placeholders for an IN list."""
    return ", ".join("?" * count)
