"""Checks of a fixture document against itself and the database before anything is loaded: every error
names the file, the entry and the key."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetadmin.domain.occurrences import RecurrenceError, parse_rule
from meetadmin.domain.pmr import ROOM_ID_RULE_TEXT, is_valid_room_id, room_key
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.models import MeetingSeries, Person, Site


class FixtureError(ValueError):
    """A fixture that cannot be loaded; the message names the file, entry and key."""


@functools.lru_cache(maxsize=65_536)
def utc_naive(value: datetime) -> datetime:
    """``value`` as naive UTC. Cached: converting cost 3 µs here (``replace`` alone 2 µs), and the
    series of a file share few times; equal aware times are the same instant, so share a result."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def check_references(session: Session, name: str, doc: FixtureDoc) -> list[tuple[datetime, datetime]]:
    """Raise FixtureError at the first entry that refers to what is not there or clashes with what is;
    else each meeting's start and end as naive UTC, which the loader writes (converted once: a million
    series spent seconds converting each time twice)."""
    sites = {s.siteUrl.lower(): s for s in doc.sites}
    urls = list(sites)
    if urls:
        clash = session.scalar(select(Site.site_url).where(func.lower(Site.site_url).in_(urls)).limit(1))
        if clash:
            raise FixtureError(
                f"{name}: sites: key 'siteUrl': the site '{clash}' belongs to another organisation"
            )
    emails = [p.email.lower() for p in doc.people]
    for i in range(0, len(emails), 900):
        clash = session.scalar(select(Person.email).where(Person.email_key.in_(emails[i : i + 900])).limit(1))
        if clash:
            raise FixtureError(
                f"{name}: people: key 'email': '{clash}' is already a person of another organisation"
            )
    for i, s in enumerate(doc.sites):
        type_ids = [t.id for t in s.sessionTypes]
        dup = next((t for t in type_ids if type_ids.count(t) > 1), None)
        if dup:
            raise FixtureError(
                f"{name}: sites[{i}] ({s.siteUrl}): key 'sessionTypes': the id '{dup}' is repeated"
            )
    people = {p.email.lower(): p for p in doc.people}
    person_ids: dict[str, str] = {}
    rooms: dict[tuple[str, str], str] = {}
    for i, p in enumerate(doc.people):
        entry = f"{name}: people[{i}] ({p.email})"
        if p.personId:
            if p.personId in person_ids:
                raise FixtureError(f"{entry}: key 'personId': also the personId of {person_ids[p.personId]}")
            person_ids[p.personId] = p.email
        if p.preferredSite and p.preferredSite.lower() not in sites:
            raise FixtureError(
                f"{entry}: key 'preferredSite': '{p.preferredSite}' is not a site of this organisation"
            )
        for url, ps in p.sites.items():
            site = sites.get(url.lower())
            if site is None:
                raise FixtureError(f"{entry}: key 'sites.{url}': '{url}' is not a site of this organisation")
            known = {t.id for t in site.sessionTypes}
            for t in ps.sessionTypes:
                if t not in known:
                    raise FixtureError(
                        f"{entry}: key 'sites.{url}.sessionTypes': '{t}' is not a session type of {url}"
                    )
            if ps.personalMeetingRoomId is not None:
                where = f"{entry}: key 'sites.{url}.personalMeetingRoomId'"
                if not ps.host:
                    raise FixtureError(f"{where}: only hosts (host: true) have a personal room")
                if not is_valid_room_id(ps.personalMeetingRoomId):
                    raise FixtureError(f"{where}: {ROOM_ID_RULE_TEXT}")
                k = (url.lower(), room_key(ps.personalMeetingRoomId))
                if k in rooms:
                    raise FixtureError(f"{where}: the ID is also the personal room ID of {rooms[k]}")
                rooms[k] = p.email
            for j, q in enumerate(ps.quarantinedRoomIds):
                where = f"{entry}: key 'sites.{url}.quarantinedRoomIds[{j}]'"
                if not is_valid_room_id(q.id):
                    raise FixtureError(f"{where}: {ROOM_ID_RULE_TEXT}")
                k = (url.lower(), room_key(q.id))
                if k in rooms:
                    raise FixtureError(f"{where}: the ID is also a personal room ID of {rooms[k]}")
                rooms[k] = p.email
    if person_ids:
        known_ids = list(person_ids)
        for i in range(0, len(known_ids), 900):
            clash = session.scalar(
                select(Person.person_id).where(Person.person_id.in_(known_ids[i : i + 900])).limit(1)
            )
            if clash:
                raise FixtureError(
                    f"{name}: people: key 'personId': '{clash}' is already used by another person"
                )
    series_ids: set[str] = set()
    instance_ids: set[str] = set()
    times: list[tuple[datetime, datetime]] = []
    rules: set[tuple[str, datetime]] = set()  # checked already: most series of a file share a few rules
    site_types = {url: {t.id for t in site.sessionTypes} for url, site in sites.items()}
    for i, m in enumerate(doc.meetings):
        entry = f"{name}: meetings[{i}] ({m.id or m.title})"
        site = sites.get(m.siteUrl.lower())
        if site is None:
            raise FixtureError(f"{entry}: key 'siteUrl': '{m.siteUrl}' is not a site of this organisation")
        if m.host.lower() not in people:
            raise FixtureError(f"{entry}: key 'host': '{m.host}' is not a person of this organisation")
        if m.scheduledBy and m.scheduledBy.lower() not in people:
            raise FixtureError(
                f"{entry}: key 'scheduledBy': '{m.scheduledBy}' is not a person of this organisation"
            )
        if m.sessionTypeId not in site_types[m.siteUrl.lower()]:
            raise FixtureError(
                f"{entry}: key 'sessionTypeId': '{m.sessionTypeId}' is not a session type of {m.siteUrl}"
            )
        start, end = utc_naive(m.start), utc_naive(m.end)
        if end <= start:
            raise FixtureError(f"{entry}: key 'end': the end must be after the start")
        times.append((start, end))
        if m.recurrence and (m.recurrence, start) not in rules:
            try:
                parse_rule(m.recurrence, start)
            except RecurrenceError as exc:
                raise FixtureError(f"{entry}: key 'recurrence': {exc}") from exc
            rules.add((m.recurrence, start))
        if m.instances is not None:
            if m.endedInstances:
                raise FixtureError(
                    f"{entry}: key 'instances': give 'instances' or 'endedInstances', not both"
                )
            for j, inst in enumerate(m.instances):
                if inst.host.lower() not in people:
                    raise FixtureError(
                        f"{entry}: key 'instances[{j}].host': '{inst.host}' is not a person of this "
                        "organisation"
                    )
                if m.id is None or not inst.id.startswith(f"{m.id}_I_"):
                    raise FixtureError(
                        f"{entry}: key 'instances[{j}].id': must be '<the meeting's id>_I_<digits>'"
                    )
                if inst.id in instance_ids:
                    raise FixtureError(f"{entry}: key 'instances[{j}].id': the id is repeated in this file")
                instance_ids.add(inst.id)
        if m.id:
            if m.id in series_ids:
                raise FixtureError(f"{entry}: key 'id': the id is repeated in this file")
            series_ids.add(m.id)
    given = list(series_ids)
    if given and session.scalar(select(MeetingSeries.id).limit(1)) is None:
        given = []  # no series yet (a fresh database): a thousand queries of 900 IDs each spared
    for i in range(0, len(given), 900):
        clash = session.scalar(
            select(MeetingSeries.id).where(MeetingSeries.id.in_(given[i : i + 900])).limit(1)
        )
        if clash:
            raise FixtureError(f"{name}: meetings: key 'id': the meeting series '{clash}' already exists")
    for i, tok in enumerate(doc.tokens):
        if tok.person.lower() not in people:
            raise FixtureError(
                f"{name}: tokens[{i}]: key 'person': '{tok.person}' is not a person of this organisation"
            )
    return times
