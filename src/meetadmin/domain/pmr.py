"""Personal room IDs: what a valid one looks like and how a site's rule generates one."""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from dataclasses import dataclass

ROOM_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{2,63}")
ROOM_ID_RULE_TEXT = (
    "A personal room ID has 3 to 64 characters: letters, digits, '.', '-' and '_', "
    "starting with a letter or a digit."
)


@dataclass(frozen=True)
class RoomIdRule:
    """``prefix + site_code + digits`` random digits, e.g. ``prABCD23670651``."""

    prefix: str
    site_code: str
    digits: int

    def generate(self) -> str:
        return self.generate_many(1)[0]

    def generate_many(self, count: int) -> list[str]:
        """``count`` new IDs from one read of the system's secure random source: 16 random bytes per
        ID, taken modulo 10**digits (a bias below 1e-18 for the rule's 20 digits at most)."""
        pool = secrets.token_bytes(16 * count)
        space = 10**self.digits
        return [
            f"{self.prefix}{self.site_code}{int.from_bytes(pool[i : i + 16]) % space:0{self.digits}d}"
            for i in range(0, 16 * count, 16)
        ]


def is_valid_room_id(value: str) -> bool:
    return ROOM_ID_RE.fullmatch(value) is not None


def room_key(value: str) -> str:
    """Personal room IDs are unique per site regardless of case."""
    return value.lower()


def room_link(site_url: str, room_id: str) -> str:
    return f"https://{site_url}/meet/{room_id}"


def sip_address(site_url: str, room_id: str) -> str:
    return f"{room_id}@{site_url}"


# --- Batch Refresh Personal Meeting Room ID: the shape of a request (contract-notes §3.2, §7.5) ---

ROOM_ID_IN_USE = "Personal meeting room ID is being used by someone else."


@dataclass(frozen=True)
class RoomIdRequest:
    """One item of ``personalMeetingRoomIds`` as the client sent it."""

    email: str | None = None
    person_id: str | None = None
    system_generated: bool | None = None
    room_id: str | None = None

    def label(self, index: int) -> str:
        """How an error names this item: by its email, else its personId, else its position."""
        if self.email:
            return f"'{self.email[:320]}'"
        if self.person_id:
            return f"personId '{self.person_id[:255]}'"
        return f"item {index + 1}"


@dataclass(frozen=True)
class Problem:
    """What is wrong with one item (``index``) or, with ``index`` None, with the whole request."""

    index: int | None
    description: str


def request_problems(items: list[RoomIdRequest]) -> list[Problem]:
    """Rules that need no database: identification and ID modes, valid IDs, no ID asked for twice."""
    problems: list[Problem] = []
    only_email = [bool(i.email) and not i.person_id for i in items]
    only_person = [bool(i.person_id) and not i.email for i in items]
    if any(only_email) and any(only_person):
        problems.append(
            Problem(None, "Identify every item the same way: all by 'email' or all by 'personId', not a mix.")
        )
    for n, item in enumerate(items):
        if not item.email and not item.person_id:
            problems.append(Problem(n, f"{item.label(n)} names nobody: give 'email' or 'personId'."))

    generated = [i.system_generated is True for i in items]
    explicit = [i.room_id is not None for i in items]
    for n, item in enumerate(items):
        if generated[n] and explicit[n]:
            problems.append(
                Problem(
                    n,
                    f"{item.label(n)} has both 'personalMeetingRoomId' and 'systemGenerated: true'; "
                    "give one of them.",
                )
            )
        elif not generated[n] and not explicit[n]:
            problems.append(
                Problem(n, f"{item.label(n)} needs 'personalMeetingRoomId' or 'systemGenerated: true'.")
            )
    mixed = any(g and not e for g, e in zip(generated, explicit, strict=True)) and any(
        e and not g for g, e in zip(generated, explicit, strict=True)
    )
    if mixed:
        problems.append(
            Problem(
                None,
                "Either every item has 'personalMeetingRoomId' or every item has 'systemGenerated: true'; "
                "this request mixes the two.",
            )
        )

    seen: dict[str, int] = {}
    for n, item in enumerate(items):
        if item.room_id is None or generated[n]:
            continue
        if not is_valid_room_id(item.room_id):
            problems.append(
                Problem(
                    n,
                    f"{item.label(n)}: '{item.room_id[:80]}' is not a valid personal room ID. "
                    + ROOM_ID_RULE_TEXT,
                )
            )
            continue
        key = room_key(item.room_id)
        if key in seen:
            problems.append(
                Problem(
                    n,
                    f"{item.label(n)}: the personal room ID '{item.room_id}' is also asked for by "
                    f"{items[seen[key]].label(seen[key])}; each ID can go to one person only.",
                )
            )
        else:
            seen[key] = n
    return problems


# --- Host PIN of a personal room (contract-notes §3.7) ---

HOST_PIN_LENGTH = 4
AUTO_LOCK_MINUTES = (0, 5, 10, 15, 20)


def host_pin_problem(pin: str, length: int = HOST_PIN_LENGTH) -> str | None:
    """Why ``pin`` can't be a host PIN (digits of the site's length, no runs like 1234/4321, no 1111)."""
    if len(pin) != length or not pin.isascii() or not pin.isdigit():
        return f"'hostPin' must be exactly {length} digits."
    if len(set(pin)) == 1:
        return f"'hostPin' must not repeat one digit ({pin})."
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {-1}):
        return f"'hostPin' must not be a run of sequential digits ({pin})."
    return None


def default_host_pin(seed: bytes, length: int = HOST_PIN_LENGTH) -> str:
    """A stable, valid host PIN derived from ``seed`` (used until the owner sets one)."""
    counter = 0
    while True:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "big")).hexdigest()
        pin = "".join(str(int(c, 16) % 10) for c in digest[:length])
        if host_pin_problem(pin, length) is None:
            return pin
        counter += 1


def access_code(seed: bytes) -> str:
    """A stable 10-digit teleconference access code derived from ``seed``."""
    digest = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")
    return str(1_000_000_000 + digest % 9_000_000_000)


@dataclass(frozen=True)
class RoomSettings:
    topic: str
    host_pin: str
    enabled_auto_lock: bool
    auto_lock_minutes: int
    enabled_notify_host: bool
    support_co_host: bool
    support_anyone_as_co_host: bool
    allow_first_user_to_be_co_host: bool
    allow_authenticated_devices: bool
    co_hosts: list[dict[str, str]]
