"""SQLite's page caches are bounded together (``MEETADMIN_SQLITE_CACHE_MIB``, SQLite's soft heap limit):
several connections that each read a database bigger than their own 32 MiB cache keep, all together,
about the limit in memory, not 32 MiB each. Measured in a process of its own: the limit is the process's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from meetadmin.app import create_app
from meetadmin.settings import Settings
from meetadmin.store.db import make_engine

_READ_WITH_THREE_CONNECTIONS = """
import json, sys
from pathlib import Path
from sqlalchemy import text
from meetadmin.store.db import make_engine

def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

url, limit = sys.argv[1], int(sys.argv[2])
engine = make_engine(url, sqlite_cache_mib=limit)
conns = [engine.connect() for _ in range(3)]
before = rss_mib()
for conn in conns:  # each holds its cache while the others read
    conn.execute(text("SELECT count(*), sum(length(body)) FROM pages")).one()
limit_set = conns[0].exec_driver_sql("PRAGMA soft_heap_limit").scalar()
print(json.dumps({"grew": rss_mib() - before, "limit": limit_set}))
"""


def _database(tmp_path: Path) -> str:
    """A database of about 40 MiB: more than one connection's cache holds."""
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    engine = make_engine(url, sqlite_cache_mib=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB)"))
        conn.execute(
            text(
                "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < 39999) "
                "INSERT INTO pages (body) SELECT randomblob(1000) FROM seq"
            )
        )
    engine.dispose()
    return url


def _read(url: str, limit: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _READ_WITH_THREE_CONNECTIONS, url, str(limit)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_page_caches_of_a_process_stay_within_the_limit_together(tmp_path: Path) -> None:
    url = _database(tmp_path)
    unbounded = _read(url, 0)
    bounded = _read(url, 8)
    assert unbounded["limit"] == 0 and bounded["limit"] == 8 * 1024 * 1024
    assert unbounded["grew"] > 60  # three caches of up to 32 MiB each, all full
    assert bounded["grew"] < 24  # about 8 MiB, all together


def test_the_server_sets_the_limit_from_its_settings(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", sqlite_cache_mib=40))
    engine = app.state.engine
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA soft_heap_limit").scalar() == 40 * 1024 * 1024
    finally:
        with engine.connect() as conn:  # the limit is the process's: back to the default
            conn.exec_driver_sql(f"PRAGMA soft_heap_limit={Settings().sqlite_cache_mib * 1024 * 1024}")
        engine.dispose()
