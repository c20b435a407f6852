"""Webex ID formats.

- meeting series: 32 lowercase hex (``870f51ff287b41be84648412901e0402``)
- scheduled meeting: ``<series>_<YYYYMMDD>T<HHMMSS>Z`` (the occurrence's UTC start)
- meeting instance: ``<series>_I_<digits>``
- people, orgs, roles and licences: base64url of ``ciscospark://us/<KIND>/<value>`` without padding
  (``PEOPLE``, ``ORGANIZATION``, ``ROLE``, ``LICENSE``), made by ``spark_id``; ``spark_id_parts`` reads
  one back
"""

from __future__ import annotations

import base64
import random
import re
import secrets
import time as _time
import uuid
from datetime import datetime
from enum import Enum
from typing import NamedTuple

SERIES_RE = re.compile(r"[0-9a-f]{32}")
SCHEDULED_RE = re.compile(r"([0-9a-f]{32})_(\d{8}T\d{6}Z)")
INSTANCE_RE = re.compile(r"([0-9a-f]{32})_I_(\d{1,30})")
_NAMESPACE = uuid.UUID("6b1f3c1e-7f0c-4b8e-9a51-3c7d2f6a9e10")
_LICENCE_NAMESPACE = uuid.UUID("0f5c8b1e-2f44-4c59-9d1e-6a2b1d7c3e42")
FULL_ADMIN_ROLE = "id_full_admin"


class MeetingIdKind(Enum):
    SERIES = "meetingSeries"
    SCHEDULED = "scheduledMeeting"
    INSTANCE = "meeting"
    UNKNOWN = "unknown"


class ParsedMeetingId(NamedTuple):
    kind: MeetingIdKind
    series_id: str
    occurrence_start: datetime | None = None


def parse_meeting_id(value: str) -> ParsedMeetingId:
    """Tell which kind of meeting ID ``value`` is and which series it belongs to."""
    if SERIES_RE.fullmatch(value):
        return ParsedMeetingId(MeetingIdKind.SERIES, value)
    match = SCHEDULED_RE.fullmatch(value)
    if match:
        try:
            start = datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ")
        except ValueError:
            return ParsedMeetingId(MeetingIdKind.UNKNOWN, "")
        return ParsedMeetingId(MeetingIdKind.SCHEDULED, match.group(1), start)
    match = INSTANCE_RE.fullmatch(value)
    if match:
        return ParsedMeetingId(MeetingIdKind.INSTANCE, match.group(1))
    return ParsedMeetingId(MeetingIdKind.UNKNOWN, "")


def scheduled_meeting_id(series_id: str, start: datetime) -> str:
    return f"{series_id}_{start.strftime('%Y%m%dT%H%M%SZ')}"


def new_series_id() -> str:
    return uuid.uuid4().hex


def new_instance_id(series_id: str) -> str:
    return f"{series_id}_I_{secrets.randbelow(9 * 10**17) + 10**17}"


def new_meeting_number() -> str:
    return str(secrets.randbelow(9 * 10**9) + 10**9)


def spark_id(kind: str, value: str) -> str:
    """The Webex ID of a ``kind`` (``PEOPLE``, ``ORGANIZATION``, ``ROLE``, ``LICENSE``) named ``value``."""
    raw = f"ciscospark://us/{kind}/{value}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def spark_id_parts(webex_id: str) -> tuple[str, str] | None:
    """``(kind, value)`` of an ID made by ``spark_id``; None when ``webex_id`` is not one."""
    try:
        raw = base64.urlsafe_b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, sep, rest = raw.partition("ciscospark://us/")
    kind, slash, value = rest.partition("/")
    if prefix or not sep or not slash or not kind or not value:
        return None
    return kind, value


def person_id_for(email: str) -> str:
    """A stable Webex-style person ID derived from an email (fixtures reload to the same IDs)."""
    return spark_id("PEOPLE", str(uuid.uuid5(_NAMESPACE, "person:" + email.lower())))


def org_webex_id_for(org_key: str) -> str:
    return spark_id("ORGANIZATION", str(uuid.uuid5(_NAMESPACE, "org:" + org_key)))


def role_id(role: str) -> str:
    return spark_id("ROLE", role)


def licence_id(org_id: str, site_url: str, kind: str) -> str:
    """A stable licence ID per organisation, site and kind (``meeting`` or ``webinar``)."""
    return spark_id("LICENSE", str(uuid.uuid5(_LICENCE_NAMESPACE, f"{org_id}:{site_url.lower()}:{kind}")))


_UUID7_BITS = (0x7 << 76) | (0x2 << 62)  # version 7, RFC 4122 variant
_UUID7_RANDOM = ((1 << 80) - 1) & ~(0xF << 76) & ~(0x3 << 62)  # the random bits around them


def ordered_uuids(count: int) -> list[str]:
    """``count`` time-ordered UUIDs (version 7) of this millisecond, in ascending order.

    Unique, not secret: the random module (reseeded in every forked process) spares a getrandom
    system call per ID, and a 100-person refresh makes 100 of them. The random bits are drawn once per
    call and the last 48 count up from there (RFC 9562's "monotonic random"), so all but the last group
    is formatted once."""
    stamp = (int(_time.time() * 1000) << 80) | _UUID7_BITS
    h = f"{stamp | (random.getrandbits(80) & _UUID7_RANDOM):032x}"  # as str(uuid.UUID(int=...))
    head = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-"
    tail = int(h[20:], 16)
    if tail + count > _TAIL_END:  # no wrap-around: the IDs stay in order
        tail = _TAIL_END - count
    return [f"{head}{n:012x}" for n in range(tail, tail + count)]


_TAIL_END = 1 << 48


def tracking_id() -> str:
    """A tracking ID in Webex's form: 32 uppercase hex, underscore, epoch milliseconds."""
    return f"{uuid.uuid4().hex.upper()}_{int(_time.time() * 1000)}"
