"""Site and host-privilege queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from meetadmin.domain.pmr import RoomIdRule
from meetadmin.domain.reassign import NewHost
from meetadmin.store.db import run_sql
from meetadmin.store.models import HostPrivilege


@dataclass(frozen=True)
class SiteRow:
    id: int
    org_id: str
    site_url: str
    allow_third_party_reassign: bool
    pmr_quarantine_days: int
    room_id_rule: RoomIdRule


def _site_row(row: Any) -> SiteRow:
    return SiteRow(
        id=row[0],
        org_id=row[1],
        site_url=row[2],
        allow_third_party_reassign=bool(row[3]),
        pmr_quarantine_days=row[4],
        room_id_rule=RoomIdRule(row[5], row[6], row[7]),
    )


_SITE = (
    "SELECT id, org_id, site_url, allow_third_party_reassign, pmr_quarantine_days, pmr_prefix, "
    "pmr_site_code, pmr_digits FROM sites WHERE "
)


def site_by_url(conn: Connection, org_id: str, site_url: str) -> SiteRow | None:
    """A site of the organisation by URL (case-insensitive); other organisations' sites are not found."""
    rows = run_sql(conn, _SITE + "org_id = ? AND lower(site_url) = ?", [org_id, site_url.strip().lower()])
    return _site_row(rows[0]) if rows else None


def site_by_id(conn: Connection, site_id: int) -> SiteRow | None:
    """The site by key (the caller's preferred site: every reassignment without siteUrl asks)."""
    rows = run_sql(conn, _SITE + "id = ?", [site_id])
    return _site_row(rows[0]) if rows else None


def org_sites(session: Session, org_id: str) -> list[SiteRow]:
    return [_site_row(r) for r in run_sql(session.connection(), _SITE + "org_id = ? ORDER BY id", [org_id])]


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
    "SELECT p.id, p.email, h.host, h.license_meeting, h.license_webinar, h.calling FROM people p "
    "LEFT JOIN host_privileges h ON h.person_id = p.id AND h.site_id = ? "
    "WHERE p.org_id = ? AND p.email_key = ?"
)
_PERSON_TYPES = "SELECT type_id FROM person_session_types WHERE person_id = ? AND site_id = ?"


def new_host_on_site(conn: Connection, org_id: str, email: str, site_id: int) -> NewHost | None:
    """The person of ``org_id`` with this email and what they may do on the site (None if unknown).
    Hand-written SQL on the driver (``store.db.run_sql``): every reassignment asks."""
    rows = run_sql(conn, _NEW_HOST, [site_id, org_id, email.strip().lower()])
    if not rows:
        return None
    row = rows[0]
    types = [t[0] for t in run_sql(conn, _PERSON_TYPES, [row[0], site_id])]
    return NewHost(
        key=row[0],
        email=row[1],
        host=bool(row[2]),
        license_meeting=bool(row[3]),
        license_webinar=bool(row[4]),
        calling=bool(row[5]),
        session_type_ids=frozenset(types),
    )
