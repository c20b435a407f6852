"""Session type queries: a site's types and the types each person holds there."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from meetadmin.domain.session_types import SessionTypeRow
from meetadmin.store.models import HostPrivilege, Person, PersonSessionType, SessionType


def _order(row: SessionTypeRow) -> tuple[int, str]:
    return (int(row.id), row.id) if row.id.isdigit() else (1 << 62, row.id)


def site_types(session: Session, site_id: int) -> list[SessionTypeRow]:
    rows = session.execute(
        select(SessionType.type_id, SessionType.short_name, SessionType.name, SessionType.kind).where(
            SessionType.site_id == site_id
        )
    )
    return sorted((SessionTypeRow(*r) for r in rows), key=_order)


def held_types(session: Session, site_id: int, person_keys: Sequence[int]) -> dict[int, list[SessionTypeRow]]:
    """Per person: the site's session types they hold, in type order."""
    out: dict[int, list[SessionTypeRow]] = defaultdict(list)
    if not person_keys:
        return out
    rows = session.execute(
        select(
            PersonSessionType.person_id,
            SessionType.type_id,
            SessionType.short_name,
            SessionType.name,
            SessionType.kind,
        )
        .join(
            SessionType,
            (SessionType.site_id == PersonSessionType.site_id)
            & (SessionType.type_id == PersonSessionType.type_id),
        )
        .where(PersonSessionType.site_id == site_id, PersonSessionType.person_id.in_(list(person_keys)))
    )
    for key, *rest in rows:
        out[key].append(SessionTypeRow(*rest))
    for types in out.values():
        types.sort(key=_order)
    return out


def site_members(session: Session, org_id: str, site_id: int, limit: int) -> list[tuple[int, str, str]]:
    """``(key, personId, email)`` of the organisation's people who may use the site."""
    rows = session.execute(
        select(Person.id, Person.person_id, Person.email)
        .join(HostPrivilege, HostPrivilege.person_id == Person.id)
        .where(Person.org_id == org_id, HostPrivilege.site_id == site_id)
        .order_by(Person.id)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def replace_held_types(session: Session, person_key: int, site_id: int, type_ids: Sequence[str]) -> None:
    session.execute(
        delete(PersonSessionType).where(
            PersonSessionType.person_id == person_key, PersonSessionType.site_id == site_id
        )
    )
    if type_ids:
        session.execute(
            insert(PersonSessionType),
            [{"person_id": person_key, "site_id": site_id, "type_id": t} for t in dict.fromkeys(type_ids)],
        )
