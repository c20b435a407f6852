"""What the console's pages read that no API operation reads the same way: counts for the overview, a
person's series page by page, the audit log with the console's filters. One organisation at a time,
every list paged, every filter on an indexed column or within an indexed range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from meetadmin.store.models import (
    AuditEvent,
    HostPrivilege,
    MeetingSeries,
    Org,
    Person,
    PersonalRoomId,
    Site,
)


@dataclass(frozen=True)
class SiteSummary:
    id: int
    site_url: str
    rule: str
    hosts: int
    quarantine_days: int
    allow_third_party: bool


@dataclass(frozen=True)
class Overview:
    people: int
    admins: int
    series: int
    sites: list[SiteSummary]


def overview(conn: Connection, org_id: str) -> Overview:
    people, admins = conn.execute(
        select(func.count(), func.count().filter(Person.is_admin.is_(True))).where(Person.org_id == org_id)
    ).one()
    series = conn.execute(
        select(func.count()).select_from(MeetingSeries).where(MeetingSeries.org_id == org_id)
    ).scalar_one()
    sites = []
    for s in conn.execute(select(Site).where(Site.org_id == org_id).order_by(Site.id)):
        hosts = conn.execute(
            select(func.count())
            .select_from(HostPrivilege)
            .where(HostPrivilege.site_id == s.id, HostPrivilege.host.is_(True))
        ).scalar_one()
        rule = f"{s.pmr_prefix}{s.pmr_site_code} + {s.pmr_digits} digits"
        sites.append(
            SiteSummary(
                s.id, s.site_url, rule, hosts, s.pmr_quarantine_days, bool(s.allow_third_party_reassign)
            )
        )
    return Overview(people, admins, series, sites)


@dataclass(frozen=True)
class SeriesLine:
    id: str
    title: str
    site_url: str
    start: datetime
    end: datetime
    state: str
    scheduled_type: str
    recurrence: str | None


def hosted_series(
    conn: Connection, host_key: int, site_id: int | None, offset: int, limit: int
) -> list[SeriesLine]:
    """The series a person hosts now (on one site or all), by first start; ``limit`` rows from
    ``offset`` (index ``ix_meeting_series_host_list``)."""
    stmt = (
        select(
            MeetingSeries.id,
            MeetingSeries.title,
            Site.site_url,
            MeetingSeries.start,
            MeetingSeries.end,
            MeetingSeries.state,
            MeetingSeries.scheduled_type,
            MeetingSeries.recurrence,
        )
        .join(Site, Site.id == MeetingSeries.site_id)
        .where(MeetingSeries.host_id == host_key)
        .order_by(MeetingSeries.start, MeetingSeries.id)
        .offset(offset)
        .limit(limit)
    )
    if site_id is not None:
        stmt = stmt.where(MeetingSeries.site_id == site_id)
    return [SeriesLine(**row._mapping) for row in conn.execute(stmt)]


def count_hosted(conn: Connection, host_key: int, site_id: int | None) -> int:
    stmt = select(func.count()).select_from(MeetingSeries).where(MeetingSeries.host_id == host_key)
    if site_id is not None:
        stmt = stmt.where(MeetingSeries.site_id == site_id)
    return int(conn.execute(stmt).scalar_one())


def person_key_by_email(conn: Connection, org_id: str, email: str) -> tuple[int, str] | None:
    row = conn.execute(
        select(Person.id, Person.email).where(Person.org_id == org_id, Person.email_key == email.lower())
    ).one_or_none()
    return None if row is None else (row.id, row.email)


def current_room_ids(
    conn: Connection, site_id: int, org_id: str, who: list[str], by_email: bool
) -> dict[str, str]:
    """The current personal room ID on the site of each person named (by lower-cased email or by
    person ID), keyed as named."""
    if not who:
        return {}
    key = Person.email_key if by_email else Person.person_id
    rows = conn.execute(
        select(key.label("who"), PersonalRoomId.room_id)
        .join(PersonalRoomId, PersonalRoomId.person_id == Person.id)
        .where(
            Person.org_id == org_id,
            key.in_(who),
            PersonalRoomId.site_id == site_id,
            PersonalRoomId.active.is_(True),
        )
    )
    return {row.who: row.room_id for row in rows}


AUDIT_SCAN = 5_000  # events one page may look through (newest first) before it answers with what it has


@dataclass(frozen=True)
class AuditFilter:
    start: datetime
    end: datetime
    action: str | None = None
    actor_key: int | None = None
    target: str | None = None
    before: tuple[datetime, str] | None = None  # keyset: only events older than this (created, id)


@dataclass(frozen=True)
class AuditLine:
    id: str
    created: datetime
    category: str
    action: str
    target_type: str
    target_id: str
    target_name: str
    actor_email: str
    tracking_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    lines: list[AuditLine]
    older: tuple[datetime, str] | None  # where the next page starts, if there may be more
    scanned_to: datetime | None  # set when the scan stopped at AUDIT_SCAN events without a full page


def audit_page(conn: Connection, org_id: str, flt: AuditFilter, limit: int) -> AuditPage:
    """The organisation's audit events in the time range, newest first. The filters (type, actor,
    target) are applied to at most ``AUDIT_SCAN`` events taken in order from the index on
    ``(org_id, created)``, so a page costs the same whatever it asks for; a rare filter answers with what
    those events held and where to go on (no extra indexes on the table every change writes to)."""
    window = (
        select(
            AuditEvent.id,
            AuditEvent.created,
            AuditEvent.action,
            AuditEvent.actor_id,
            AuditEvent.target_id,
            AuditEvent.target_name,
        )
        .where(AuditEvent.org_id == org_id, AuditEvent.created >= flt.start, AuditEvent.created < flt.end)
        .order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
        .limit(AUDIT_SCAN)
    )
    if flt.before is not None:
        at, event_id = flt.before
        window = window.where(
            (AuditEvent.created < at) | ((AuditEvent.created == at) & (AuditEvent.id < event_id))
        )
    scanned = window.subquery()
    stmt = (
        select(
            scanned.c.id,
            scanned.c.created,
            AuditEvent.category,
            scanned.c.action,
            AuditEvent.target_type,
            scanned.c.target_id,
            scanned.c.target_name,
            Person.email.label("actor_email"),
            AuditEvent.tracking_id,
            AuditEvent.data,
        )
        .join(AuditEvent, AuditEvent.id == scanned.c.id)
        .join(Person, Person.id == scanned.c.actor_id)
        .order_by(scanned.c.created.desc(), scanned.c.id.desc())
        .limit(limit + 1)
    )
    if flt.action:
        stmt = stmt.where(scanned.c.action == flt.action)
    if flt.actor_key is not None:
        stmt = stmt.where(scanned.c.actor_id == flt.actor_key)
    if flt.target:
        stmt = stmt.where((scanned.c.target_id == flt.target) | (scanned.c.target_name == flt.target))
    lines = [AuditLine(**{**row._mapping, "data": dict(row.data or {})}) for row in conn.execute(stmt)]
    if len(lines) > limit:
        return AuditPage(lines[:limit], (lines[limit - 1].created, lines[limit - 1].id), None)
    filtered = bool(flt.action or flt.actor_key is not None or flt.target)
    if filtered:  # did the scan stop at its limit? then there is more to look through, older
        last = conn.execute(window.offset(AUDIT_SCAN - 1).limit(1)).one_or_none()
        if last is not None:
            return AuditPage(lines, (last.created, last.id), last.created)
    return AuditPage(lines, None, None)


AUDIT_ACTIONS = ("reassignHost", "refreshPersonalMeetingRoomId", "updateUserSessionTypes")


def org_name(conn: Connection, org_id: str) -> str:
    return str(conn.execute(select(Org.name).where(Org.id == org_id)).scalar_one())


def org_site_urls(conn: Connection, org_id: str) -> list[tuple[int, str]]:
    return [
        (r.id, r.site_url)
        for r in conn.execute(select(Site.id, Site.site_url).where(Site.org_id == org_id).order_by(Site.id))
    ]
