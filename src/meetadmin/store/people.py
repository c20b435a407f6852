"""People queries: one organisation at a time, keyset-ordered by the internal key."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from meetadmin.domain.people import PersonRow, SiteAccess
from meetadmin.store.models import HostPrivilege, Org, Person, PersonalRoomId, Site


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rows(session: Session, stmt: Select[Person, str, str]) -> list[PersonRow]:
    rows = [
        PersonRow(
            key=row.Person.id,
            person_id=row.Person.person_id,
            email=row.Person.email,
            display_name=row.Person.display_name,
            org_id=row.Person.org_id,
            org_webex_id=row.org_webex_id,
            org_name=row.org_name,
            is_admin=row.Person.is_admin,
            preferred_site_id=row.Person.preferred_site_id,
            created=row.Person.created,
        )
        for row in session.execute(stmt)
    ]
    if rows:
        access = site_access(session, [r.key for r in rows])
        for r in rows:
            r.sites.extend(access.get(r.key, []))
    return rows


def _base(org_id: str) -> Select[Person, str, str]:
    return (
        select(Person, Org.webex_id.label("org_webex_id"), Org.name.label("org_name"))
        .join(Org, Org.id == Person.org_id)
        .where(Person.org_id == org_id)
        .order_by(Person.id)
    )


def list_people(
    session: Session,
    org_id: str,
    email: str | None,
    name_prefix: str | None,
    admins_only: bool,
    after: int | None,
    limit: int,
) -> list[PersonRow]:
    stmt = _base(org_id)
    if email is not None:
        stmt = stmt.where(Person.email_key == email.strip().lower())
    if name_prefix is not None:
        pattern = _escape_like(name_prefix.lower()) + "%"
        stmt = stmt.where(func.lower(Person.display_name).like(pattern, escape="\\"))
    if admins_only:
        stmt = stmt.where(Person.is_admin.is_(True))
    if after is not None:
        stmt = stmt.where(Person.id > after)
    return _rows(session, stmt.limit(limit))


def people_by_ids(session: Session, org_id: str, person_ids: Sequence[str]) -> list[PersonRow]:
    if not person_ids:
        return []
    return _rows(session, _base(org_id).where(Person.person_id.in_(list(person_ids))))


def person_by_email(session: Session, org_id: str, email: str) -> PersonRow | None:
    found = _rows(session, _base(org_id).where(Person.email_key == email.strip().lower()))
    return found[0] if found else None


def person_by_id(session: Session, org_id: str, person_id: str) -> PersonRow | None:
    found = _rows(session, _base(org_id).where(Person.person_id == person_id))
    return found[0] if found else None


def site_access(session: Session, person_keys: Sequence[int]) -> dict[int, list[SiteAccess]]:
    """Per person: the sites they may use, with host privilege, licences and their personal room ID."""
    out: dict[int, list[SiteAccess]] = defaultdict(list)
    stmt = (
        select(
            HostPrivilege.person_id,
            Site.site_url,
            HostPrivilege.host,
            HostPrivilege.license_meeting,
            HostPrivilege.license_webinar,
            PersonalRoomId.room_id,
        )
        .join(Site, Site.id == HostPrivilege.site_id)
        .outerjoin(
            PersonalRoomId,
            (PersonalRoomId.person_id == HostPrivilege.person_id)
            & (PersonalRoomId.site_id == HostPrivilege.site_id)
            & PersonalRoomId.active.is_(True),
        )
        .where(HostPrivilege.person_id.in_(list(person_keys)))
        .order_by(HostPrivilege.person_id, Site.id)
    )
    for row in session.execute(stmt):
        out[row.person_id].append(
            SiteAccess(
                site_url=row.site_url,
                host=bool(row.host),
                license_meeting=bool(row.license_meeting),
                license_webinar=bool(row.license_webinar),
                room_id=row.room_id,
            )
        )
    return out
