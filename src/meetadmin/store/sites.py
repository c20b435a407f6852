"""Site and host-privilege queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from meetadmin.domain.pmr import RoomIdRule
from meetadmin.domain.reassign import NewHost
from meetadmin.store.models import HostPrivilege, Person, PersonSessionType, Site


@dataclass(frozen=True)
class SiteRow:
    id: int
    org_id: str
    site_url: str
    allow_third_party_reassign: bool
    pmr_quarantine_days: int
    room_id_rule: RoomIdRule


def _site_row(site: Site) -> SiteRow:
    return SiteRow(
        id=site.id,
        org_id=site.org_id,
        site_url=site.site_url,
        allow_third_party_reassign=site.allow_third_party_reassign,
        pmr_quarantine_days=site.pmr_quarantine_days,
        room_id_rule=RoomIdRule(site.pmr_prefix, site.pmr_site_code, site.pmr_digits),
    )


def site_by_url(session: Session, org_id: str, site_url: str) -> SiteRow | None:
    """A site of the organisation by URL (case-insensitive); other organisations' sites are not found."""
    site = session.scalars(
        select(Site).where(Site.org_id == org_id, func.lower(Site.site_url) == site_url.strip().lower())
    ).one_or_none()
    return _site_row(site) if site else None


_SITE_BY_ID = select(Site).where(Site.id == bindparam("site_id"))


def site_by_id(session: Session, site_id: int) -> SiteRow | None:
    site = session.scalars(_SITE_BY_ID, {"site_id": site_id}).one_or_none()
    return _site_row(site) if site else None


def org_sites(session: Session, org_id: str) -> list[SiteRow]:
    return [
        _site_row(s) for s in session.scalars(select(Site).where(Site.org_id == org_id).order_by(Site.id))
    ]


def person_site_ids(session: Session, person_key: int) -> list[int]:
    """Sites where the person has any privilege (host or attendee), in a stable order."""
    return list(
        session.scalars(
            select(HostPrivilege.site_id)
            .where(HostPrivilege.person_id == person_key)
            .order_by(HostPrivilege.site_id)
        )
    )


_NEW_HOST = (
    select(
        Person.id,
        Person.email,
        HostPrivilege.host,
        HostPrivilege.license_meeting,
        HostPrivilege.license_webinar,
        HostPrivilege.calling,
    )
    .outerjoin(
        HostPrivilege,
        (HostPrivilege.person_id == Person.id) & (HostPrivilege.site_id == bindparam("site_id")),
    )
    .where(Person.org_id == bindparam("org_id"), Person.email_key == bindparam("email_key"))
)
_PERSON_TYPES = select(PersonSessionType.type_id).where(
    PersonSessionType.person_id == bindparam("person_id"), PersonSessionType.site_id == bindparam("site_id")
)


def new_host_on_site(session: Session, org_id: str, email: str, site_id: int) -> NewHost | None:
    """The person of ``org_id`` with this email and what they may do on the site (None if unknown)."""
    conn = session.connection()
    row = conn.execute(
        _NEW_HOST, {"site_id": site_id, "org_id": org_id, "email_key": email.strip().lower()}
    ).one_or_none()
    if row is None:
        return None
    types = conn.execute(_PERSON_TYPES, {"person_id": row[0], "site_id": site_id}).scalars().all()
    return NewHost(
        key=row[0],
        email=row[1],
        host=bool(row[2]),
        license_meeting=bool(row[3]),
        license_webinar=bool(row[4]),
        calling=bool(row[5]),
        session_type_ids=frozenset(types),
    )
