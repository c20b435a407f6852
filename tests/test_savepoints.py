"""store.db.savepoint: nested savepoints keep or undo their own work, and every request sends the same
few statements (savepoints are named by depth), so the driver's statement cache and the PostgreSQL
placeholder cache stay bounded however many requests are served."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, insert, select

from meetadmin.store import driver
from meetadmin.store.db import begin, savepoint
from meetadmin.store.models import Org


class _Undo(Exception):
    pass


def _add_org(conn: Connection, org_id: str) -> None:
    conn.execute(insert(Org).values(id=org_id, webex_id=f"webex-{org_id}", name=org_id))


def _orgs(conn: Connection) -> set[str]:
    return set(conn.scalars(select(Org.id).where(Org.id.like("sp-%"))))


def test_nested_savepoints_keep_or_undo_their_own_work(engine: Engine) -> None:
    with begin(engine, write=True) as conn:
        with savepoint(conn):
            _add_org(conn, "sp-outer")
            with pytest.raises(_Undo), savepoint(conn):
                _add_org(conn, "sp-inner-undone")
                raise _Undo
            with savepoint(conn):
                _add_org(conn, "sp-inner-kept")
        with pytest.raises(_Undo), savepoint(conn):
            _add_org(conn, "sp-second-undone")
            raise _Undo
    with begin(engine) as conn:
        assert _orgs(conn) == {"sp-outer", "sp-inner-kept"}
        assert conn.info.get("meetadmin_savepoint_depth", 0) == 0


def test_savepoint_statements_are_the_same_every_time(engine: Engine) -> None:
    sent: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if "SAVEPOINT" in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    cached = len(driver._PYFORMAT)
    for n in range(50):
        with begin(engine, write=True) as conn, savepoint(conn), pytest.raises(_Undo), savepoint(conn):
            _add_org(conn, f"sp-undone-{n}")
            raise _Undo
    event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 50 * 5  # outer: SAVEPOINT, RELEASE; inner: SAVEPOINT, ROLLBACK TO, RELEASE
    assert len(set(sent)) == 5  # not five new statements per request
    assert len(driver._PYFORMAT) <= cached + 5  # PostgreSQL's $n rewrite cache does not grow per request
    with begin(engine) as conn:
        assert conn.scalar(select(func.count()).select_from(Org).where(Org.id.like("sp-%"))) == 0
