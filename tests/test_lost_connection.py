"""A pooled connection that died while idle (a PostgreSQL restart, a failover, an idle timeout) costs
no request: the pool does not ping connections before handing them out (a round trip per request), so
the Writer runs the work once more on a fresh connection when the dead one fails before COMMIT."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from meetadmin.store.driver import run_later, run_sql
from meetadmin.store.writer import Writer


def _kill_pooled_connection(engine: Engine) -> None:
    """Check out the pool's one idle connection, kill it underneath the pool, and put it back."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.rollback()
            with engine.pool._creator() as other:  # type: ignore[attr-defined]
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
        else:
            conn.rollback()
            conn.connection.driver_connection.close()  # type: ignore[union-attr]


def test_a_dead_pooled_connection_is_replaced(engine: Engine) -> None:
    writer = Writer(engine, group_commit=False)
    writer.write_now(lambda conn: conn.execute(text("CREATE TABLE probe (n INTEGER)")))
    _kill_pooled_connection(engine)

    def work(conn: Connection) -> int:
        conn.execute(text("INSERT INTO probe (n) VALUES (1)"))
        return int(conn.execute(text("SELECT count(*) FROM probe")).scalar_one())

    assert writer.write_now(work) == 1  # once, on a fresh connection: the dead one changed nothing
    _kill_pooled_connection(engine)
    assert writer.read_now(lambda conn: conn.execute(text("SELECT count(*) FROM probe")).scalar_one()) == 1


def test_a_dead_pooled_connection_is_replaced_under_hand_written_statements(engine: Engine) -> None:
    """The same when the work's first statement is the store's own (on PostgreSQL it goes on libpq, with
    the deferred BEGIN, not through SQLAlchemy's execution)."""
    writer = Writer(engine, group_commit=False)
    writer.write_now(lambda conn: conn.execute(text("CREATE TABLE probe (n INTEGER)")))
    _kill_pooled_connection(engine)

    def work(conn: Connection) -> int:
        run_later(conn, "INSERT INTO probe (n) VALUES (?)", [1])
        return int(run_sql(conn, "SELECT count(*) FROM probe WHERE n = ?", [1])[0][0])

    assert writer.write_now(work) == 1
    _kill_pooled_connection(engine)
    counted = writer.read_now(lambda conn: run_sql(conn, "SELECT count(*) FROM probe WHERE n >= ?", [0]))
    assert counted == [(1,)]
