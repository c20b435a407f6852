"""Batch Refresh Personal Meeting Room ID: who gets which ID, decided from values alone.

The service loads the people and rooms of a request, the functions here decide, and the service carries
the decision out. Nothing here reads or writes anything:

* ``wanted_people`` says whom to look up; ``identify`` says whom each item names, or why it names nobody
  who may have a personal room (unknown, no host privilege, named twice);
* ``IdChooser`` picks generated IDs: the service draws candidates from the site's rule and looks them
  up, the chooser says which candidates to look up and takes the free ones;
* ``plan_rooms`` decides, per person, what becomes of the rows: keep, respell or take back one's own
  ID, or give up the current one and take a new one (deleting someone else's expired quarantine).

IDs are unique per site regardless of case (``room_key``); an ID given up stays reserved to its former
owner until its quarantine runs out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from meetadmin.domain.pmr import ROOM_ID_IN_USE, Problem, RoomIdRequest, room_key

GENERATE_ROUNDS = 40


class Person(NamedTuple):
    """A person of the organisation as the refresh sees them on the site."""

    key: int
    person_id: str
    email: str
    host: bool
    display_name: str = ""  # for the notice the person gets


class Room(NamedTuple):
    """A personal room ID of the site: held (``active``) or quarantined until ``reserved_until``."""

    id: int
    person_key: int
    room_id: str
    room_key: str
    active: bool
    reserved_until: datetime | None


# One person's ID changed (one audit event): (person, old ID, new ID). A plain tuple: a refresh of 100
# makes 100 of these, and a named tuple costs ten times as much to make.
Change = tuple[Person, str | None, str]


@dataclass
class Plan:
    """What to do to the site's rooms (row IDs), and the changes to audit."""

    delete: list[int] = field(default_factory=list)  # someone else's expired quarantine
    release: list[int] = field(default_factory=list)  # current IDs given up: into quarantine
    reclaim: list[tuple[int, str]] = field(default_factory=list)  # (row, spelling): one's own, active again
    add: list[tuple[int, str, str]] = field(default_factory=list)  # (person key, ID, key), by key
    changes: list[Change] = field(default_factory=list)

    def all_new(self, people: int) -> bool:
        """Does every one of ``people`` give up what they hold for an ID new to the site, and nothing
        else happen? (What the quick path can carry out.)"""
        return not self.delete and not self.reclaim and len(self.add) == people


def too_few_ids(site_url: str) -> str:
    return (
        f"The personal room ID rule of {site_url} has too few free IDs left to generate new ones; "
        "ask for specific IDs instead, or widen the site's rule."
    )


def by_person_id(items: Sequence[RoomIdRequest]) -> bool:
    """Items name people by personId when every one has one; else by email."""
    return all(i.person_id for i in items)


def wanted_people(items: Sequence[RoomIdRequest]) -> tuple[list[str], list[str]]:
    """Whom to look up: lower-cased emails, or person IDs (one of the two lists is empty)."""
    if by_person_id(items):
        return [], [i.person_id or "" for i in items]
    return [(i.email or "").strip().lower() for i in items], []


def identify(
    items: Sequence[RoomIdRequest], found: Iterable[Person], site_url: str, shape: Sequence[Problem]
) -> tuple[list[Person | None], list[Problem]]:
    """The person each item names (None for an item with a problem), and every problem so far:
    ``shape`` (what ``request_problems`` found) and, per item, unknown to the organisation (or an email
    and a personId of two different people), no host privilege on the site, or a person named before."""
    pids = by_person_id(items)
    found_by = {(p.person_id if pids else p.email.lower()): p for p in found}
    problems = list(shape)
    people: list[Person | None] = []
    seen: dict[int, int] = {}
    for n, item in enumerate(items):
        people.append(None)
        if not item.email and not item.person_id:
            continue  # already a problem: names nobody
        email = (item.email or "").strip().lower()
        person = found_by.get((item.person_id or "") if pids else email)
        mismatch = person is not None and (
            (pids and bool(item.email) and email != person.email.lower())
            or (not pids and bool(item.person_id) and item.person_id != person.person_id)
        )
        if person is None or mismatch:
            problems.append(Problem(n, f"{item.label(n)} is not a user of your organisation."))
        elif not person.host:
            problems.append(
                Problem(n, f"{item.label(n)} has no host privilege on {site_url}, so has no personal room.")
            )
        elif person.key in seen:
            first = seen[person.key]
            problems.append(
                Problem(
                    n,
                    f"{item.label(n)} is the same person as {items[first].label(first)}; "
                    "name each person once.",
                )
            )
        else:
            seen[person.key] = n
            people[n] = person
    for p in problems:  # items with a problem take no further part
        if p.index is not None:
            people[p.index] = None
    return people, problems


def wanted_keys(items: Sequence[RoomIdRequest]) -> list[str]:
    """The keys of the IDs asked for explicitly (whose rows the plan must see)."""
    return [room_key(i.room_id) for i in items if i.room_id is not None and i.system_generated is not True]


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Whole-request problems first, then by item."""
    return sorted(problems, key=lambda p: -1 if p.index is None else p.index)


def free_for(row: Room | None, person_key: int, now: datetime) -> bool:
    """May ``person_key`` take the ID of ``row``? Yes if nobody holds it, it is theirs, or its
    quarantine has run out."""
    if row is None or row.person_key == person_key:
        return True
    return not row.active and row.reserved_until is not None and row.reserved_until <= now


def plan_rooms(
    people: Sequence[Person | None], targets: Sequence[str], rows: Iterable[Room], now: datetime
) -> tuple[Plan, list[Problem]]:
    """What becomes of the rows when each person (None: takes no part) gets the ID ``targets[n]``.

    ``rows`` must hold every person's current room and every row under the targets' keys. A target held
    or reserved by someone else is a problem (``ROOM_ID_IN_USE``). One's current ID is kept (a new
    spelling is changed in place), one's own quarantined ID is taken back; otherwise the current one is
    given up and the new one added, replacing someone else's expired quarantine."""
    plan = Plan()
    problems: list[Problem] = []
    by_key: dict[str, Room] = {}
    current: dict[int, Room] = {}
    for r in rows:
        by_key[r.room_key] = r
        if r.active:
            current[r.person_key] = r
    for n, person in enumerate(people):
        if person is None:
            continue
        target = targets[n]
        key = room_key(target)
        row = by_key.get(key)
        mine = current.get(person.key)
        if row is not None and not free_for(row, person.key, now):
            problems.append(Problem(n, ROOM_ID_IN_USE))
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
                plan.delete.append(row.id)
            plan.add.append((person.key, target, key))
        plan.changes.append((person, None if mine is None else mine.room_id, target))
    plan.add.sort(key=itemgetter(2))
    return plan, problems


class IdChooser:
    """Generated IDs for everyone: never one that is held, reserved (even to the person), the person's
    current one, or one chosen for another item of the request. Someone else's expired quarantine may
    be reused (the plan then deletes its row).

    Rounds: ``propose(drawn)`` takes one drawn ID per person still ``pending`` (in item order) and
    returns the candidate keys whose rows the caller must look up; ``accept(rows found)`` keeps the free
    candidates. A drawn ID seen before (in this request, or a row already known) is not a candidate."""

    def __init__(self, people: Sequence[Person | None], rows: Iterable[Room], now: datetime) -> None:
        self.people = people
        self.now = now
        self.known = {r.room_key: r for r in rows}
        self.current = {r.person_key: r.room_key for r in self.known.values() if r.active}
        self.found: list[Room] = []  # rows learnt under candidates
        self.chosen: dict[int, str] = {}
        self.used: set[str] = set()
        self.waiting = [n for n, p in enumerate(people) if p is not None]
        self.candidates: dict[int, tuple[str, str]] = {}  # item -> (ID, key)

    @property
    def pending(self) -> int:
        """How many people still need an ID (how many to draw next)."""
        return len(self.waiting)

    def propose(self, drawn: Sequence[str]) -> list[str]:
        """One drawn ID per waiting person; the keys to look up."""
        self.candidates = {}
        for n, value in zip(self.waiting, drawn, strict=True):
            key = room_key(value)
            if key not in self.used and key not in self.known:
                self.candidates[n] = (value, key)
                self.used.add(key)
        return [key for _value, key in self.candidates.values()]

    def accept(self, rows: Iterable[Room]) -> None:
        """The rows found under the proposed keys; free candidates are chosen."""
        for row in rows:
            self.known[row.room_key] = row
            self.found.append(row)
        still: list[int] = []
        for n in self.waiting:
            person = self.people[n]
            candidate = self.candidates.get(n)
            if person is None or candidate is None:
                still.append(n)
                continue
            value, key = candidate
            held = self.known.get(key)
            if key == self.current.get(person.key) or (
                held is not None
                and (held.person_key == person.key or not free_for(held, person.key, self.now))
            ):
                still.append(n)
                continue
            self.chosen[n] = value
        self.waiting = still
        self.candidates = {}

    def targets(self) -> list[str]:
        """Each item's ID ("" for an item without a person)."""
        return [self.chosen.get(n, "") for n in range(len(self.people))]


def choose_ids(
    chooser: IdChooser,
    draw: Callable[[int], list[str]],
    look_up: Callable[[list[str]], Iterable[Room]],
    first: Sequence[str] | None = None,
    rounds: int = GENERATE_ROUNDS,
) -> bool:
    """Run the chooser's rounds: ``draw(n)`` IDs from the site's rule (``first``, if given, as the first
    round's), ``look_up(keys)`` the rows under them; True once everyone has an ID, False if ``rounds``
    were not enough (the rule has too few free IDs)."""
    for n in range(rounds):
        if not chooser.pending:
            break
        drawn = first if n == 0 and first is not None else draw(chooser.pending)
        chooser.accept(look_up(chooser.propose(drawn)))
    return not chooser.pending
