"""Snapshots of the whole state: every row of every state table, as zlib-compressed JSON in one row of
``snapshots``.

The state tables are those of ``store.models`` (its metadata's ``sorted_tables``, parents before
children), so a table added there is included without a change here; only the control plane's own
tables (``NOT_STATE``) are left out. A restore is one transaction: every state table emptied (children
first), the snapshot's rows inserted (parents first), PostgreSQL's sequences moved past the restored
keys. On PostgreSQL both lock the state tables first (a save against writers, a restore against
everyone), so neither sees nor leaves half of a concurrent change.

API tokens are kept usable: a restore brings back the snapshot's tokens and keeps every token created
since, as long as its person (by Webex person ID) exists in the restored state.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, LargeBinary, Table, delete, func, insert, select, text

from meetadmin.store.models import ApiToken, Base, Person, Snapshot

FORMAT = 1
# The control plane's own tables: not part of the state a snapshot saves and a restore replaces.
NOT_STATE = frozenset({"snapshots", "sandbox_settings"})
CHUNK = 1000


class SnapshotFormatError(ValueError):
    """A snapshot that this schema cannot take back (e.g. taken before a migration added a column)."""


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    created: datetime
    size: int
    rows: dict[str, int]


def state_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_STATE]


def _encoder(table: Table) -> Callable[[Any], list[Any]]:
    binary = [i for i, c in enumerate(table.columns) if isinstance(c.type, LargeBinary)]

    def encode(row: Any) -> list[Any]:
        values = list(row)
        for i in binary:
            if values[i] is not None:
                values[i] = base64.b64encode(values[i]).decode()
        return values

    return encode


def _decoder(table: Table, columns: list[str]) -> Callable[[list[Any]], dict[str, Any]]:
    times = [i for i, c in enumerate(columns) if c in table.c and isinstance(table.c[c].type, DateTime)]
    binary = [i for i, c in enumerate(columns) if c in table.c and isinstance(table.c[c].type, LargeBinary)]

    def decode(values: list[Any]) -> dict[str, Any]:
        for i in times:
            if values[i] is not None:
                values[i] = datetime.fromisoformat(values[i])
        for i in binary:
            if values[i] is not None:
                values[i] = base64.b64decode(values[i])
        return dict(zip(columns, values, strict=True))

    return decode


def _lock(conn: Connection, tables: list[Table], mode: str) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        conn.execute(text(f"LOCK TABLE {names} IN {mode} MODE"))


def capture(conn: Connection) -> tuple[bytes, dict[str, int]]:
    """Every state table's rows: the compressed document and the row count per table."""
    tables = state_tables()
    _lock(conn, tables, "SHARE")
    out: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for table in tables:
        encode = _encoder(table)
        rows = [encode(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
        name = str(table.name)  # orjson takes plain str keys only (a table's name is a str subclass)
        out[name] = {"columns": [str(c.name) for c in table.columns], "rows": rows}
        counts[name] = len(rows)
    document = orjson.dumps({"format": FORMAT, "tables": out})
    return zlib.compress(document, 6), counts


def restore(conn: Connection, data: bytes) -> None:
    """Replace every state table's rows with the snapshot's (see the module's docstring)."""
    document = orjson.loads(zlib.decompress(data))
    if document.get("format") != FORMAT:
        raise SnapshotFormatError("The snapshot was written in a format this server does not read.")
    stored: dict[str, Any] = document["tables"]
    tables = state_tables()
    _lock(conn, tables, "ACCESS EXCLUSIVE")
    tokens = _current_tokens(conn)
    for table in reversed(tables):
        conn.execute(delete(table))
    for table in tables:
        saved = stored.get(table.name)
        if not saved or not saved["rows"]:
            continue
        columns: list[str] = saved["columns"]
        unknown = [c for c in columns if c not in table.c]
        if unknown:
            raise SnapshotFormatError(
                f"The snapshot's table '{table.name}' has columns this schema lacks: {', '.join(unknown)}."
            )
        decode = _decoder(table, columns)
        rows = [decode(r) for r in saved["rows"]]
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start : start + CHUNK])
    _keep_tokens(conn, tokens)
    _move_sequences(conn, tables)


def _current_tokens(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(ApiToken.token_hash, Person.person_id, ApiToken.scopes, ApiToken.label, ApiToken.created).join(
            Person, Person.id == ApiToken.person_id
        )
    )
    return [dict(r._mapping) for r in rows]


def _keep_tokens(conn: Connection, tokens: list[dict[str, Any]]) -> None:
    """Put back the tokens the restore dropped whose person exists in the restored state."""
    if not tokens:
        return
    present = set(conn.scalars(select(ApiToken.token_hash)))
    wanted = {t["person_id"] for t in tokens if t["token_hash"] not in present}
    keys: dict[str, int] = {}
    people = sorted(wanted)
    for start in range(0, len(people), 500):
        found = conn.execute(
            select(Person.person_id, Person.id).where(Person.person_id.in_(people[start : start + 500]))
        )
        keys.update({r.person_id: r.id for r in found})
    rows = [
        {
            "token_hash": t["token_hash"],
            "person_id": keys[t["person_id"]],
            "scopes": t["scopes"],
            "label": t["label"],
            "created": t["created"],
        }
        for t in tokens
        if t["token_hash"] not in present and t["person_id"] in keys
    ]
    if rows:
        conn.execute(insert(ApiToken), rows)


def _move_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: each serial key's sequence continues after the highest restored key."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the highest row by itself
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'
            )
        )


# --- the snapshots table ---------------------------------------------------------------------------


def snapshot_infos(conn: Connection) -> list[SnapshotInfo]:
    rows = conn.execute(
        select(Snapshot.name, Snapshot.created, Snapshot.size, Snapshot.rows).order_by(
            Snapshot.created, Snapshot.name
        )
    )
    return [SnapshotInfo(r.name, r.created, r.size, dict(r.rows)) for r in rows]


def snapshot_data(conn: Connection, name: str) -> bytes | None:
    found: bytes | None = conn.scalar(select(Snapshot.data).where(Snapshot.name == name))
    return found


def snapshot_exists(conn: Connection, name: str) -> bool:
    return conn.scalar(select(func.count()).select_from(Snapshot).where(Snapshot.name == name)) == 1


def startup_id_of(conn: Connection, name: str) -> str | None:
    query = select(Snapshot.startup_id).where(Snapshot.name == name)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    found: str | None = conn.scalar(query)
    return found


def save_snapshot(
    conn: Connection,
    name: str,
    created: datetime,
    data: bytes,
    counts: dict[str, int],
    startup_id: str | None = None,
) -> SnapshotInfo:
    conn.execute(delete(Snapshot).where(Snapshot.name == name))
    conn.execute(
        insert(Snapshot).values(
            name=name, created=created, data=data, size=len(data), rows=counts, startup_id=startup_id
        )
    )
    return SnapshotInfo(name, created, len(data), counts)


def delete_snapshot(conn: Connection, name: str) -> bool:
    return conn.execute(delete(Snapshot).where(Snapshot.name == name)).rowcount == 1
