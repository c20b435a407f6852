"""Personal rooms: Batch Refresh Personal Meeting Room ID, and a room's options (GET/PUT).

Refresh is all-or-nothing: every item is checked first and any problem refuses the whole request
with one error per problem. Room IDs are unique per site regardless of case; the unique index
``ux_personal_room_ids_site_key`` counts quarantined IDs too, so two people can never hold one ID even
when several server processes race. A lost race (a unique violation or deadlock on PostgreSQL) retries
the whole transaction, which then sees the winner's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from meetadmin.domain import pmr as rules
from meetadmin.domain.people import TokenOwner
from meetadmin.domain.pmr import Problem, RoomIdRequest, room_key
from meetadmin.errors import BadRequest, Conflict, Forbidden, NotFound
from meetadmin.services.common import audit_batch, target_site, utcnow
from meetadmin.store.audit import add_audit_batch
from meetadmin.store.db import savepoint
from meetadmin.store.rooms import (
    PersonOnSite,
    RoomRow,
    RoomSettings,
    active_room_id,
    add_rooms,
    delete_rooms,
    lock_people,
    people_on_site,
    person_by_email,
    person_by_key,
    reclaim_rooms,
    release_active,
    release_rooms,
    room_settings,
    rooms_for,
    rooms_with_keys,
    save_room_settings,
)
from meetadmin.store.sites import SiteRow, person_site_ids, site_by_url
from meetadmin.store.writer import Retry, orm

RACE_ATTEMPTS = 8
GENERATE_ROUNDS = 40


class RoomIdProblems(BadRequest):
    """The refresh was refused; ``problems`` says what is wrong with which item."""

    def __init__(self, items: list[RoomIdRequest], problems: list[Problem]) -> None:
        self.items = items
        self.problems = problems
        super().__init__(*[p.description for p in problems])


class RefreshedRoom(NamedTuple):
    email: str
    person_id: str
    room_id: str


@dataclass(frozen=True)
class RefreshOutcome:
    site_url: str
    rooms: list[RefreshedRoom]
    changed: int


@dataclass
class _Plan:
    """What the apply step does, gathered per item."""

    delete: list[int] = field(default_factory=list)
    release: list[int] = field(default_factory=list)
    reclaim: list[tuple[int, str]] = field(default_factory=list)
    add: list[tuple[int, str, str]] = field(default_factory=list)
    changes: list[tuple[PersonOnSite, str | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RefreshRequest:
    """A refresh whose items passed the checks that need no database (``check_refresh``)."""

    caller: TokenOwner
    site_url: str
    items: list[RoomIdRequest]
    shape: list[Problem]  # problems of single items, reported with those the database finds


def check_refresh(caller: TokenOwner, site_url: str, items: list[RoomIdRequest]) -> RefreshRequest:
    """The rules that need no database; a request that can't be read as a whole is refused here."""
    shape = rules.request_problems(items)
    if any(p.index is None for p in shape):
        raise RoomIdProblems(items, shape)
    return RefreshRequest(caller, site_url, items, shape)


# A refresh that loses a race (a unique violation or deadlock on PostgreSQL) is done again from the start.
REFRESH_RETRY = Retry(
    RACE_ATTEMPTS,
    "Other requests kept changing the same personal room IDs at the same time; send the request again.",
)


def refresh_room_ids(conn: Connection, request: RefreshRequest, tracking_id: str) -> RefreshOutcome:
    """Give each person of the request a new personal room ID on the site, or change nothing (run it
    with ``REFRESH_RETRY``)."""
    return _refresh(conn, request.caller, request.site_url, request.items, tracking_id, request.shape)


def _refuse(items: list[RoomIdRequest], problems: list[Problem]) -> RoomIdProblems:
    return RoomIdProblems(items, sorted(problems, key=lambda p: -1 if p.index is None else p.index))


def _refresh(
    conn: Connection,
    caller: TokenOwner,
    site_url: str,
    items: list[RoomIdRequest],
    tracking_id: str,
    shape: list[Problem],
) -> RefreshOutcome:
    site = site_by_url(conn, caller.org_id, site_url)
    if site is None:
        raise BadRequest(f"The site '{site_url.strip()[:255]}' is not a site of your organisation.")
    by_person_id = all(i.person_id for i in items)
    emails = [] if by_person_id else [(i.email or "").strip().lower() for i in items]
    found = people_on_site(
        conn,
        caller.org_id,
        site.id,
        emails,
        [i.person_id or "" for i in items] if by_person_id else [],
    )
    by_email = {p.email.lower(): p for p in found}
    by_pid = {p.person_id: p for p in found}

    problems = list(shape)
    people: list[PersonOnSite | None] = []
    seen: dict[int, int] = {}
    for n, item in enumerate(items):
        if not item.email and not item.person_id:
            people.append(None)  # already a problem: names nobody
            continue
        person = by_pid.get(item.person_id or "") if by_person_id else by_email.get(emails[n])
        people.append(None)
        mismatch = person is not None and (
            (by_person_id and bool(item.email) and (item.email or "").strip().lower() != person.email.lower())
            or (not by_person_id and bool(item.person_id) and item.person_id != person.person_id)
        )
        if person is None or mismatch:
            problems.append(Problem(n, f"{item.label(n)} is not a user of your organisation."))
        elif not person.host:
            problems.append(
                Problem(
                    n, f"{item.label(n)} has no host privilege on {site.site_url}, so has no personal room."
                )
            )
        elif person.key in seen:
            problems.append(
                Problem(
                    n,
                    f"{item.label(n)} is the same person as "
                    f"{items[seen[person.key]].label(seen[person.key])}; name each person once.",
                )
            )
        else:
            seen[person.key] = n
            people[n] = person
    generated = any(i.system_generated is True for i in items)
    if problems and generated:
        raise _refuse(items, problems)
    for p in problems:  # items with a problem take no further part
        if p.index is not None:
            people[p.index] = None

    keys = [p.key for p in people if p is not None]
    lock_people(conn, keys)
    now = utcnow()
    if not problems:  # then everyone named is here, in item order
        chosen = [p for p in people if p is not None]
        ids = site.room_id_rule.generate_many(len(chosen)) if generated else [i.room_id or "" for i in items]
        quick = _refresh_quickly(conn, caller, site, chosen, ids, now, tracking_id, generated)
        if quick is not None:
            return quick
    wanted = [room_key(i.room_id) for i in items if i.room_id is not None and i.system_generated is not True]
    rows = rooms_for(conn, site.id, keys, wanted)
    if generated:
        targets, seen_rows = _generate(conn, site, people, rows, now)
        rows = rows + seen_rows
    else:
        targets = [i.room_id or "" for i in items]

    plan = _plan(items, people, targets, rows, now, problems)
    if problems:
        raise _refuse(items, problems)
    _apply(conn, caller, site, plan, now, tracking_id, generated=generated)
    result = [
        RefreshedRoom(p.email, p.person_id, room)
        for p, room in zip(people, targets, strict=True)
        if p is not None
    ]
    return RefreshOutcome(site.site_url, result, len(plan.changes))


def _free_for(row: RoomRow | None, person_key: int, now: datetime) -> bool:
    """May ``person_key`` take the ID of ``row``? Yes if nobody holds it, it is theirs, or its
    quarantine has run out."""
    if row is None or row.person_key == person_key:
        return True
    return not row.active and row.reserved_until is not None and row.reserved_until <= now


class _Taken(Exception):
    """An ID is on the site already: the quick path steps back for the general one."""


def _refresh_quickly(
    conn: Connection,
    caller: TokenOwner,
    site: SiteRow,
    people: list[PersonOnSite],
    ids: list[str],
    now: datetime,
    tracking_id: str,
    generated: bool,
) -> RefreshOutcome | None:
    """The usual refresh, every new ID new to the site, in three writes and no reads: give up
    everyone's current ID, add the new ones where their key is free, audit (about 10% less CPU than the
    general path). If two IDs are the same, or one is on the site already (held, reserved, or the
    person's own, old or current), nothing of this is kept (savepoint) and None is returned: the
    general path then does the request, and says what is wrong, keeps a current ID, takes back a
    person's own quarantined one or reuses one whose quarantine has run out."""
    keys = [room_key(i) for i in ids]
    if len(set(keys)) != len(keys):
        return None
    until = now + timedelta(days=site.pmr_quarantine_days)
    try:
        with savepoint(conn):
            old = release_active(conn, site.id, sorted(p.key for p in people), now, until)
            new = sorted(zip([p.key for p in people], ids, keys, strict=True), key=lambda r: r[2])
            if add_rooms(conn, site.id, new, if_free=True) != len(people):
                raise _Taken
            changes = [(p, old.get(p.key), i) for p, i in zip(people, ids, strict=True)]
            _audit(conn, caller, site, changes, now, tracking_id, generated)
    except _Taken:
        return None
    rooms = [RefreshedRoom(p.email, p.person_id, i) for p, i in zip(people, ids, strict=True)]
    return RefreshOutcome(site.site_url, rooms, len(rooms))


def _generate(
    conn: Connection, site: SiteRow, people: list[PersonOnSite | None], rows: list[RoomRow], now: datetime
) -> tuple[list[str], list[RoomRow]]:
    """A new ID from the site's rule for everyone, never one that is taken, reserved or asked twice.
    Also returns the rows found under the candidates (an expired quarantine the plan must delete)."""
    current = {r.person_key: r.room_key for r in rows if r.active}
    known = {r.room_key: r for r in rows}
    chosen: dict[int, str] = {}
    discovered: list[RoomRow] = []
    used: set[str] = set()
    pending = [n for n, p in enumerate(people) if p is not None]
    for _round in range(GENERATE_ROUNDS):
        candidates: dict[int, tuple[str, str]] = {}  # item -> (ID, key)
        for n, fresh in zip(pending, site.room_id_rule.generate_many(len(pending)), strict=True):
            key = room_key(fresh)
            if key not in used and key not in known:
                candidates[n] = (fresh, key)
                used.add(key)
        for found in rooms_with_keys(conn, site.id, [key for _value, key in candidates.values()]):
            known[found.room_key] = found
            discovered.append(found)
        still: list[int] = []
        for n in pending:
            person = people[n]
            if person is None:
                continue
            candidate = candidates.get(n)
            if candidate is None:
                still.append(n)
                continue
            value, key = candidate
            row = known.get(key)
            if (
                key == current.get(person.key)
                or not _free_for(row, person.key, now)
                or (row is not None and row.person_key == person.key)
            ):
                still.append(n)
                continue
            chosen[n] = value
        pending = still
        if not pending:
            break
    if pending:
        raise Conflict(
            f"The personal room ID rule of {site.site_url} has too few free IDs left to generate new ones; "
            "ask for specific IDs instead, or widen the site's rule."
        )
    return [chosen.get(n, "") for n in range(len(people))], discovered


def _plan(
    items: list[RoomIdRequest],
    people: list[PersonOnSite | None],
    targets: list[str],
    rows: list[RoomRow],
    now: datetime,
    problems: list[Problem],
) -> _Plan:
    plan = _Plan()
    by_key = {r.room_key: r for r in rows}
    current = {r.person_key: r for r in rows if r.active}
    for n, (person, target) in enumerate(zip(people, targets, strict=True)):
        if person is None:
            continue
        key = room_key(target)
        row = by_key.get(key)
        mine = current.get(person.key)
        if not _free_for(row, person.key, now):
            problems.append(Problem(n, rules.ROOM_ID_IN_USE))
            continue
        if mine is not None and mine.room_key == key:
            if mine.room_id != target:  # the same ID in another spelling
                plan.reclaim.append((mine.id, target))
                plan.changes.append((person, mine.room_id, target))
            continue
        if mine is not None:
            plan.release.append(mine.id)
        if row is not None and row.person_key == person.key:
            plan.reclaim.append((row.id, target))
        else:
            if row is not None:
                plan.delete.append(row.id)  # someone else's expired quarantine
            plan.add.append((person.key, target, key))
        plan.changes.append((person, mine.room_id if mine else None, target))
    return plan


def _apply(
    conn: Connection,
    caller: TokenOwner,
    site: SiteRow,
    plan: _Plan,
    now: datetime,
    tracking_id: str,
    generated: bool,
) -> None:
    delete_rooms(conn, plan.delete)
    release_rooms(conn, plan.release, now, now + timedelta(days=site.pmr_quarantine_days))
    reclaim_rooms(conn, plan.reclaim)
    add_rooms(conn, site.id, sorted(plan.add, key=lambda r: r[2]))
    _audit(conn, caller, site, plan.changes, now, tracking_id, generated)


def _audit(
    conn: Connection,
    caller: TokenOwner,
    site: SiteRow,
    changes: list[tuple[PersonOnSite, str | None, str]],
    now: datetime,
    tracking_id: str,
    generated: bool,
) -> None:
    """One audit event per changed ID: who, whose, old and new."""
    add_audit_batch(
        conn,
        audit_batch(
            caller,
            now,
            tracking_id,
            category="MEETING_PREFERENCES",
            action="refreshPersonalMeetingRoomId",
            target_type="PERSON",
            targets=[
                (
                    person.person_id,
                    person.email,
                    {
                        "siteUrl": site.site_url,
                        "email": person.email,
                        "personId": person.person_id,
                        "oldPersonalMeetingRoomId": old,
                        "newPersonalMeetingRoomId": new,
                        "systemGenerated": generated,
                    },
                )
                for person, old, new in changes
            ],
        ),
    )


# --- GET / PUT /meetingPreferences/personalMeetingRoom ---

NOT_PERMITTED = "Not permitted to view or change other user's preferences"


@dataclass(frozen=True)
class PersonalRoom:
    site_url: str
    room_id: str
    access_code: str
    settings: RoomSettings


def _room_owner(
    session: Session, caller: TokenOwner, as_admin: bool, user_email: str | None, site_url: str | None
) -> tuple[PersonOnSite, SiteRow]:
    other = user_email is not None and user_email.strip().lower() != caller.email.lower()
    if other and not as_admin:
        raise Forbidden(NOT_PERMITTED + ".", message=NOT_PERMITTED)
    key, preferred = caller.person_key, caller.preferred_site_id
    if other and user_email is not None:
        owner = person_by_email(
            session.connection(), caller.org_id, user_email, caller.preferred_site_id or 0
        )
        if owner is None:
            raise NotFound(f"No user with the email '{user_email.strip()[:320]}' is in your organisation.")
        key, preferred = owner.key, owner.preferred_site_id
    if preferred is None:  # as Get Site List: the first site the person uses is their default
        preferred = next(iter(person_site_ids(session, key)), None) or caller.preferred_site_id
    site = target_site(session.connection(), replace(caller, preferred_site_id=preferred), site_url)
    person = person_by_key(session.connection(), key, site.id)
    if person is None:  # pragma: no cover - the caller's own row always exists
        raise NotFound("The user is not known.")
    return person, site


def _room(session: Session, person: PersonOnSite, site: SiteRow) -> PersonalRoom:
    room = active_room_id(session.connection(), site.id, person.key) if person.host else None
    if room is None:
        raise NotFound(f"{person.email} has no personal room on {site.site_url} (no host privilege there).")
    seed = f"{site.id}:{person.key}".encode()
    settings = room_settings(session, person.key, site.id) or RoomSettings(
        topic=f"{person.display_name}'s Personal Room"[:128],
        host_pin=rules.default_host_pin(seed),
        enabled_auto_lock=False,
        auto_lock_minutes=10,
        enabled_notify_host=True,
        support_co_host=False,
        support_anyone_as_co_host=False,
        allow_first_user_to_be_co_host=False,
        allow_authenticated_devices=False,
        co_hosts=[],
    )
    return PersonalRoom(site.site_url, room, rules.access_code(seed), settings)


def get_personal_room(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    user_email: str | None,
    site_url: str | None,
) -> PersonalRoom:
    with orm(conn) as session:
        person, site = _room_owner(session, caller, as_admin, user_email, site_url)
        return _room(session, person, site)


def update_personal_room(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    user_email: str | None,
    site_url: str | None,
    settings: RoomSettings,
) -> PersonalRoom:
    """Replace the room's options (the API has checked each value); co-hosts must be users of the org."""
    with orm(conn) as session:
        person, site = _room_owner(session, caller, as_admin, user_email, site_url)
        _room(session, person, site)
        hosts = people_on_site(
            session.connection(),
            caller.org_id,
            site.id,
            [c["email"].strip().lower() for c in settings.co_hosts],
            [],
        )
        known = {p.email.lower(): p for p in hosts}
        unknown = [c["email"] for c in settings.co_hosts if c["email"].strip().lower() not in known]
        if unknown:
            raise BadRequest(
                *[f"coHosts: '{e[:320]}' is not a user of your organisation." for e in unknown[:100]]
            )
        canonical = [
            {"email": known[c["email"].strip().lower()].email, "displayName": c["displayName"]}
            for c in settings.co_hosts
        ]
        settings = replace(settings, co_hosts=canonical)
        save_room_settings(session, person.key, site.id, settings, utcnow())
        return _room(session, person, site)
