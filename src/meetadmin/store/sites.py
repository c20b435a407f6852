"""Site and host-privilege queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from meetadmin.domain.pmr import RoomIdRule
from meetadmin.domain.reassign import NewHost
from meetadmin.store.driver import run_sql, sql
from meetadmin.store.models import HostPrivilege


@dataclass(frozen=True)
class SiteRow:
    id: int
    org_id: str
    site_url: str
    allow_third_party_reassign: bool
    pmr_quarantine_days: int
    room_id_rule: RoomIdRule


class _Site(NamedTuple):  # a row of the _SITE_* statements
    id: int
    org_id: str
    site_url: str
    allow_third_party_reassign: Any
    pmr_quarantine_days: int
    pmr_prefix: str
    pmr_site_code: str
    pmr_digits: int


def _site_row(found: Any) -> SiteRow:
    row = _Site._make(found)
    return SiteRow(
        id=row.id,
        org_id=row.org_id,
        site_url=row.site_url,
        allow_third_party_reassign=bool(row.allow_third_party_reassign),
        pmr_quarantine_days=row.pmr_quarantine_days,
        room_id_rule=RoomIdRule(row.pmr_prefix, row.pmr_site_code, row.pmr_digits),
    )


_SITE = (
    "SELECT id, org_id, site_url, allow_third_party_reassign, pmr_quarantine_days, pmr_prefix, "
    "pmr_site_code, pmr_digits FROM sites WHERE "
)
_SITE_BY_URL = sql(_SITE + "org_id = ? AND lower(site_url) = ?", row=_Site)
_SITE_BY_ID = sql(_SITE + "id = ?", row=_Site)
_ORG_SITES = sql(_SITE + "org_id = ? ORDER BY id", row=_Site)


def site_by_url(conn: Connection, org_id: str, site_url: str) -> SiteRow | None:
    """A site of the organisation by URL (case-insensitive); other organisations' sites are not found."""
    rows = run_sql(conn, _SITE_BY_URL, [org_id, site_url.strip().lower()])
    return _site_row(rows[0]) if rows else None


def site_by_id(conn: Connection, site_id: int) -> SiteRow | None:
    """The site by key (the caller's preferred site: every reassignment without siteUrl asks)."""
    rows = run_sql(conn, _SITE_BY_ID, [site_id])
    return _site_row(rows[0]) if rows else None


def org_sites(session: Session, org_id: str) -> list[SiteRow]:
    return [_site_row(r) for r in run_sql(session.connection(), _ORG_SITES, [org_id])]


def person_site_ids(session: Session, person_key: int) -> list[int]:
    """Sites where the person has any privilege (host or attendee), in a stable order."""
    return list(
        session.scalars(
            select(HostPrivilege.site_id)
            .where(HostPrivilege.person_id == person_key)
            .order_by(HostPrivilege.site_id)
        )
    )


class _NewHost(NamedTuple):  # a row of _NEW_HOST
    id: int
    email: str
    host: Any
    license_meeting: Any
    license_webinar: Any
    calling: Any
    type_id: str | None


# The person, their privileges on the site and their session types there, in one statement (a row per
# session type): one round trip, where a separate query for the types cost another on PostgreSQL.
_NEW_HOST = sql(
    "SELECT p.id, p.email, h.host, h.license_meeting, h.license_webinar, h.calling, t.type_id "
    "FROM people p "
    "LEFT JOIN host_privileges h ON h.person_id = p.id AND h.site_id = ? "
    "LEFT JOIN person_session_types t ON t.person_id = p.id AND t.site_id = ? "
    "WHERE p.org_id = ? AND p.email_key = ?",
    row=_NewHost,
)


def new_host_on_site(conn: Connection, org_id: str, email: str, site_id: int) -> NewHost | None:
    """The person of ``org_id`` with this email and what they may do on the site (None if unknown).
    Hand-written SQL on the driver (``store.driver.run_sql``): every reassignment asks."""
    rows = [
        _NewHost._make(r) for r in run_sql(conn, _NEW_HOST, [site_id, site_id, org_id, email.strip().lower()])
    ]
    if not rows:
        return None
    return _new_host(rows[0].id, rows[0].email, rows)


def _new_host(key: int, email: str, rows: Sequence[_NewHost] | Sequence[_SiteAndHost]) -> NewHost:
    """A person's rights on a site from rows of ``_NEW_HOST`` or ``_SITE_AND_HOST_*`` (one per session
    type the person may use there; the privileges are the same on each)."""
    first = rows[0]
    return NewHost(
        key=key,
        email=email,
        host=bool(first.host),
        license_meeting=bool(first.license_meeting),
        license_webinar=bool(first.license_webinar),
        calling=bool(first.calling),
        session_type_ids=frozenset(r.type_id for r in rows if r.type_id is not None),
    )


class _SiteAndHost(NamedTuple):  # a row of _SITE_AND_HOST_*
    id: int
    org_id: str
    site_url: str
    allow_third_party_reassign: Any
    pmr_quarantine_days: int
    pmr_prefix: str
    pmr_site_code: str
    pmr_digits: int
    person_key: int | None
    email: str | None
    host: Any
    license_meeting: Any
    license_webinar: Any
    calling: Any
    type_id: str | None


# The site and what a person may do there, in one statement (a row per session type; the person's
# columns NULL when there is no such person): every reassignment asks both, and on PostgreSQL each
# statement waited for is a round trip.
_SITE_AND_HOST = (
    "SELECT site.id, site.org_id, site.site_url, site.allow_third_party_reassign, site.pmr_quarantine_days, "
    "site.pmr_prefix, site.pmr_site_code, site.pmr_digits, p.id AS person_key, p.email, h.host, "
    "h.license_meeting, h.license_webinar, h.calling, t.type_id "
    "FROM sites site "
    "LEFT JOIN people p ON p.org_id = ? AND p.email_key = ? "
    "LEFT JOIN host_privileges h ON h.person_id = p.id AND h.site_id = site.id "
    "LEFT JOIN person_session_types t ON t.person_id = p.id AND t.site_id = site.id WHERE "
)
_SITE_AND_HOST_BY_URL = sql(_SITE_AND_HOST + "site.org_id = ? AND lower(site.site_url) = ?", row=_SiteAndHost)
_SITE_AND_HOST_BY_ID = sql(_SITE_AND_HOST + "site.id = ?", row=_SiteAndHost)


def site_with_new_host(
    conn: Connection, org_id: str, email: str, site_url: str | None, site_id: int | None
) -> tuple[SiteRow, NewHost | None] | None:
    """``site_by_url`` (with ``site_url``) or ``site_by_id``, and ``new_host_on_site`` there, in one
    statement; None when there is no such site."""
    person = [org_id, email.strip().lower()]
    if site_url is not None:
        found = run_sql(conn, _SITE_AND_HOST_BY_URL, [*person, org_id, site_url.strip().lower()])
    else:
        found = run_sql(conn, _SITE_AND_HOST_BY_ID, [*person, site_id])
    if not found:
        return None
    rows = [_SiteAndHost._make(r) for r in found]
    row = rows[0]
    site = _site_row(found[0][: len(_Site._fields)])  # the site's columns come first
    if row.person_key is None or row.email is None:
        return site, None
    return site, _new_host(row.person_key, row.email, rows)
