"""Personal room queries: who holds which room ID on a site, and each room's settings.

Everything here works on whole batches: one query loads all the people of a request, one all the
room IDs they hold or ask for, and the changes are a few set-based statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from meetadmin.store.models import HostPrivilege, Person, PersonalRoomId, PersonalRoomSettings


@dataclass(frozen=True)
class PersonOnSite:
    key: int
    person_id: str
    email: str
    display_name: str
    preferred_site_id: int | None
    host: bool


@dataclass(frozen=True)
class RoomRow:
    id: int
    person_key: int
    room_id: str
    room_key: str
    active: bool
    reserved_until: datetime | None


def _person_query(site_id: int) -> Any:
    return select(
        Person.id,
        Person.person_id,
        Person.email,
        Person.display_name,
        Person.preferred_site_id,
        HostPrivilege.host,
    ).outerjoin(HostPrivilege, (HostPrivilege.person_id == Person.id) & (HostPrivilege.site_id == site_id))


def _person(row: Any) -> PersonOnSite:
    return PersonOnSite(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def people_on_site(
    conn: Connection, org_id: str, site_id: int, email_keys: Iterable[str], person_ids: Iterable[str]
) -> list[PersonOnSite]:
    """People of ``org_id`` named by lower-cased email or by Webex person ID, with their host privilege."""
    emails, pids = sorted(set(email_keys)), sorted(set(person_ids))
    if not emails and not pids:
        return []
    # One IN list per query, on its unique index (an OR of two, or the organisation beside a long IN list,
    # would make SQLite scan the organisation); the organisation is checked on each row.
    named = Person.email_key.in_(emails) if emails else Person.person_id.in_(pids)
    rows = list(conn.execute(_person_query(site_id).add_columns(Person.org_id).where(named)))
    if emails and pids:
        rows += conn.execute(
            _person_query(site_id).add_columns(Person.org_id).where(Person.person_id.in_(pids))
        ).all()
    return [_person(r) for r in rows if r[-1] == org_id]


def person_by_email(conn: Connection, org_id: str, email: str, site_id: int) -> PersonOnSite | None:
    row = conn.execute(
        _person_query(site_id).where(Person.org_id == org_id, Person.email_key == email.strip().lower())
    ).one_or_none()
    return _person(row) if row else None


def person_by_key(conn: Connection, person_key: int, site_id: int) -> PersonOnSite | None:
    row = conn.execute(_person_query(site_id).where(Person.id == person_key)).one_or_none()
    return _person(row) if row else None


def lock_people(conn: Connection, person_keys: Iterable[int]) -> None:
    """Serialise room-ID changes per person (PostgreSQL row locks, taken in key order; a no-op on SQLite,
    whose write transactions are serialised anyway). ``FOR NO KEY UPDATE`` leaves foreign-key checks
    of other transactions alone."""
    keys = sorted(set(person_keys))
    if keys:
        conn.execute(
            select(Person.id).where(Person.id.in_(keys)).order_by(Person.id).with_for_update(key_share=True)
        ).all()


_ROOM_COLUMNS = (
    PersonalRoomId.id,
    PersonalRoomId.person_id,
    PersonalRoomId.room_id,
    PersonalRoomId.room_key,
    PersonalRoomId.active,
    PersonalRoomId.reserved_until,
)


def _rooms(conn: Connection, *where: Any) -> list[RoomRow]:
    rows = conn.execute(select(*_ROOM_COLUMNS).where(*where))
    return [RoomRow(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]


def rooms_for(
    conn: Connection, site_id: int, person_keys: Iterable[int], room_keys: Iterable[str]
) -> list[RoomRow]:
    """The rows of the site these people hold now, and every row (held or reserved) under these keys.

    Two indexed queries: the active rows by person (partial unique index) and the rows by key (unique
    index). A person's own quarantined IDs are only looked at when asked for, so they don't slow down
    a refresh however many there are."""
    people, keys = sorted(set(person_keys)), sorted(set(room_keys))
    found: dict[int, RoomRow] = {}
    if people:
        for row in _rooms(
            conn,
            PersonalRoomId.site_id == site_id,
            PersonalRoomId.person_id.in_(people),
            PersonalRoomId.active.is_(True),
        ):
            found[row.id] = row
    for row in rooms_with_keys(conn, site_id, keys):
        found[row.id] = row
    return list(found.values())


def rooms_with_keys(conn: Connection, site_id: int, room_keys: Iterable[str]) -> list[RoomRow]:
    keys = sorted(set(room_keys))
    if not keys:
        return []
    return _rooms(conn, PersonalRoomId.site_id == site_id, PersonalRoomId.room_key.in_(keys))


def active_room_id(conn: Connection, site_id: int, person_key: int) -> str | None:
    room: str | None = conn.scalar(
        select(PersonalRoomId.room_id).where(
            PersonalRoomId.site_id == site_id,
            PersonalRoomId.person_id == person_key,
            PersonalRoomId.active.is_(True),
        )
    )
    return room


def delete_rooms(conn: Connection, row_ids: list[int]) -> None:
    if row_ids:
        conn.execute(delete(PersonalRoomId).where(PersonalRoomId.id.in_(row_ids)))


def release_rooms(conn: Connection, row_ids: list[int], now: datetime, reserved_until: datetime) -> None:
    """Quarantine rooms given up: inactive, still reserved to their former owner until ``reserved_until``."""
    if row_ids:
        conn.execute(
            update(PersonalRoomId)
            .where(PersonalRoomId.id.in_(row_ids))
            .values(active=False, released_at=now, reserved_until=reserved_until)
        )


_RECLAIM = (
    update(PersonalRoomId)
    .where(PersonalRoomId.id == bindparam("row_id"))
    .values(room_id=bindparam("room"), active=True, released_at=None, reserved_until=None)
)


def reclaim_rooms(conn: Connection, rooms: list[tuple[int, str]]) -> None:
    """Make rows ``(id, room_id)`` the active room of their owner again (spelling as now given)."""
    if rooms:
        conn.execute(_RECLAIM, [{"row_id": rid, "room": room} for rid, room in rooms])


def add_rooms(conn: Connection, site_id: int, rooms: list[tuple[int, str, str]]) -> None:
    """New active rooms ``(person_key, room_id, room_key)``."""
    if rooms:
        conn.execute(
            insert(PersonalRoomId),
            [
                {
                    "site_id": site_id,
                    "person_id": pk,
                    "room_id": room,
                    "room_key": key,
                    "active": True,
                    "released_at": None,
                    "reserved_until": None,
                }
                for pk, room, key in rooms
            ],
        )


@dataclass(frozen=True)
class RoomSettings:
    topic: str
    host_pin: str
    enabled_auto_lock: bool
    auto_lock_minutes: int
    enabled_notify_host: bool
    support_co_host: bool
    support_anyone_as_co_host: bool
    allow_first_user_to_be_co_host: bool
    allow_authenticated_devices: bool
    co_hosts: list[dict[str, str]]


def room_settings(session: Session, person_key: int, site_id: int) -> RoomSettings | None:
    row = session.get(PersonalRoomSettings, (person_key, site_id))
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
    session: Session, person_key: int, site_id: int, settings: RoomSettings, now: datetime
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
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(PersonalRoomSettings).values(person_id=person_key, site_id=site_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["person_id", "site_id"], set_=values))
