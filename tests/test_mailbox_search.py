"""The mailbox's search by address (migration 0014): one address's notices, newest first, paged, within
the kept window and one organisation, found by scanning ``ix_notices_recent_recipient`` and not the
table, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from meetadmin.store.driver import run_sql
from meetadmin.store.notices import NewNotice, add_notices, mailbox, recipient_search

NOW = datetime(2026, 12, 7, 12, 0)
ANNA, BEN = "anna@example.com", "ben@example.com"


def _plan(conn: Connection, query: str, params: list[object]) -> str:
    if conn.dialect.name == "sqlite":
        return "\n".join(str(row[-1]) for row in run_sql(conn, "EXPLAIN QUERY PLAN " + query, params))
    run_sql(conn, "SET LOCAL enable_seqscan = off")  # a table this small is read whole otherwise
    run_sql(conn, "SET LOCAL enable_bitmapscan = off")
    return "\n".join(str(row[0]) for row in run_sql(conn, "EXPLAIN " + query, params))


def _queue(conn: Connection, at: datetime, *recipients: str) -> None:
    add_notices(conn, at, [NewNotice("example", "test", r, f"to {r} at {at:%H:%M}", {}) for r in recipients])


def test_one_addresses_notices_are_found_through_the_recent_recipient_index(
    engine: Engine, world: object
) -> None:
    with engine.begin() as conn:  # one organisation's mail to many people, as PostgreSQL's statistics see it
        for minute in range(20):
            _queue(conn, NOW + timedelta(minutes=minute), *(f"p{k}@example.com" for k in range(100)))
        if conn.dialect.name == "postgresql":
            run_sql(conn, "ANALYZE notices")
    with engine.begin() as conn:
        for org_id, before in [(None, None), ("example", 1900)]:
            plan = _plan(conn, *recipient_search(conn, NOW, ANNA, before, 51, org_id))
            assert "ix_notices_recent_recipient" in plan, plan


def test_one_address_is_searched_in_any_case_newest_first_in_pages_within_the_window(
    engine: Engine, world: object
) -> None:
    with engine.begin() as conn:
        _queue(conn, NOW - timedelta(days=8), ANNA)  # older than the window
        for minute in range(5):
            _queue(conn, NOW + timedelta(minutes=minute), BEN, ANNA, "Anna@Example.com")
        _queue(conn, NOW + timedelta(minutes=9), BEN)
    since = NOW - timedelta(days=7)
    with engine.connect() as conn:
        found = mailbox(conn, since, " ANNA@example.COM ", None, 100)
        assert [n.subject for n in found] == [
            f"to {r} at 12:{m:02d}" for m in (4, 3, 2, 1, 0) for r in ("Anna@Example.com", ANNA)
        ]
        assert [n.id for n in found] == sorted((n.id for n in found), reverse=True)
        first = mailbox(conn, since, ANNA, None, 3, "example")
        second = mailbox(conn, since, ANNA, first[-1].id, 3, "example")
        assert [n.id for n in first + second] == [n.id for n in found[:6]]
        assert mailbox(conn, since, ANNA, None, 3, "another-org") == []
        assert mailbox(conn, since, "nobody@example.com", None, 3) == []
        everyone = mailbox(conn, since, None, None, 100, "example")
        assert [n.recipient for n in everyone[:2]] == [BEN, "Anna@Example.com"]
        assert len(everyone) == 16
