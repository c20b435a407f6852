"""Loading organisations from fixture files (YAML or JSON), all-or-nothing.

Every error names the file, the entry and the key. Several files give several organisations, isolated
from each other. Rows are inserted in bulk, so a 100,000-series organisation loads in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from meetadmin import clock
from meetadmin.domain import ids
from meetadmin.domain.pmr import RoomIdRule, is_valid_room_id, room_key
from meetadmin.store.fixture_checks import FixtureError as FixtureError
from meetadmin.store.fixture_checks import check_references, utc_naive
from meetadmin.store.fixture_rows import RowWriter, load_cache, rebuilt_after, write_meetings
from meetadmin.store.fixture_schema import FixtureDoc, PersonalRoomDoc
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
from meetadmin.store.tokens import add_token

OnExisting = Literal["error", "skip", "replace"]


@dataclass
class LoadResult:
    org_id: str
    source: str
    sites: int = 0
    people: int = 0
    meetings: int = 0
    tokens: int = 0
    skipped: bool = False


def read_fixture(path: Path) -> FixtureDoc:
    """Parse and validate a file of one organisation; raise FixtureError naming file, entry and key."""
    docs = read_fixtures(path)
    if len(docs) != 1:
        raise FixtureError(f"{path}: holds {len(docs)} organisations; one was expected")
    return docs[0][1]


def read_fixtures(path: Path) -> list[tuple[str, FixtureDoc]]:
    """Parse and validate a file: JSON (one organisation) or YAML with one or more documents (``---``
    between them, one organisation each, as ``meetadmin export`` writes). Each document is named
    ``file`` or, in a file of several, ``file#N``; errors name it, the entry and the key."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError(f"{name}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FixtureError(f"{name}: is not UTF-8 text") from exc
    try:
        if path.suffix.lower() == ".json":
            raws = [json.loads(text)]
        else:
            raws = [raw for raw in yaml.safe_load_all(text) if raw is not None]
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise FixtureError(
            f"{name}: is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from exc
    if not raws:
        raise FixtureError(f"{name}: holds no organisation")
    if len(raws) == 1:
        return [(name, parse_fixture(raws[0], name))]
    return [(f"{name}#{i}", parse_fixture(raw, f"{name}#{i}")) for i, raw in enumerate(raws, start=1)]


def parse_fixture(raw: Any, name: str) -> FixtureDoc:
    if not isinstance(raw, dict):
        raise FixtureError(f"{name}: the top level must be a mapping with 'org', 'sites', 'people', ...")
    try:
        return FixtureDoc.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(name, raw, err) for err in exc.errors()[:20]]
        raise FixtureError("\n".join(lines)) from exc


def _describe(name: str, raw: dict[str, Any], err: Any) -> str:
    loc = list(err["loc"])
    if len(loc) >= 2 and isinstance(loc[1], int):
        section, index = str(loc[0]), loc[1]
        entry = f"{section}[{index}]"
        item = raw.get(section)
        if isinstance(item, list) and index < len(item) and isinstance(item[index], dict):
            label = item[index].get("email") or item[index].get("siteUrl") or item[index].get("id")
            if label:
                entry += f" ({label})"
        key = ".".join(str(p) for p in loc[2:])
    else:
        entry = str(loc[0]) if loc else "(top level)"
        key = ".".join(str(p) for p in loc[1:])
    what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    return f"{name}: {entry}: key '{key or loc[-1] if loc else ''}': {what}"


def load_files(
    session: Session, paths: Sequence[Path], on_existing: OnExisting = "error"
) -> list[LoadResult]:
    docs = [doc for p in paths for doc in read_fixtures(p)]
    return load_documents(session, docs, on_existing)


def load_documents(
    session: Session, docs: Sequence[tuple[str, FixtureDoc]], on_existing: OnExisting = "error"
) -> list[LoadResult]:
    """Insert every organisation or, on any error, raise FixtureError (the caller rolls back)."""
    seen_orgs: dict[str, str] = {}
    seen_sites: dict[str, str] = {}
    seen_emails: dict[str, str] = {}
    for name, doc in docs:
        _check_unique(seen_orgs, doc.org.id, name, "org", "id", "organisation")
        for i, site in enumerate(doc.sites):
            _check_unique(
                seen_sites, site.siteUrl.lower(), name, f"sites[{i}] ({site.siteUrl})", "siteUrl", "site"
            )
        for i, person in enumerate(doc.people):
            _check_unique(
                seen_emails, person.email.lower(), name, f"people[{i}] ({person.email})", "email", "email"
            )
    results = []
    with load_cache(session.connection()):
        for name, doc in docs:
            results.append(_load_one(session, name, doc, on_existing))
    if any(not r.skipped for r in results):
        session.execute(text("ANALYZE"))  # fresh statistics for the query planner after a bulk load
    return results


def _check_unique(seen: dict[str, str], value: str, name: str, entry: str, key: str, what: str) -> None:
    if value in seen:
        where = "this file" if seen[value] == name else seen[value]
        raise FixtureError(f"{name}: {entry}: key '{key}': the {what} '{value}' is also defined in {where}")
    seen[value] = name


def _load_one(session: Session, name: str, doc: FixtureDoc, on_existing: OnExisting) -> LoadResult:
    result = LoadResult(org_id=doc.org.id, source=name)
    if session.get(Org, doc.org.id) is not None:
        if on_existing == "skip":
            result.skipped = True
            return result
        if on_existing == "error":
            raise FixtureError(
                f"{name}: org: key 'id': the organisation '{doc.org.id}' is already loaded "
                "(use --replace to load it again)"
            )
        delete_org(session, doc.org.id)
    times = check_references(session, name, doc)
    now = clock.now()
    session.execute(
        insert(Org).values(id=doc.org.id, webex_id=ids.org_webex_id_for(doc.org.id), name=doc.org.name)
    )

    site_ids: dict[str, int] = {}
    site_rules: dict[str, RoomIdRule] = {}
    kinds: dict[tuple[str, str], str] = {}
    for site in doc.sites:
        site_id = session.execute(
            insert(Site)
            .values(
                org_id=doc.org.id,
                site_url=site.siteUrl,
                pmr_prefix=site.pmrIdRule.prefix,
                pmr_site_code=site.pmrIdRule.siteCode,
                pmr_digits=site.pmrIdRule.digits,
                pmr_quarantine_days=site.pmrQuarantineDays,
                allow_third_party_reassign=site.allowThirdPartyReassign,
            )
            .returning(Site.id)
        ).scalar_one()
        key = site.siteUrl.lower()
        site_ids[key] = site_id
        site_rules[key] = RoomIdRule(site.pmrIdRule.prefix, site.pmrIdRule.siteCode, site.pmrIdRule.digits)
        for st in site.sessionTypes:
            kinds[(key, st.id)] = st.type
        if site.sessionTypes:
            session.execute(
                insert(SessionType),
                [
                    {
                        "site_id": site_id,
                        "type_id": st.id,
                        "short_name": st.shortName,
                        "name": st.name,
                        "kind": st.type,
                    }
                    for st in site.sessionTypes
                ],
            )
    result.sites = len(doc.sites)

    person_rows = [
        {
            "org_id": doc.org.id,
            "person_id": p.personId or ids.person_id_for(p.email),
            "email": p.email,
            "email_key": p.email.lower(),
            "display_name": p.displayName,
            "is_admin": p.admin,
            "preferred_site_id": site_ids.get((p.preferredSite or "").lower()),
            "created": now,
        }
        for p in doc.people
    ]
    person_keys: dict[str, int] = {}
    if person_rows:
        rows = session.execute(insert(Person).returning(Person.id, Person.email_key), person_rows)
        person_keys = {email_key: pk for pk, email_key in rows}
    result.people = len(person_rows)

    privileges: list[dict[str, Any]] = []
    person_types: list[dict[str, Any]] = []
    rooms: list[dict[str, Any]] = []
    room_options: list[dict[str, Any]] = []
    taken: dict[int, set[str]] = {}
    for p in doc.people:
        pk = person_keys[p.email.lower()]
        for url, ps in p.sites.items():
            site_id = site_ids[url.lower()]
            privileges.append(
                {
                    "person_id": pk,
                    "site_id": site_id,
                    "host": ps.host,
                    "license_meeting": "meeting" in ps.licenses,
                    "license_webinar": "webinar" in ps.licenses,
                    "calling": ps.calling,
                }
            )
            person_types.extend(
                {"person_id": pk, "site_id": site_id, "type_id": t} for t in dict.fromkeys(ps.sessionTypes)
            )
            if ps.host:
                room = ps.personalMeetingRoomId or _free_room_id(
                    site_rules[url.lower()], taken.get(site_id, set())
                )
                taken.setdefault(site_id, set()).add(room_key(room))
                rooms.append(
                    {
                        "site_id": site_id,
                        "person_id": pk,
                        "room_id": room,
                        "room_key": room_key(room),
                        "active": True,
                        "released_at": None,
                        "reserved_until": None,
                    }
                )
            if ps.personalRoom is not None:
                room_options.append(_room_options(pk, site_id, ps.personalRoom, now))
            for q in ps.quarantinedRoomIds:
                rooms.append(
                    {
                        "site_id": site_id,
                        "person_id": pk,
                        "room_id": q.id,
                        "room_key": room_key(q.id),
                        "active": False,
                        "released_at": utc_naive(q.releasedAt),
                        "reserved_until": utc_naive(q.reservedUntil),
                    }
                )
    conn = session.connection()
    for table, rows_ in (
        (HostPrivilege, privileges),
        (PersonSessionType, person_types),
        (PersonalRoomId, rooms),
        (PersonalRoomSettings, room_options),
    ):
        writer = RowWriter(conn, table)
        for row in rows_:
            writer.add(row)
        writer.flush()

    with rebuilt_after(conn, MeetingSeries, len(doc.meetings)):
        result.meetings = write_meetings(conn, doc, times, site_ids, person_keys, now)

    for t in doc.tokens:
        add_token(session, person_keys[t.person.lower()], t.token, t.scopes, label=f"fixture {name}")
    result.tokens = len(doc.tokens)
    return result


def _room_options(person_key: int, site_id: int, room: PersonalRoomDoc, now: datetime) -> dict[str, Any]:
    return {
        "person_id": person_key,
        "site_id": site_id,
        "topic": room.topic,
        "host_pin": room.hostPin,
        "enabled_auto_lock": room.enabledAutoLock,
        "auto_lock_minutes": room.autoLockMinutes,
        "enabled_notify_host": room.enabledNotifyHost,
        "support_co_host": room.supportCoHost,
        "support_anyone_as_co_host": room.supportAnyoneAsCoHost,
        "allow_first_user_to_be_co_host": room.allowFirstUserToBeCoHost,
        "allow_authenticated_devices": room.allowAuthenticatedDevices,
        "co_hosts": [{"email": c.email, "displayName": c.displayName} for c in room.coHosts],
        "updated": now,
    }


def _free_room_id(rule: RoomIdRule, taken: set[str]) -> str:
    for _ in range(100):
        candidate = rule.generate()
        if is_valid_room_id(candidate) and room_key(candidate) not in taken:
            return candidate
    raise FixtureError("the site's pmrIdRule cannot generate enough distinct personal room IDs")


def delete_org(session: Session, org_id: str) -> None:
    """Remove an organisation and everything under it (``load --replace``)."""
    from meetadmin.store.models import ApiToken, AuditEvent, IdempotencyRecord, Notice

    people = select(Person.id).where(Person.org_id == org_id).scalar_subquery()
    series = select(MeetingSeries.id).where(MeetingSeries.org_id == org_id).scalar_subquery()
    sites = select(Site.id).where(Site.org_id == org_id).scalar_subquery()
    session.execute(delete(MeetingInstance).where(MeetingInstance.series_id.in_(series)))
    session.execute(delete(MeetingSeries).where(MeetingSeries.org_id == org_id))
    session.execute(delete(AuditEvent).where(AuditEvent.org_id == org_id))
    session.execute(delete(Notice).where(Notice.org_id == org_id))
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.person_id.in_(people)))
    session.execute(delete(ApiToken).where(ApiToken.person_id.in_(people)))
    session.execute(delete(PersonalRoomId).where(PersonalRoomId.site_id.in_(sites)))
    session.execute(delete(PersonSessionType).where(PersonSessionType.person_id.in_(people)))
    session.execute(delete(HostPrivilege).where(HostPrivilege.person_id.in_(people)))
    session.execute(delete(Person).where(Person.org_id == org_id))
    session.execute(delete(SessionType).where(SessionType.site_id.in_(sites)))
    session.execute(delete(Site).where(Site.org_id == org_id))
    session.execute(delete(Org).where(Org.id == org_id))
