"""Every call the console makes into the services that change things, in one place.

The console applies the same rules as the API by calling the same services: ``reassign_hosts`` for
the offboarding preview and each batch, ``check_refresh`` and ``refresh_room_ids`` for personal room
IDs, each on the connection of the console's own work.
"""

from __future__ import annotations

from sqlalchemy import Connection

from meetadmin.domain.people import TokenOwner
from meetadmin.domain.pmr import RoomIdRequest
from meetadmin.services.pmr import RefreshOutcome, RefreshRequest, check_refresh, refresh_room_ids
from meetadmin.services.reassign import ReassignOutcome, reassign_hosts
from meetadmin.store.db import savepoint


def preview_reassign(
    conn: Connection,
    caller: TokenOwner,
    site_url: str,
    to_email: str,
    meeting_ids: list[str],
    tracking_id: str,
) -> ReassignOutcome:
    """The verdict each meeting would get; nothing changes."""
    return reassign_hosts(conn, caller, site_url, to_email, meeting_ids, tracking_id, apply=False)


def reassign(
    conn: Connection,
    caller: TokenOwner,
    site_url: str,
    to_email: str,
    meeting_ids: list[str],
    tracking_id: str,
) -> ReassignOutcome:
    """Move what may move (at most 100 IDs, as the API), with its audit events and notices."""
    return reassign_hosts(conn, caller, site_url, to_email, meeting_ids, tracking_id)


def check_rooms(caller: TokenOwner, site_url: str, items: list[RoomIdRequest]) -> RefreshRequest:
    """The refresh rules that need no database (raises ``RoomIdProblems``)."""
    return check_refresh(caller, site_url, items)


def refresh_rooms(conn: Connection, request: RefreshRequest, tracking_id: str) -> RefreshOutcome:
    """Refresh at most 100 people's IDs, all or nothing (raises ``RoomIdProblems``, having changed
    nothing: the caller goes on to record the refusal in the same transaction)."""
    with savepoint(conn):
        return refresh_room_ids(conn, request, tracking_id)


class _Undo(Exception):
    def __init__(self, outcome: RefreshOutcome) -> None:
        self.outcome = outcome


def try_refresh_rooms(conn: Connection, request: RefreshRequest, tracking_id: str) -> RefreshOutcome:
    """Refresh as ``refresh_rooms`` would and undo it: the problems the database finds (raised as
    ``RoomIdProblems``), or what would be done (generated IDs are drawn but not kept)."""
    try:
        with savepoint(conn):
            raise _Undo(refresh_rooms(conn, request, tracking_id))
    except _Undo as undone:
        return undone.outcome
