"""Export organisations in the fixture format (shared/spec/fixtures.md), so that ``meetadmin load`` reads
them back to the same state: ``meetadmin export``.

One document per organisation. Left out: API tokens (secrets, stored only as hashes) and history (admin
audit events, notices, Idempotency-Key records). Beyond the shared format, the meetadmin extensions carry
what it cannot: quarantined personal room IDs, personal room options (topic, PIN, co-hosts...), each
series' meeting number and password, and its instances exactly (ID, host, start, end, state) instead
of ``endedInstances``. The times rows were created or updated are not carried.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import Connection, select

from meetadmin.domain.meeting_rules import LIVE_STATES
from meetadmin.store.models import (
    HostPrivilege,
    MeetingInstance,
    MeetingSeries,
    Org,
    Person,
    PersonalRoomId,
    PersonalRoomSettings,
    PersonSessionType,
    SessionType,
    Site,
)


def stamp(value: datetime) -> str:
    return value.isoformat() + "Z"


def _type_order(type_id: str) -> tuple[int, str]:
    return (len(type_id), type_id)  # numeric IDs in numeric order


def export_documents(conn: Connection, org_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The fixture documents of ``org_ids`` (every organisation when None), in ID order; unknown IDs are
    simply absent."""
    query = select(Org.id, Org.name).order_by(Org.id)
    if org_ids is not None:
        query = query.where(Org.id.in_(org_ids))
    return [export_org(conn, row.id, row.name) for row in conn.execute(query)]


def export_org(conn: Connection, org_id: str, name: str) -> dict[str, Any]:
    sites = conn.execute(select(Site.__table__).where(Site.org_id == org_id).order_by(Site.id)).all()
    urls = {s.id: s.site_url for s in sites}
    types: dict[int, list[Any]] = defaultdict(list)
    if urls:
        for t in conn.execute(select(SessionType.__table__).where(SessionType.site_id.in_(list(urls)))):
            types[t.site_id].append(t)
    doc: dict[str, Any] = {"org": {"id": org_id, "name": name}}
    doc["sites"] = [
        {
            "siteUrl": s.site_url,
            "pmrIdRule": {"prefix": s.pmr_prefix, "siteCode": s.pmr_site_code, "digits": s.pmr_digits},
            "sessionTypes": [
                {"id": t.type_id, "shortName": t.short_name, "name": t.name, "type": t.kind}
                for t in sorted(types[s.id], key=lambda t: _type_order(t.type_id))
            ],
            "allowThirdPartyReassign": s.allow_third_party_reassign,
            "pmrQuarantineDays": s.pmr_quarantine_days,
        }
        for s in sites
    ]
    people = conn.execute(select(Person.__table__).where(Person.org_id == org_id).order_by(Person.id)).all()
    emails = {p.id: p.email for p in people}
    doc["people"] = _people(conn, org_id, people, urls)
    doc["meetings"] = _meetings(conn, org_id, urls, emails)
    return doc


def _people(
    conn: Connection, org_id: str, people: Sequence[Any], urls: dict[int, str]
) -> list[dict[str, Any]]:
    in_org = select(Person.id).where(Person.org_id == org_id)
    privileges: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(
        select(HostPrivilege.__table__)
        .where(HostPrivilege.person_id.in_(in_org))
        .order_by(HostPrivilege.site_id)
    ):
        privileges[row.person_id].append(row)
    session_types: dict[tuple[int, int], list[str]] = defaultdict(list)
    for row in conn.execute(
        select(PersonSessionType.__table__).where(PersonSessionType.person_id.in_(in_org))
    ):
        session_types[(row.person_id, row.site_id)].append(row.type_id)
    active: dict[tuple[int, int], str] = {}
    quarantined: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    rooms = conn.execute(
        select(PersonalRoomId.__table__)
        .where(PersonalRoomId.person_id.in_(in_org))
        .order_by(PersonalRoomId.released_at, PersonalRoomId.room_key)
    )
    for room in rooms:
        where = (room.person_id, room.site_id)
        if room.active:
            active[where] = room.room_id
        elif room.reserved_until is not None:
            released = room.released_at or room.reserved_until
            quarantined[where].append(
                {
                    "id": room.room_id,
                    "releasedAt": stamp(released),
                    "reservedUntil": stamp(room.reserved_until),
                }
            )
    options: dict[tuple[int, int], dict[str, Any]] = {}
    for o in conn.execute(
        select(PersonalRoomSettings.__table__).where(PersonalRoomSettings.person_id.in_(in_org))
    ):
        options[(o.person_id, o.site_id)] = {
            "topic": o.topic,
            "hostPin": o.host_pin,
            "enabledAutoLock": o.enabled_auto_lock,
            "autoLockMinutes": o.auto_lock_minutes,
            "enabledNotifyHost": o.enabled_notify_host,
            "supportCoHost": o.support_co_host,
            "supportAnyoneAsCoHost": o.support_anyone_as_co_host,
            "allowFirstUserToBeCoHost": o.allow_first_user_to_be_co_host,
            "allowAuthenticatedDevices": o.allow_authenticated_devices,
            "coHosts": [{"email": c["email"], "displayName": c["displayName"]} for c in o.co_hosts],
        }
    out = []
    for p in people:
        entry: dict[str, Any] = {"email": p.email, "displayName": p.display_name, "personId": p.person_id}
        if p.is_admin:
            entry["admin"] = True
        if p.preferred_site_id in urls:
            entry["preferredSite"] = urls[p.preferred_site_id]
        person_sites: dict[str, Any] = {}
        for priv in privileges[p.id]:
            where = (p.id, priv.site_id)
            site: dict[str, Any] = {
                "host": priv.host,
                "licenses": [
                    k
                    for k, on in (("meeting", priv.license_meeting), ("webinar", priv.license_webinar))
                    if on
                ],
                "sessionTypes": sorted(session_types[where], key=_type_order),
                "calling": priv.calling,
            }
            if priv.host and where in active:
                site["personalMeetingRoomId"] = active[where]
            if quarantined[where]:
                site["quarantinedRoomIds"] = quarantined[where]
            if where in options:
                site["personalRoom"] = options[where]
            person_sites[urls[priv.site_id]] = site
        if person_sites:
            entry["sites"] = person_sites
        out.append(entry)
    return out


def _meetings(
    conn: Connection, org_id: str, urls: dict[int, str], emails: dict[int, str]
) -> list[dict[str, Any]]:
    instances: dict[str, list[Any]] = defaultdict(list)
    # A deleted series (kept hidden while it has ended instances) is not exported: the fixture format has
    # no deleted series, and loading it would bring it back. Changed or deleted occurrences
    # (meeting_exceptions) are not exported either; snapshots keep both.
    in_org = select(MeetingSeries.id).where(
        MeetingSeries.org_id == org_id, MeetingSeries.deleted_at.is_(None)
    )
    for inst in conn.execute(
        select(MeetingInstance.__table__)
        .where(MeetingInstance.series_id.in_(in_org))
        .order_by(MeetingInstance.start, MeetingInstance.id)
    ):
        instances[inst.series_id].append(inst)
    out = []
    series = conn.execute(
        select(MeetingSeries.__table__)
        .where(MeetingSeries.org_id == org_id, MeetingSeries.deleted_at.is_(None))
        .order_by(MeetingSeries.start, MeetingSeries.id)
    )
    for s in series:
        m: dict[str, Any] = {
            "id": s.id,
            "siteUrl": urls[s.site_id],
            "host": emails[s.host_id],
            "title": s.title,
        }
        if s.agenda:
            m["agenda"] = s.agenda
        m["timezone"] = s.timezone
        m["start"], m["end"] = stamp(s.start), stamp(s.end)
        if s.recurrence:
            m["recurrence"] = s.recurrence
        m["sessionTypeId"] = s.session_type_id
        m["scheduledType"] = s.scheduled_type
        m["state"] = s.state
        m["callback"] = s.callback
        if s.integration:
            m["integration"] = s.integration
        if s.scheduled_by_id is not None:
            m["scheduledBy"] = emails[s.scheduled_by_id]
        m["meetingNumber"] = s.meeting_number
        m["password"] = s.password
        ran = instances[s.id]
        if ran or s.state in LIVE_STATES:
            m["instances"] = [
                {
                    "id": i.id,
                    "host": emails[i.host_id],
                    "start": stamp(i.start),
                    **({"end": stamp(i.end)} if i.end is not None else {}),
                    "state": i.state,
                }
                for i in ran
            ]
        out.append(m)
    return out


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """The documents as YAML, ``---`` between them."""
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=120)
