"""Engines and sessions.

SQLite runs in WAL mode with foreign keys on and full sync. Write transactions on SQLite start with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing when a read
lock cannot be upgraded. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE = "meetadmin_write"
# SQLite has one writer at a time. Threads of one process queue for it on this lock, in order, instead of
# polling SQLite's busy handler (which sleeps in growing steps and wrecks tail latency). Other processes
# still meet at SQLite's own lock and busy timeout.
_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


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
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        _SQLITE_WRITE_LOCKS[engine] = threading.Lock()
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session], write: bool = False) -> Iterator[Session]:
    """One unit of work: commits when the block succeeds, rolls back on any exception."""
    bind = factory.kw.get("bind")
    lock = _SQLITE_WRITE_LOCKS.get(bind) if write and isinstance(bind, Engine) else None
    with lock or nullcontext(), factory() as session:
        if write:
            session.connection(execution_options={WRITE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
