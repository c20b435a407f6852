"""Building and writing a fixture's meeting rows in bulk (``write_meetings``, ``RowWriter``) and drawing
the random values of a million new rows cheaply (``RandomText``).

A million-series load spent half its time in SQLAlchemy Core around ``executemany``: building each
row's parameters and running every value through its type's bind processor. The rows go straight to
the driver instead, each value as SQLAlchemy's type would have written it, a chunk at a time as the
loader builds them, so that a million rows are never held as dicts at once.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Table, literal, select, text

from meetadmin.domain import ids
from meetadmin.domain.occurrences import occurrence_starts
from meetadmin.store.db import sqlite_time_text
from meetadmin.store.driver import run_many, send_deferred
from meetadmin.store.fixture_checks import utc_naive
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.models import Base, MeetingInstance, MeetingSeries

CHUNK = 20_000  # rows per executemany or COPY
LOAD_CACHE_KIB = 262_144  # SQLite's page cache while loading


@contextmanager
def load_cache(conn: Connection) -> Iterator[None]:
    """SQLite: a page cache of ``LOAD_CACHE_KIB`` for the load instead of the connection's 32 MiB, then
    back. The indexes of a million series outgrow 32 MiB, and each page pushed out of the cache in the
    middle of the transaction is written to the WAL, again and again as later rows change it: a
    million-series load spent 8 s in system calls, 3 s with 256 MiB (and 10-20% less time in all)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or 0)}")


class RowWriter:
    """The rows of ``model``'s table, added one at a time (``add``) and written ``CHUNK`` at a time;
    ``flush`` writes what is left. Rows are dicts by column name, every row with the same keys; columns they
    leave out are NULL (the table's Python-side default for each must be None, as SQLAlchemy would
    otherwise have filled it in: checked on the first write).

    ``before``: a writer whose rows these rows refer to (foreign keys are checked per statement), flushed
    first. On SQLite an ``executemany`` of a ``?`` statement on the driver, datetimes and JSON as the
    text SQLAlchemy stores; on PostgreSQL ``COPY ... FROM STDIN``."""

    def __init__(self, conn: Connection, model: type[Base], before: RowWriter | None = None) -> None:
        self.conn = conn
        self.table = Base.metadata.tables[model.__tablename__]
        self.before = before
        self.count = 0
        self._rows: list[dict[str, Any]] = []
        self._names: list[str] | None = None

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.before is not None:
            self.before.flush()
        rows, self._rows = self._rows, []
        if not rows:
            return
        if self._names is None:
            self._names = list(rows[0])
            _check_left_out(self.table, self._names)
        self.count += len(rows)
        if self.conn.dialect.name == "postgresql":
            _copy(self.conn, self.table, self._names, rows)
        else:
            _insert_sqlite(self.conn, self.table, self._names, rows)


REBUILD_ROWS = 100_000  # a load of at least this many series into none: indexes made after (rebuilt_after)


@contextmanager
def rebuilt_after(conn: Connection, model: type[Base], rows: int) -> Iterator[None]:
    """A load of ``rows`` (at least ``REBUILD_ROWS``) into ``model``'s table while it is empty: its
    secondary indexes, and on PostgreSQL its foreign keys, are dropped for the block and made again after
    it from their own definitions as the database reports them (same names, same SQL), in the same
    transaction. Building an index from all rows at once is cheaper than growing it row by row, and
    PostgreSQL checks a foreign key added to a full table with one join instead of a trigger per row
    (PostgreSQL's advice for populating a database). A million series: on PostgreSQL the series' COPY took
    34 s, of which 23 s were the foreign keys' triggers, against 9 s in all this way; on SQLite 4 s less.

    Only into an empty table: rebuilding what a table already holds can cost more than it saves. On
    PostgreSQL dropping a foreign key locks the tables it refers to until the load commits, so servers
    reading them wait; a load this large into a database with no series is taken to be a first load."""
    table = Base.metadata.tables[model.__tablename__]
    if rows < REBUILD_ROWS or conn.execute(select(literal(1)).select_from(table).limit(1)).first():
        yield
        return
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "postgresql":
        found = conn.execute(
            text(
                "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS sql FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            ),
            {"t": table.name},
        ).all()
        indexes = [(f"DROP INDEX {quote(r.name)}", r.sql) for r in found]
        keys = conn.execute(
            text(
                "SELECT conname AS name, pg_get_constraintdef(oid) AS sql FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"
            ),
            {"t": table.name},
        ).all()
        alter = f"ALTER TABLE {quote(table.name)}"
        dropped = indexes + [
            (f"{alter} DROP CONSTRAINT {quote(r.name)}", f"{alter} ADD CONSTRAINT {quote(r.name)} {r.sql}")
            for r in keys
        ]
    else:
        found = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
            ),
            {"t": table.name},
        ).all()
        dropped = [(f"DROP INDEX {quote(r.name)}", r.sql) for r in found]
    for drop, _ in dropped:
        conn.exec_driver_sql(drop)
    yield
    for _, make in dropped:
        conn.exec_driver_sql(make)


def _check_left_out(table: Table, names: list[str]) -> None:
    for column in table.columns:
        if column.name in names or column.default is None or column.primary_key:
            continue
        if not getattr(column.default, "is_scalar", False) or column.default.arg is not None:  # type: ignore[attr-defined]
            raise ValueError(f"{table.name}.{column.name} has a default: the rows must give it")


def _insert_sqlite(conn: Connection, table: Table, names: list[str], rows: list[dict[str, Any]]) -> None:
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    convert = [
        (i, _sqlite_time if isinstance(table.c[n].type, DateTime) else _sqlite_json)
        for i, n in enumerate(names)
        if isinstance(table.c[n].type, (DateTime, JSON))
    ]
    if not convert:
        run_many(conn, sql, [values(row) for row in rows])
        return
    params = []
    for row in rows:
        one = list(values(row))
        for i, to_text in convert:
            one[i] = to_text(one[i])
        params.append(one)
    run_many(conn, sql, params)


@functools.lru_cache(maxsize=65_536)  # the rows of a load share few times (``created``, common starts)
def _sqlite_time(value: datetime | None) -> str | None:
    """``store.db.sqlite_time_text``, cached, and None kept."""
    return None if value is None else sqlite_time_text(value)


def _sqlite_json(value: Any) -> str | None:
    """JSON text as SQLAlchemy's JSON type writes it on SQLite (``json.dumps``), so that a loaded row is
    byte for byte what Core inserted."""
    return None if value is None else json.dumps(value)


def _copy(conn: Connection, table: Table, names: list[str], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows with ``COPY ... FROM STDIN`` (psycopg's ``Cursor.copy``), in the same
    transaction: no statement to build or parse per batch. JSON columns are sent as JSON text."""
    from psycopg.types.json import Json

    as_json = {n for n in names if isinstance(table.c[n].type, JSON)}
    columns = ", ".join(f'"{n}"' for n in names)
    send_deferred(conn)  # COPY can't run in pipeline mode: what waits (BEGIN at least) goes first
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([Json(row[n]) if n in as_json else row[n] for n in names])
    finally:
        cursor.close()


PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # of fixture passwords
UNMOVABLE_FOR_INSTANCES = frozenset({"inProgress", "lobby"})


def _instances(
    series_id: str,
    host_key: int,
    start: datetime,
    end: datetime,
    rule: str | None,
    ended: int,
    state: str,
    now: datetime,
) -> Iterable[dict[str, Any]]:
    duration = end - start
    past = [
        s for _, s in zip(range(ended), occurrence_starts(start, rule), strict=False) if s + duration <= now
    ]
    while len(past) < ended:  # series whose first occurrence lies ahead: earlier runs, one week apart
        past.insert(0, (past[0] if past else start) - timedelta(days=7))
    for s in past:
        yield {
            "id": ids.new_instance_id(series_id),
            "series_id": series_id,
            "host_id": host_key,
            "start": s,
            "end": s + duration,
            "state": "ended",
        }
    if state in UNMOVABLE_FOR_INSTANCES:
        yield {
            "id": ids.new_instance_id(series_id),
            "series_id": series_id,
            "host_id": host_key,
            "start": now - timedelta(minutes=10),
            "end": None,
            "state": state,
        }


def write_meetings(
    conn: Connection,
    doc: FixtureDoc,
    times: list[tuple[datetime, datetime]],
    site_ids: dict[str, int],
    person_keys: dict[str, int],
    now: datetime,
) -> int:
    """Write the series of ``doc`` and their instances (``times``: each series' start and end as naive
    UTC, from ``check_references``); how many series."""
    series = RowWriter(conn, MeetingSeries)
    instances = RowWriter(conn, MeetingInstance, before=series)
    passwords, first_digits, digits = (
        RandomText(PASSWORD_ALPHABET),
        RandomText("123456789"),
        RandomText("0123456789"),
    )
    for m, (start, end) in zip(doc.meetings, times, strict=True):
        series_id = m.id or ids.new_series_id()
        host_key = person_keys[m.host.lower()]
        series.add(
            {
                "id": series_id,
                "org_id": doc.org.id,
                "site_id": site_ids[m.siteUrl.lower()],
                "host_id": host_key,
                "title": m.title,
                "agenda": m.agenda,
                "start": start,
                "end": end,
                "timezone": m.timezone,
                "recurrence": m.recurrence,
                "session_type_id": m.sessionTypeId,
                "scheduled_type": m.scheduledType,
                "state": m.state,
                "callback": m.callback,
                "integration": m.integration,
                "scheduled_by_id": person_keys[m.scheduledBy.lower()] if m.scheduledBy else None,
                # as ids.new_meeting_number and a password of 11 characters, drawn in blocks (RandomText)
                "meeting_number": m.meetingNumber or first_digits.take(1) + digits.take(9),
                "password": m.password or passwords.take(11),
                "created": now,
                "updated": now,
            }
        )
        if m.instances is not None:
            for i in m.instances:
                instances.add(
                    {
                        "id": i.id,
                        "series_id": series_id,
                        "host_id": person_keys[i.host.lower()],
                        "start": utc_naive(i.start),
                        "end": utc_naive(i.end) if i.end is not None else None,
                        "state": i.state,
                    }
                )
        elif m.endedInstances or m.state in UNMOVABLE_FOR_INSTANCES:  # else it has none
            ran = _instances(series_id, host_key, start, end, m.recurrence, m.endedInstances, m.state, now)
            for row in ran:
                instances.add(row)
    instances.flush()
    return series.count


class RandomText:
    """Random strings over ``alphabet``, each character uniform and from the system's random source
    (``os.urandom``), like ``secrets.choice`` per character: meeting passwords are shown to people and
    must not be guessable. One draw of 64 KiB serves thousands of strings: ``secrets`` per string cost
    several seconds per million series. Bytes past the largest multiple of the alphabet's length are
    dropped, so that every character is equally likely."""

    def __init__(self, alphabet: str) -> None:
        size = len(alphabet)
        self._table = bytes(ord(alphabet[b % size]) for b in range(256))
        self._drop = bytes(range(256 - 256 % size, 256))
        self._buffer = ""
        self._at = 0

    def take(self, length: int) -> str:
        if self._at + length > len(self._buffer):
            self._buffer = os.urandom(65_536).translate(self._table, self._drop).decode("ascii")
            self._at = 0
        text = self._buffer[self._at : self._at + length]
        self._at += length
        return text
