"""CPU time per request: meetadmin's server processes and PostgreSQL's backends, read from /proc.

On a small machine where PostgreSQL shares the cores with meetadmin, requests/s says little about a
larger one; CPU time per request does. ``Meter`` reads utime+stime (``/proc/<pid>/stat``) of the server
process and its children (uvicorn workers) and of the PostgreSQL backends connected to the benchmark's
database (``pg_stat_activity``: other databases' backends on a shared server are not counted) before
and after a run. PostgreSQL's background processes (WAL writer, checkpointer) are shared by every
database on the server and left out; with ``synchronous_commit = on`` each backend flushes its own
commit record, so the flush is counted.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from meetadmin.store.db import make_engine

TICK = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK  # fields 14 and 15 of proc(5), after "pid (comm)"


def process_tree(pid: int) -> list[int]:
    """The process and its descendants."""
    found, pending = [], [pid]
    while pending:
        p = pending.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


class Meter:
    """CPU seconds used by the server tree and by PostgreSQL's backends of ``url`` between two reads."""

    def __init__(self, server_pid: int, url: str) -> None:
        self.server_pid = server_pid
        self.engine = make_engine(url) if url.startswith("postgres") else None

    def _backends(self) -> list[int]:
        if self.engine is None:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return [int(r.pid) for r in rows]

    def read(self) -> tuple[dict[int, float], dict[int, float]]:
        server = {p: cpu_seconds(p) for p in process_tree(self.server_pid)}
        database = {p: cpu_seconds(p) for p in self._backends()}
        return server, database

    def since(self, before: tuple[dict[int, float], dict[int, float]]) -> tuple[float, float]:
        """(server CPU seconds, PostgreSQL CPU seconds) since ``before`` (a ``read``)."""
        after = self.read()
        return tuple(  # type: ignore[return-value]
            sum(now - then.get(p, 0.0) for p, now in current.items())
            for current, then in zip(after, before, strict=True)
        )

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
