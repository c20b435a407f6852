"""Personal room queries: who holds which room ID on a site, and each room's settings.

Everything here works on whole batches: one query loads all the people of a request, one all the
room IDs they hold or ask for, and the changes are a few set-based statements. A refresh of 100 people
runs these every time, so they are hand-written SQL on the driver (``store.driver.run_sql``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from meetadmin.domain.pmr import RoomSettings
from meetadmin.domain.pmr_plan import Person, Room
from meetadmin.store.db import db_time, from_db_time
from meetadmin.store.driver import insert_rows, marks, run_later, run_named, run_sql
from meetadmin.store.models import PersonalRoomSettings


class PersonOnSite(NamedTuple):
    """A person as their personal room's page shows them."""

    key: int
    person_id: str
    email: str
    display_name: str
    preferred_site_id: int | None
    host: bool


# The host privilege by a subquery per person, not a join: PostgreSQL joined 100 people to the site's
# privileges by reading all of them (a hash join over 10,000 rows, about a third of the query's time).
_PERSON = (
    "SELECT p.id, p.person_id, p.email, p.display_name, p.preferred_site_id, "
    "(SELECT h.host FROM host_privileges h WHERE h.person_id = p.id AND h.site_id = ?) AS host, p.org_id "
    "FROM people p WHERE {where}"
)


def _people(conn: Connection, site_id: int, where: str, params: list[Any]) -> list[Any]:
    return run_named(conn, _PERSON.format(where=where), [site_id, *params])


def _person_on_site(row: Any) -> PersonOnSite:
    return PersonOnSite(
        row["id"],
        row["person_id"],
        row["email"],
        row["display_name"],
        row["preferred_site_id"],
        bool(row["host"]),
    )


def people_on_site(
    conn: Connection, org_id: str, site_id: int, email_keys: Iterable[str], person_ids: Iterable[str]
) -> list[Person]:
    """People of ``org_id`` named by lower-cased email or by Webex person ID, with their host privilege."""
    emails, pids = sorted(set(email_keys)), sorted(set(person_ids))
    # One IN list per query, on its unique index (an OR of two, or the organisation beside a long IN list,
    # would make SQLite scan the organisation); the organisation is checked on each row.
    rows = []
    if emails:
        rows += _people(conn, site_id, f"p.email_key IN ({marks(len(emails))})", emails)
    if pids:
        rows += _people(conn, site_id, f"p.person_id IN ({marks(len(pids))})", pids)
    return [
        Person(r["id"], r["person_id"], r["email"], bool(r["host"]), r["display_name"])
        for r in rows
        if r["org_id"] == org_id
    ]


def person_by_email(conn: Connection, org_id: str, email: str, site_id: int) -> PersonOnSite | None:
    rows = _people(conn, site_id, "p.org_id = ? AND p.email_key = ?", [org_id, email.strip().lower()])
    return _person_on_site(rows[0]) if rows else None


def person_by_key(conn: Connection, person_key: int, site_id: int) -> PersonOnSite | None:
    rows = _people(conn, site_id, "p.id = ?", [person_key])
    return _person_on_site(rows[0]) if rows else None


def lock_people(conn: Connection, person_keys: Iterable[int]) -> None:
    """Serialise room-ID changes per person (PostgreSQL row locks, taken in key order; nothing on SQLite,
    whose write transactions are serialised anyway). ``FOR NO KEY UPDATE`` leaves foreign-key checks
    of other transactions alone."""
    keys = sorted(set(person_keys))
    if keys and conn.dialect.name != "sqlite":
        run_sql(
            conn,
            f"SELECT id FROM people WHERE id IN ({marks(len(keys))}) ORDER BY id FOR NO KEY UPDATE",
            keys,
        )


_ROOMS = (
    "SELECT id, person_id, room_id, room_key, active, reserved_until FROM personal_room_ids WHERE {where}"
)


def _rooms(conn: Connection, where: str, params: list[Any]) -> list[Room]:
    return [
        Room(
            r["id"],
            r["person_id"],
            r["room_id"],
            r["room_key"],
            bool(r["active"]),
            None if r["reserved_until"] is None else from_db_time(r["reserved_until"]),
        )
        for r in run_named(conn, _ROOMS.format(where=where), params)
    ]


def rooms_for(
    conn: Connection, site_id: int, person_keys: Iterable[int], room_keys: Iterable[str]
) -> list[Room]:
    """The rows of the site these people hold now, and every row (held or reserved) under these keys.

    Two indexed queries: the active rows by person (partial unique index) and the rows by key (unique
    index). A person's own quarantined IDs are only looked at when asked for, so they don't slow down
    a refresh however many there are."""
    people, keys = sorted(set(person_keys)), sorted(set(room_keys))
    found: dict[int, Room] = {}
    if people:
        where = f"site_id = ? AND person_id IN ({marks(len(people))}) AND active"
        for row in _rooms(conn, where, [site_id, *people]):
            found[row.id] = row
    for row in rooms_with_keys(conn, site_id, keys):
        found[row.id] = row
    return list(found.values())


def rooms_with_keys(conn: Connection, site_id: int, room_keys: Iterable[str]) -> list[Room]:
    keys = sorted(set(room_keys))
    if not keys:
        return []
    return _rooms(conn, f"site_id = ? AND room_key IN ({marks(len(keys))})", [site_id, *keys])


def active_room_id(conn: Connection, site_id: int, person_key: int) -> str | None:
    rows = run_named(
        conn,
        "SELECT room_id FROM personal_room_ids WHERE site_id = ? AND person_id = ? AND active",
        [site_id, person_key],
    )
    return str(rows[0]["room_id"]) if rows else None


def delete_rooms(conn: Connection, row_ids: list[int]) -> None:
    if row_ids:
        run_sql(conn, f"DELETE FROM personal_room_ids WHERE id IN ({marks(len(row_ids))})", row_ids)


def release_rooms(conn: Connection, row_ids: list[int], now: datetime, reserved_until: datetime) -> None:
    """Quarantine rooms given up: inactive, still reserved to their former owner until ``reserved_until``."""
    if row_ids:
        run_sql(
            conn,
            "UPDATE personal_room_ids SET active = ?, released_at = ?, reserved_until = ? "
            f"WHERE id IN ({marks(len(row_ids))})",
            [False, db_time(conn, now), db_time(conn, reserved_until), *row_ids],
        )


def release_active(
    conn: Connection, site_id: int, person_keys: list[int], now: datetime, reserved_until: datetime
) -> list[Room]:
    """Quarantine the rooms these people hold on the site now; those rooms as they were (held)."""
    if not person_keys:
        return []
    rows = run_named(
        conn,
        "UPDATE personal_room_ids SET active = ?, released_at = ?, reserved_until = ? "
        f"WHERE site_id = ? AND person_id IN ({marks(len(person_keys))}) AND active "
        "RETURNING id, person_id, room_id, room_key",
        [False, db_time(conn, now), db_time(conn, reserved_until), site_id, *person_keys],
    )
    return [Room(r["id"], r["person_id"], r["room_id"], r["room_key"], True, None) for r in rows]


def reclaim_rooms(conn: Connection, rooms: list[tuple[int, str]]) -> None:
    """Make rows ``(id, room_id)`` the active room of their owner again (spelling as now given): one
    statement, not one per row (on PostgreSQL each statement has an executor to set up: 100 rows took
    about as long as the 100 audit rows' insert)."""
    if not rooms:
        return
    run_later(
        conn,
        f"UPDATE personal_room_ids SET room_id = CASE id {' '.join(['WHEN ? THEN ?'] * len(rooms))} END, "
        "active = ?, released_at = NULL, reserved_until = NULL "
        f"WHERE id IN ({marks(len(rooms))})",
        [*(v for rid, room in rooms for v in (rid, room)), True, *(rid for rid, _ in rooms)],
    )


def add_rooms(conn: Connection, site_id: int, rooms: list[tuple[int, str, str]]) -> None:
    """New active rooms ``(person_key, room_id, room_key)``; a key already on the site (held, reserved,
    or just given up) is an ``IntegrityError``, on PostgreSQL from the next statement waited for."""
    insert_rows(
        conn,
        "INSERT INTO personal_room_ids (site_id, person_id, room_id, room_key, active, released_at, "
        "reserved_until) VALUES",
        "(?, ?, ?, ?, ?, NULL, NULL)",
        [(site_id, pk, room, key, True) for pk, room, key in rooms],
    )


_SETTINGS: Table = PersonalRoomSettings.__table__  # type: ignore[assignment]


def room_settings(conn: Connection, person_key: int, site_id: int) -> RoomSettings | None:
    row = conn.execute(
        select(_SETTINGS).where(_SETTINGS.c.person_id == person_key, _SETTINGS.c.site_id == site_id)
    ).first()
    if row is None:
        return None
    return RoomSettings(
        topic=row.topic,
        host_pin=row.host_pin,
        enabled_auto_lock=row.enabled_auto_lock,
        auto_lock_minutes=row.auto_lock_minutes,
        enabled_notify_host=row.enabled_notify_host,
        support_co_host=row.support_co_host,
        support_anyone_as_co_host=row.support_anyone_as_co_host,
        allow_first_user_to_be_co_host=row.allow_first_user_to_be_co_host,
        allow_authenticated_devices=row.allow_authenticated_devices,
        co_hosts=[{"email": str(c["email"]), "displayName": str(c["displayName"])} for c in row.co_hosts],
    )


def save_room_settings(
    conn: Connection, person_key: int, site_id: int, settings: RoomSettings, now: datetime
) -> None:
    """Insert or replace (one statement, safe against a concurrent first save)."""
    values: dict[str, Any] = {
        "topic": settings.topic,
        "host_pin": settings.host_pin,
        "enabled_auto_lock": settings.enabled_auto_lock,
        "auto_lock_minutes": settings.auto_lock_minutes,
        "enabled_notify_host": settings.enabled_notify_host,
        "support_co_host": settings.support_co_host,
        "support_anyone_as_co_host": settings.support_anyone_as_co_host,
        "allow_first_user_to_be_co_host": settings.allow_first_user_to_be_co_host,
        "allow_authenticated_devices": settings.allow_authenticated_devices,
        "co_hosts": settings.co_hosts,
        "updated": now,
    }
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = make(_SETTINGS).values(person_id=person_key, site_id=site_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["person_id", "site_id"], set_=values))
