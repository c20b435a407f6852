"""PostgreSQL: the store's hand-written statements sent on libpq itself (psycopg's ``pq`` layer), several
in one round trip, as prepared statements.

psycopg's cursors and its pipeline object cost about 25 µs of Python per statement and 75 µs per round
trip, more than a one-meeting reassignment's own work (its ten statements took 0.35 of its 0.95 ms of
CPU). Here the queued statements of a round trip are sent in libpq's pipeline mode, closed by one Sync,
and their results read back in order: about 3 µs per statement and 40 µs per round trip. psycopg's own
adapters (``Transformer``, in C) still turn values into parameters and result columns into values, so
values cross exactly as through its cursors.

Each statement is prepared once per connection (per text and parameter types), in the round trip that
first uses it, and executed by name after that, so PostgreSQL parses and plans it once per connection.
A statement without parameters (BEGIN, COMMIT, SAVEPOINT) goes unprepared.

Outside ``round_trip`` the connection is never in pipeline mode, so psycopg's cursors (Core, COPY) find
it as they left it. Used by ``store/driver.py``; nothing else calls it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.waiting import READY_R, WAIT_R, WAIT_W

from meetadmin.store.loop_work import wait_socket

_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
_FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
_PIPELINE_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_AUTO = PyFormat.AUTO


class Queued:
    """One statement waiting for a round trip, and once it has been: its rows and row count."""

    __slots__ = ("done", "many", "named", "params", "rowcount", "rows", "sql")

    def __init__(self, sql: str, params: Any, many: bool, named: bool = False) -> None:
        self.sql = sql  # with PostgreSQL's $1, $2 placeholders
        self.params = params  # a parameter row, or with ``many`` a sequence of them
        self.many = many
        self.named = named  # rows as dicts by column name, not tuples
        self.rows: list[Any] = []
        self.rowcount = -1
        self.done = False


class _Wire:
    """What a connection keeps between round trips: its prepared statements. (Nothing that refers back
    to the connection: a cycle would leave a discarded connection to the garbage collector, unclosed.)"""

    __slots__ = ("encoding", "named", "prepared")

    def __init__(self, driver: Any) -> None:
        self.prepared: dict[tuple[str, tuple[int, ...]], bytes] = {}
        self.named = 0  # names given so far: never given twice, even after ``prepared`` is cleared
        self.encoding = driver.info.encoding


def _wire(driver: Any) -> _Wire:
    wire: _Wire | None = getattr(driver, "_meetadmin_wire", None)
    if wire is None:
        wire = _Wire(driver)
        driver._meetadmin_wire = wire
    return wire


def round_trip(driver: Any, queued: Sequence[Queued]) -> None:
    """Send ``queued`` in one round trip and wait for every answer. Each statement's rows and count land
    on it; the first error is raised (psycopg's exception for its SQLSTATE) once all answers are in, and
    the statements after a failed one were not run (PostgreSQL skips to the Sync)."""
    wire = _wire(driver)
    tx = Transformer(driver)
    # What goes out, in order: (Queued or None for a PREPARE, statement name or None, values, formats,
    # the prepared key when it is a PREPARE). Every value is adapted first: one psycopg can't adapt
    # fails here, before anything is sent.
    sends: list[tuple[Queued | None, bytes | None, Any, Any, Any]] = []
    owners: list[Queued] = []  # the statement each send is for
    preparing: dict[tuple[str, tuple[int, ...]], bytes] = {}
    for item in queued:
        for params in item.params if item.many else (item.params,):
            if not params:
                sends.append((item, None, None, None, None))
                owners.append(item)
                continue
            values = tx.dump_sequence(params, [_AUTO] * len(params))
            formats = tx.formats
            key = (item.sql, tuple(tx.types or ()))
            name = wire.prepared.get(key) or preparing.get(key)
            if name is None:
                name = f"meetadmin_{wire.named}".encode()
                wire.named += 1
                preparing[key] = name
                sends.append((None, name, None, None, key))
                owners.append(item)
            sends.append((item, name, values, formats, None))
            owners.append(item)
    pgconn = driver.pgconn
    encoding = wire.encoding
    pgconn.enter_pipeline_mode()
    try:
        for queued_item, name, values, formats, key in sends:
            if queued_item is None:  # PREPARE
                pgconn.send_prepare(name, key[0].encode(encoding), param_types=key[1])
            elif name is None:
                pgconn.send_query_params(queued_item.sql.encode(encoding), None)
            else:
                pgconn.send_query_prepared(name, values, param_formats=formats)
        pgconn.pipeline_sync()
        results = _communicate(pgconn)
    finally:
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:
            with contextlib.suppress(Exception):  # answers left unread: the connection is lost anyway
                pgconn.exit_pipeline_mode()
    first_error: pg_errors.Error | None = None
    for (sent, name, _values, _formats, key), owner, result in zip(sends, owners, results, strict=True):
        status = result.status
        if status == _FATAL_ERROR:
            if first_error is None:
                first_error = pg_errors.error_from_result(result, encoding=encoding)
                first_error.meetadmin_failed = owner  # type: ignore[attr-defined]  # whose statement
            continue
        if status == _PIPELINE_ABORTED:
            continue
        if sent is None:  # a PREPARE that was run: the name is good on this connection from now on
            if name is not None:
                wire.prepared[key] = name
            continue
        if status == _TUPLES_OK:
            tx.set_pgresult(result)
            if sent.named:
                sent.rows.extend(_named(tx, result, encoding))
            else:
                sent.rows.extend(tx.load_rows(0, result.ntuples, tuple))
        count = result.command_tuples
        if count is not None:
            sent.rowcount = count if sent.rowcount < 0 else sent.rowcount + count
        sent.done = True
    if first_error is not None:
        if first_error.sqlstate in PLAN_GONE:  # DEALLOCATEd behind our back, or a table changed shape
            wire.prepared.clear()
        raise first_error


# A prepared statement that does not exist (someone ran DEALLOCATE or DISCARD ALL on the connection), and
# "cached plan must not change result type" (a table changed shape): this transaction fails, the
# connection prepares its statements afresh from the next one, and the writer runs the work once more
# (``store.writer.stale_statement``).
PLAN_GONE = frozenset({"26000", "0A000"})


def _named(tx: Any, result: Any, encoding: str) -> list[dict[str, Any]]:
    names = [result.fname(i).decode(encoding) for i in range(result.nfields)]
    return [dict(zip(names, values, strict=True)) for values in tx.load_rows(0, result.ntuples, tuple)]


def _communicate(pgconn: Any) -> list[Any]:
    """Flush what was sent and read every answer up to the Sync (one result per query). Waits with
    ``wait_socket``: in the event loop's thread (``store/loop_work.py``) the loop runs meanwhile."""
    fd = pgconn.socket
    while pgconn.flush():  # more to send (a big statement): wait until the socket takes it
        if wait_socket(fd, WAIT_R | WAIT_W) & READY_R:
            pgconn.consume_input()
    results: list[Any] = []
    while True:
        while pgconn.is_busy():
            wait_socket(fd, WAIT_R)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one query's answer
            continue
        if result.status == _PIPELINE_SYNC:
            return results
        results.append(result)
