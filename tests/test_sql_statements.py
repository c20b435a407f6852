"""Hand-written SQL that can't drift from the schema (issue 11, item 4).

Every statement the store runs on the driver is declared with ``store.driver.sql``. Each declared statement is
prepared against the migrated database (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL), so
a table or column that no longer exists fails here, and the NamedTuple its rows are read through must name
its result columns in order. A scan of the covered modules makes sure no statement escapes declaration.
``db_time`` writes datetimes exactly as SQLAlchemy's own SQLite DateTime does.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from datetime import datetime
from types import ModuleType
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Connection, DateTime, Engine, create_engine
from sqlalchemy.dialects import sqlite

import meetadmin.store
from meetadmin.store.db import db_time, from_db_time
from meetadmin.store.driver import STATEMENTS, Statement, sql

# The modules whose hand-written SQL must all be declared (store/rooms.py joins once its statements are).
COVERED = ["meetings", "sites", "audit", "people", "tokens", "idempotency"]
RUNNERS = {"run_sql", "run_count", "run_many", "insert_rows", "exec_driver_sql", "text"}
FIELD = re.compile(r"\{\w+\}")  # {ids}: a list of ? marks at run time
LIMIT = re.compile(r"\s+LIMIT \?")
ROW_LOCK = re.compile(r"\s+FOR (NO KEY )?UPDATE\b")


def _import_store() -> None:
    for info in pkgutil.walk_packages(meetadmin.store.__path__, "meetadmin.store."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)


_import_store()


def runnable(statement: Statement, dialect: str) -> tuple[str, list[None]]:
    """The statement as the driver gets it, with a NULL for each parameter."""
    text = FIELD.sub("?", statement.text)
    text = LIMIT.sub(" LIMIT 0", text)  # SQLite refuses a NULL limit
    if dialect == "sqlite" and statement.dialect == "postgresql":
        text = ROW_LOCK.sub("", text)  # a row lock SQLite never runs: its names are still checked here
    params = [None] * text.count("?")
    return (text if dialect == "sqlite" else text.replace("?", "%s")), params


def problems(conn: Connection, statement: Statement) -> list[str]:
    """What is wrong with a declared statement on this database (nothing: [])."""
    dialect = conn.dialect.name
    text, params = runnable(statement, dialect)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    where = f"{statement.module}: {statement.text!r}"
    try:
        cursor.execute(explain + text, params)
        cursor.fetchall()
        if statement.row is None:
            return []
        cursor.execute(text, params)  # a SELECT: no row matches NULL; the description names the columns
        columns = tuple(d[0] for d in cursor.description or ())
    except conn.dialect.loaded_dbapi.Error as exc:
        return [f"{where}: {str(exc).splitlines()[0]}"]
    finally:
        cursor.close()
    fields = tuple(statement.row._fields)  # type: ignore[attr-defined]
    if columns != fields:
        return [f"{where}: returns {columns}, read as {statement.row.__name__}{fields}"]
    return []


def check_all(engine: Engine, statements: list[Statement]) -> list[str]:
    found: list[str] = []
    for statement in statements:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                found += problems(conn, statement)
            finally:
                tx.rollback()
    return found


def test_the_hand_written_statements_are_declared() -> None:
    modules = {s.module for s in STATEMENTS}
    assert {"meetadmin.store.meetings", "meetadmin.store.sites", "meetadmin.store.audit"} <= modules


def test_every_declared_statement_fits_the_migrated_schema(engine: Engine) -> None:
    assert check_all(engine, STATEMENTS) == []


class _Wrong(NamedTuple):
    id: int
    site: str


def test_the_check_catches_drift(engine: Engine) -> None:
    here = __name__
    drifted = [
        Statement("SELECT id, nosuch FROM sites WHERE id = ?", here, None, None),
        Statement("UPDATE meeting_series SET gone = ? WHERE id IN ({ids})", here, None, None),
        Statement("INSERT INTO no_table (id) VALUES (?)", here, None, None),
        Statement("SELECT id, site_url FROM sites WHERE id = ?", here, _Wrong, None),
        Statement("SELECT id FROM people WHERE id IN ({ids}) FOR UPDATE OF nothing", here, None, None),
    ]
    found = check_all(engine, drifted)
    assert len(found) == 5, found
    assert "read as _Wrong('id', 'site')" in found[3]
    assert check_all(engine, [Statement("SELECT id FROM sites WHERE id = ?", here, None, None)]) == []


# --- no hand-written statement escapes declaration -------------------------------------------------------


def _texts(module: ModuleType, node: ast.expr) -> list[str] | None:
    """The statement texts an argument can be (both arms of ``a if c else b``); None if not a module
    constant (an f-string, a concatenation or a literal written at the call)."""
    if isinstance(node, ast.Constant) and node.value == "":
        return [""]
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return [getattr(module, node.id)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and not node.args
    ):
        return _texts(module, node.func.value)
    if isinstance(node, ast.IfExp):
        body, orelse = _texts(module, node.body), _texts(module, node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def undeclared(module: ModuleType, source: str | None = None) -> list[str]:
    declared = {s.text for s in STATEMENTS if s.module == module.__name__}
    tree = ast.parse(source if source is not None else inspect.getsource(module))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in RUNNERS:
            continue
        where = f"{module.__name__}, line {node.lineno}"
        if name == "insert_rows":
            heads, rows = (_texts(module, a) for a in (node.args[1], node.args[2]))
            if heads is None or rows is None:
                found.append(f"{where}: insert_rows of an undeclared statement")
                continue
            texts = [f"{h} {r}" for h in heads for r in rows]
        else:
            arg = node.args[0] if name in ("exec_driver_sql", "text") else node.args[1]
            texts = _texts(module, arg) or [f"<{ast.unparse(arg)}>"]
        found += [f"{where}: {t!r} is not declared with sql()" for t in texts if t not in declared]
    return found


@pytest.mark.parametrize("name", COVERED)
def test_every_statement_a_covered_module_runs_is_declared(name: str) -> None:
    assert undeclared(importlib.import_module(f"meetadmin.store.{name}")) == []


SCANNED = """
from meetadmin.store.driver import insert_rows, run_sql, sql

_ONE = sql("SELECT id FROM sites WHERE id IN ({ids})")
_HEAD = "INSERT INTO sites (id) VALUES"
_ROW = "(?)"
sql(f"{_HEAD} {_ROW}")
_LOOSE = "SELECT id FROM sites"


def fine(conn, ids):
    run_sql(conn, _ONE.format(ids=ids))
    insert_rows(conn, _HEAD, _ROW, [(1,)])


def loose(conn, site_id, free):
    run_sql(conn, _LOOSE)
    run_sql(conn, f"SELECT id FROM sites WHERE id = {site_id}")
    run_sql(conn, "DELETE FROM sites")
    insert_rows(conn, _HEAD, _ROW if free else "(?, ?)", [(1,), (2,)])
    conn.exec_driver_sql(_LOOSE + " WHERE 1")
"""


def test_the_scan_catches_undeclared_statements() -> None:
    module = ModuleType("meetadmin_scanned")
    before = len(STATEMENTS)
    try:
        exec(compile(SCANNED, "<scanned>", "exec"), module.__dict__)
        found = undeclared(module, SCANNED)
    finally:
        del STATEMENTS[before:]
    assert [line.split(": ", 1)[0] for line in found] == [
        f"meetadmin_scanned, line {n}" for n in (17, 18, 19, 20, 21)
    ], found


# --- db_time: the store's text form of a datetime on SQLite ----------------------------------------------

TIMES = [
    datetime(2026, 12, 1, 14, 30),
    datetime(2026, 12, 1, 14, 30, 5),
    datetime(2026, 12, 1, 14, 30, 5, 123),
    datetime(2026, 12, 1, 14, 30, 5, 999999),
    datetime(2027, 2, 28, 23, 59, 59, 500000),
    datetime(999, 1, 2, 3, 4, 5),
    datetime(1, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
]


@pytest.fixture(scope="module")
def sqlite_conn() -> Any:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.mark.parametrize("value", TIMES, ids=str)
def test_db_time_is_sqlalchemys_own_sqlite_datetime(sqlite_conn: Connection, value: datetime) -> None:
    dialect = sqlite.dialect()
    impl = DateTime().dialect_impl(dialect)
    bind, result = impl.bind_processor(dialect), impl.result_processor(dialect, None)
    assert bind is not None and result is not None
    text = db_time(sqlite_conn, value)
    assert text == bind(value)
    assert db_time(sqlite_conn, value) == text  # and again, from its one-entry cache
    assert from_db_time(text) == value == result(text)


def test_db_time_leaves_datetimes_to_other_drivers(engine: Engine) -> None:
    with engine.connect() as conn:
        for value in TIMES:
            if conn.dialect.name == "sqlite":
                assert from_db_time(db_time(conn, value)) == value
            else:
                assert db_time(conn, value) is value and from_db_time(value) is value


def test_sql_returns_the_text_it_declares() -> None:
    before = len(STATEMENTS)
    text = "SELECT id FROM sites WHERE id = ?"
    assert sql(text) is text
    assert STATEMENTS[before:] == [Statement(text, __name__, None, None)]
    del STATEMENTS[before:]
