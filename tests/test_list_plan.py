"""One host's listing reads its series keys from ``ix_meeting_series_host_list`` alone (migration 0013):
at a million series a host's rows lie scattered over the table, their index entries side by side."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from meetadmin.store.meeting_list import SeriesFilter, series_keys_statement

NOW = datetime(2026, 12, 1, 12, 0)


def _plan(conn: Connection, flt: SeriesFilter, after: tuple[datetime, str] | None) -> str:
    stmt = series_keys_statement(flt, NOW, NOW + timedelta(days=7), after, 220)
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name == "sqlite":
        cursor.execute("EXPLAIN QUERY PLAN " + str(compiled), [None] * len(compiled.positiontup or ()))
        return "\n".join(str(row[-1]) for row in cursor.fetchall())
    # PostgreSQL: a table this small is read whole unless told otherwise; an index-only scan is
    # possible only when the index holds every column the query names.
    cursor.execute("SET enable_seqscan = off")
    cursor.execute("SET enable_bitmapscan = off")
    cursor.execute("EXPLAIN " + str(compiled), compiled.params)
    return "\n".join(str(row[0]) for row in cursor.fetchall())


def test_a_hosts_series_keys_come_from_the_covering_index(engine: Engine) -> None:
    flt = SeriesFilter("example", 1, None, ("meeting", "webinar"))
    with_site = SeriesFilter("example", 1, 2, ("meeting",))
    with engine.connect() as conn:
        for f, after in [(flt, None), (flt, (NOW, "ab" * 16)), (with_site, None)]:
            plan = _plan(conn, f, after)
            if conn.dialect.name == "sqlite":
                assert "USING COVERING INDEX ix_meeting_series_host_list" in plan, plan
            else:
                assert "Index Only Scan using ix_meeting_series_host_list" in plan, plan
