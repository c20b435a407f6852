"""Releasing a refresh's current rooms reads only current rows on PostgreSQL, even on statistics taken
before anyone had quarantined rooms, as after a load (migration 0016). Before it, the planner took the
index on ``person_id`` alone and read every quarantined row of each person; the test shows that plan on
the schema before 0016 too, so it can tell the two apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import Engine, event, text

from meetadmin.store.driver import run_sql
from meetadmin.store.migrate import alembic_config, upgrade
from meetadmin.store.rooms import release_active
from tests.conftest import BACKENDS

PG_ONLY = pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
NOW = datetime(2026, 12, 7, 12, 0)


def _history_after_analyze(engine: Engine) -> tuple[int, list[int]]:
    """Statistics of current rooms only, then 40 quarantined rooms per person: the site and its people."""
    with engine.begin() as conn:
        run_sql(conn, "ANALYZE personal_room_ids")
        rows = run_sql(conn, "SELECT site_id, person_id FROM personal_room_ids WHERE active")
        site = rows[0][0]
        people = sorted({r[1] for r in rows if r[0] == site})
        history = [
            (site, person, f"old{person}x{n}", f"old{person}x{n}", NOW, NOW + timedelta(days=30))
            for person in people
            for n in range(40)
        ]
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO personal_room_ids (site_id, person_id, room_id, room_key, active, released_at, "
                "reserved_until) VALUES (%s, %s, %s, %s, false, %s, %s)",
                history,
            )
    return site, people


def _release_plan(engine: Engine, site: int, people: list[int]) -> str:
    """The plan PostgreSQL makes for ``release_active``'s own statement (the release is rolled back)."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if statement.startswith("UPDATE personal_room_ids"):
            seen.append((statement, params))

    with engine.connect() as conn:
        event.listen(engine, "before_cursor_execute", keep)
        try:
            with conn.begin() as trans:
                release_active(conn, site, people, NOW, NOW + timedelta(days=30))
                trans.rollback()
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        [(statement, params)] = seen
        driver: Any = conn.connection.driver_connection
        with psycopg.RawCursor(driver) as cursor:  # the statement as sent: $1, $2 placeholders
            cursor.execute("SET LOCAL enable_seqscan = off")  # the table is small; its indexes are the point
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + statement, params)
            plan = "\n".join(str(r[0]) for r in cursor.fetchall())
        conn.rollback()
    return plan


@PG_ONLY
def test_a_release_reads_current_rooms_only_on_statistics_from_before_any_history(
    engine: Engine, world: object
) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
    site, people = _history_after_analyze(engine)
    before = _release_plan(engine, site, people)
    assert "ix_personal_room_ids_person " in before and "Filter: (active" in before, before

    upgrade(engine)
    with engine.begin() as conn:
        run_sql(conn, "DELETE FROM personal_room_ids WHERE NOT active")
    site, people = _history_after_analyze(engine)
    after = _release_plan(engine, site, people)
    assert "ix_personal_room_ids_person_active" in after or "ux_personal_room_ids_active_owner" in after, (
        after
    )
    assert "Filter: (active" not in after, after
    with engine.connect() as conn:  # the release was rolled back: everyone still holds a current room
        current = conn.execute(text("SELECT count(*) FROM personal_room_ids WHERE active")).scalar_one()
        assert current >= len(people)
