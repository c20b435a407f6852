"""PostgreSQL: a write transaction opens with its first statements (``store.driver.begin_later``): BEGIN
is not a round trip of its own, so a reassignment is two, its reads and then its writes with COMMIT.
Round trips are counted in libpq's own trace of the protocol: each ends with one Sync the client sends.
The connection goes back to the pool as it came (autocommit off), whether the work committed or failed."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from meetadmin.services.people import token_owner
from meetadmin.services.reassign import reassign_hosts
from meetadmin.store.driver import run_later
from meetadmin.store.writer import Writer
from tests.conftest import BACKENDS
from tests.worlds import ADMIN, PLANNING, WEBINAR

PG_ONLY = pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
JOHN_EMAIL = "john.andersen@example.com"


def traced_round_trips(writer: Writer, work: Callable[[Connection], Any]) -> tuple[Any, int]:
    """Run ``work`` in a write transaction with libpq tracing the connection from its first statement to
    its COMMIT; its result and the round trips it took."""
    traced: list[Any] = []
    with tempfile.TemporaryFile("w+") as trace:

        def run(conn: Connection) -> Any:
            pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(1)  # no timestamps
            traced.append(pgconn)
            return work(conn)

        try:
            result = writer.write_now(run)
        finally:
            for pgconn in traced:
                pgconn.untrace()
        trace.seek(0)
        sent = [line.split("\t") for line in trace.read().splitlines()]
    return result, sum(1 for fields in sent if fields[0] == "F" and fields[2:3] == ["Sync"])


def _pooled_autocommit(engine: Engine) -> bool:
    """Autocommit of the connection the pool hands out next (the one the work just gave back)."""
    with engine.connect() as conn:
        return bool(conn.connection.driver_connection.autocommit)  # type: ignore[union-attr]


@PG_ONLY
def test_a_reassignment_is_two_round_trips(engine: Engine, world: Any) -> None:
    writer = Writer(engine)
    owner = writer.read_now(lambda conn: token_owner(conn, ADMIN))
    assert owner is not None
    outcome, trips = traced_round_trips(
        writer, lambda conn: reassign_hosts(conn, owner, None, JOHN_EMAIL, [PLANNING, WEBINAR], "T_1")
    )
    assert outcome.moved == 2
    assert trips == 2
    with engine.connect() as conn:
        hosts = conn.execute(
            text(
                "SELECT p.email FROM meeting_series s JOIN people p ON p.id = s.host_id "
                "WHERE s.id IN (:a, :b)"
            ),
            {"a": PLANNING, "b": WEBINAR},
        ).scalars()
        assert set(hosts) == {JOHN_EMAIL}
    assert _pooled_autocommit(engine) is False


@PG_ONLY
def test_work_that_fails_leaves_nothing_and_the_connection_as_it_was(engine: Engine, world: Any) -> None:
    writer = Writer(engine)
    add_org = "INSERT INTO orgs (id, webex_id, name) VALUES (?, ?, 'x')"

    def fails_after_writing(conn: Connection) -> None:
        run_later(conn, add_org, ["x1", "x1"])  # deferred: not even sent yet
        raise RuntimeError("no")

    def duplicate(conn: Connection) -> None:
        run_later(conn, add_org, ["x2", "x2"])
        run_later(conn, add_org, ["x2", "x2"])  # fails in the commit's round trip

    with pytest.raises(RuntimeError):
        writer.write_now(fails_after_writing)
    with pytest.raises(IntegrityError):
        writer.write_now(duplicate)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orgs WHERE id LIKE 'x%'")).scalar_one() == 0
    assert _pooled_autocommit(engine) is False
    _, trips = traced_round_trips(writer, lambda conn: run_later(conn, add_org, ["x3", "x3"]))
    assert trips == 1  # BEGIN, the insert and COMMIT
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM orgs WHERE id LIKE 'x%'")).scalars().all() == ["x3"]
