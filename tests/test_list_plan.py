"""One host's listing reads its series keys from ``ix_meeting_series_host_list`` alone (migration 0013):
at a million series a host's rows lie scattered over the table, their index entries side by side. The
query is written out by hand for that path (``store.meeting_list.host_keys_query``); it must find what
the SQLAlchemy query (``series_keys_statement``) finds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from meetadmin.store.driver import run_sql
from meetadmin.store.meeting_list import SeriesFilter, host_keys_query, series_keys, series_keys_statement
from tests.conftest import load_world
from tests.worlds import example_world

NOW = datetime(2026, 12, 1, 12, 0)


def _plan(conn: Connection, flt: SeriesFilter, after: tuple[datetime, str] | None) -> str:
    query, params = host_keys_query(conn, flt, NOW, NOW + timedelta(days=7), after, 220)
    if conn.dialect.name == "sqlite":
        return "\n".join(str(row[-1]) for row in run_sql(conn, "EXPLAIN QUERY PLAN " + query, params))
    # PostgreSQL: a table this small is read whole unless told otherwise; an index-only scan is
    # possible only when the index holds every column the query names.
    run_sql(conn, "SET LOCAL enable_seqscan = off")
    run_sql(conn, "SET LOCAL enable_bitmapscan = off")
    return "\n".join(str(row[0]) for row in run_sql(conn, "EXPLAIN " + query, params))


def test_a_hosts_series_keys_come_from_the_covering_index(engine: Engine) -> None:
    flt = SeriesFilter("example", 1, None, ("meeting", "webinar"))
    with_site = SeriesFilter("example", 1, 2, ("meeting",))
    with engine.begin() as conn:
        for f, after in [(flt, None), (flt, (NOW, "ab" * 16)), (with_site, (NOW, "ab" * 16))]:
            plan = _plan(conn, f, after)
            if conn.dialect.name == "sqlite":
                assert "USING COVERING INDEX ix_meeting_series_host_list" in plan, plan
            else:
                assert "Index Only Scan using ix_meeting_series_host_list" in plan, plan


def _many_series() -> dict[str, Any]:
    """Series of every kind around NOW for each host of the example world: plain and recurring."""
    doc = example_world()
    where = {m["host"]: (m["siteUrl"], m["sessionTypeId"]) for m in doc["meetings"]}
    hosts = sorted(where)
    rules = [None, "FREQ=WEEKLY;COUNT=3", "FREQ=DAILY", "FREQ=MONTHLY;COUNT=12"]
    for i in range(120):
        start = NOW + timedelta(hours=37 * (i - 60))
        meeting: dict[str, Any] = {
            "siteUrl": where[hosts[i % len(hosts)]][0],
            "sessionTypeId": where[hosts[i % len(hosts)]][1],
            "host": hosts[i % len(hosts)],
            "title": f"K{i}",
            "start": start.isoformat() + "Z",
            "end": (start + timedelta(hours=1 + i % 3)).isoformat() + "Z",
        }
        if rules[i % 4]:
            meeting["recurrence"] = rules[i % 4]
        doc["meetings"].append(meeting)
    return doc


def test_the_written_out_query_finds_what_the_sqlalchemy_one_finds(engine: Engine) -> None:
    load_world(engine, _many_series())
    with engine.begin() as conn:
        keys = conn.execute(text("SELECT DISTINCT host_id, site_id FROM meeting_series")).all()
        org = conn.execute(text("SELECT org_id FROM meeting_series LIMIT 1")).scalar_one()
        # a deleted series and one with a moved occurrence
        conn.execute(text("UPDATE meeting_series SET deleted_at = start WHERE title = 'K7'"))
        conn.execute(text("UPDATE meeting_series SET exceptions_end = :t WHERE title = 'K5'"), {"t": NOW})
    windows = [(NOW, NOW + timedelta(days=7)), (NOW - timedelta(days=40), NOW - timedelta(days=10))]
    seen = 0
    with Session(engine) as session:
        for host, site in keys:
            for site_id in (None, site, site + 1000):
                for types in (("meeting", "webinar"), ("webinar",)):
                    flt = SeriesFilter(org, host, site_id, types)
                    for window in windows:
                        for limit in (3, 1000):
                            core = [
                                tuple(r)
                                for r in session.execute(
                                    series_keys_statement(flt, window[0], window[1], None, limit)
                                )
                            ]
                            found = series_keys(session, flt, window[0], window[1], None, limit)
                            assert [k.id for k in found] == [r[0] for r in core]
                            seen += len(found)
                            if found:
                                first = found[0]
                                later = series_keys(session, flt, *window, (first.start, first.id), limit)
                                expected = series_keys_statement(
                                    flt, window[0], window[1], (first.start, first.id), limit
                                )
                                assert [k.id for k in later] == [r[0] for r in session.execute(expected)]
    assert seen > 100  # the comparison compared something
