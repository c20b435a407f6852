"""Snapshots of the sandbox's state: save, list, restore, delete, and the start-up snapshot that
``POST /_meetadmin/reset`` goes back to (contract-notes §8.4)."""

from __future__ import annotations

import re

from sqlalchemy import Connection

from meetadmin import clock
from meetadmin.errors import BadRequest, Conflict, NotFound
from meetadmin.store import snapshots as store
from meetadmin.store.sandbox import next_state_generation
from meetadmin.store.snapshots import SnapshotFormatError, SnapshotInfo

STARTUP = "__startup__"
NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_TEXT = (
    "A snapshot name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
    f"('{STARTUP}' is the start-up snapshot's)."
)


def snapshot_name(value: object) -> str:
    """The name as given, or 400 naming the rule."""
    if not isinstance(value, str) or not NAME_RULE.fullmatch(value):
        raise BadRequest(NAME_TEXT)
    return value


def save(conn: Connection, name: str, replace: bool) -> SnapshotInfo:
    """Save the whole state under ``name``; 409 when the name is taken and ``replace`` is false."""
    if not replace and store.snapshot_exists(conn, name):
        raise Conflict(f"A snapshot named '{name}' exists; delete it first or send \"replace\": true.")
    data, counts = store.capture(conn)
    return store.save_snapshot(conn, name, clock.system_now(), data, counts)


def restore(conn: Connection, name: str) -> int:
    """Put the state back as snapshot ``name`` saved it; the new state generation (for caches)."""
    data = store.snapshot_data(conn, name)
    if data is None:
        raise NotFound(f"No snapshot is named '{name}'.")
    try:
        store.restore(conn, data)
    except SnapshotFormatError as exc:
        raise Conflict(str(exc)) from exc
    return next_state_generation(conn, clock.system_now())


def reset(conn: Connection) -> int:
    """Back to the state right after the server started (the start-up snapshot)."""
    if not store.snapshot_exists(conn, STARTUP):
        raise Conflict("This server took no start-up snapshot (MEETADMIN_STARTUP_SNAPSHOT is off).")
    return restore(conn, STARTUP)


def delete(conn: Connection, name: str) -> None:
    if name == STARTUP:
        raise BadRequest(f"The start-up snapshot '{STARTUP}' is kept; 'reset' goes back to it.")
    if not store.delete_snapshot(conn, name):
        raise NotFound(f"No snapshot is named '{name}'.")


def take_startup_snapshot(conn: Connection, startup_id: str) -> bool:
    """Save ``__startup__`` unless this server start already did (several processes of one ``serve``
    share ``startup_id``: the first to start takes it, the others find it). A later start, with another
    ID, takes it again: reset goes back to the state of the latest start. True when it was taken."""
    if store.startup_id_of(conn, STARTUP) == startup_id:
        return False
    data, counts = store.capture(conn)
    store.save_snapshot(conn, STARTUP, clock.system_now(), data, counts, startup_id=startup_id)
    return True
