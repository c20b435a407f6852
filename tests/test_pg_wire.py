"""PostgreSQL: the store's statements on libpq (``store/pg_wire.py``): prepared once per connection,
values in and out as psycopg's own adapters make them, big statements sent whole, and a connection whose
prepared statements were dropped or outdated behind its back prepares them afresh (the writer runs the
work once more, so nobody sees it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from meetadmin.store.db import begin
from meetadmin.store.driver import read_later, run_named, run_sql
from meetadmin.store.writer import Writer
from tests.conftest import BACKENDS

PG_ONLY = pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
ECHO = "SELECT ?::bigint AS n, ?::text AS t, ?::timestamp AS at, ?::boolean AS yes, ?::text AS nothing"


def _prepared(conn: Connection) -> list[str]:
    driver: Any = conn.connection.driver_connection
    return [r[0] for r in driver.execute("SELECT statement FROM pg_prepared_statements").fetchall()]


@PG_ONLY
def test_a_statement_is_prepared_once_per_connection_and_values_cross_unchanged(engine: Engine) -> None:
    writer = Writer(engine)
    at = datetime(2026, 12, 7, 4, 30, 1, 123456)
    values = [2**40, "ünïcode ✓", at, True, None]

    def work(conn: Connection) -> tuple[Any, ...]:
        first = run_sql(conn, ECHO, values)
        later = read_later(conn, ECHO, values)
        named = run_named(conn, ECHO, values)
        return first, later(), named, _prepared(conn)

    first, later, named, prepared = writer.write_now(work)
    assert first == later == [(2**40, "ünïcode ✓", at, True, None)]
    assert named == [{"n": 2**40, "t": "ünïcode ✓", "at": at, "yes": True, "nothing": None}]
    echo = ECHO.replace("?", "${}").format(*range(1, 6))
    assert prepared.count(echo) == 1  # three uses, one preparation
    again = writer.write_now(lambda conn: (run_sql(conn, ECHO, values), _prepared(conn)))
    assert again[0] == first and again[1].count(echo) == 1  # the next transaction runs it by name


@PG_ONLY
def test_a_statement_bigger_than_the_socket_buffers_goes_whole(engine: Engine) -> None:
    big = "x" * 5_000_000
    rows = Writer(engine).write_now(lambda conn: run_sql(conn, "SELECT length(?), md5(?)", [big, big]))
    assert rows[0][0] == 5_000_000


def _fails_once_then_works(engine: Engine, sql: str, params: list[Any], message: str) -> list[Any]:
    """A bare transaction (no writer) fails with ``message``; the next one works: its rows."""
    with pytest.raises(DBAPIError) as failed, begin(engine, write=True) as conn:
        run_sql(conn, sql, params)
    assert message in str(failed.value)
    with begin(engine, write=True) as conn:
        return run_sql(conn, sql, params)


@PG_ONLY
def test_prepared_statements_dropped_behind_its_back_are_prepared_again(engine: Engine) -> None:
    writer = Writer(engine)
    count = "SELECT count(*) FROM orgs WHERE id = ?"

    def drop_them(conn: Connection) -> None:
        conn.connection.driver_connection.execute("DEALLOCATE ALL")  # type: ignore[union-attr]

    assert writer.write_now(lambda conn: run_sql(conn, count, ["nobody"])) == [(0,)]
    writer.write_now(drop_them)
    assert _fails_once_then_works(engine, count, ["nobody"], "does not exist") == [(0,)]
    writer.write_now(drop_them)
    # The writer runs the work once more, on statements prepared afresh: nobody sees the failure.
    assert writer.write_now(lambda conn: run_sql(conn, count, ["nobody"])) == [(0,)]
    assert writer.read_now(lambda conn: run_sql(conn, count, ["nobody"])) == [(0,)]


@PG_ONLY
def test_a_table_that_changed_shape_is_read_in_its_new_shape(engine: Engine) -> None:
    writer = Writer(engine)
    writer.write_now(lambda conn: run_sql(conn, "CREATE TABLE wire_shape (a integer)"))
    read = "SELECT * FROM wire_shape WHERE a IS DISTINCT FROM ?"
    assert writer.write_now(lambda conn: run_sql(conn, read, [0])) == []  # prepared: one column
    writer.write_now(lambda conn: run_sql(conn, "ALTER TABLE wire_shape ADD COLUMN b integer"))
    writer.write_now(lambda conn: run_sql(conn, "INSERT INTO wire_shape VALUES (1, 2)"))
    changed = _fails_once_then_works(engine, read, [0], "cached plan must not change result type")
    assert changed == [(1, 2)]
    writer.write_now(lambda conn: run_sql(conn, "ALTER TABLE wire_shape ADD COLUMN c integer"))
    assert writer.write_now(lambda conn: run_sql(conn, read, [0])) == [(1, 2, None)]  # run once more
