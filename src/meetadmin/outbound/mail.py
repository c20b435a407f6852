"""Notices as e-mails: the plain-text body from the notice's payload (Jinja2 templates in
``templates/``) and the RFC 5322 message sent through SMTP and shown in the mailbox.

Rendering is a pure function of the stored notice, so a notice reads the same whenever it is sent or
read: a meeting's time is its next occurrence at the notice's creation (or its start when none is
left), in the meeting's own time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined

from meetadmin.domain.occurrences import occurrence_starts
from meetadmin.store.notices import MEETING_CANCELLED, ROOM_CHANGED, NoticeRow

_TEMPLATES = Environment(
    loader=PackageLoader("meetadmin.outbound", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # plain text, never HTML
)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _instant(value: Any) -> datetime | None:
    """A payload's ISO 8601 time as naive UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def local_time(instant: datetime, zone: ZoneInfo) -> str:
    """``Thursday 1 October 2026, 18:00 CEST (Europe/Berlin)``: a naive UTC time in ``zone``."""
    t = instant.replace(tzinfo=UTC).astimezone(zone)
    name = t.tzname() or zone.key
    return (
        f"{_DAYS[t.weekday()]} {t.day} {_MONTHS[t.month - 1]} {t.year}, {t.hour:02d}:{t.minute:02d} {name}"
        + ("" if name == zone.key else f" ({zone.key})")
    )


def meeting_time(payload: dict[str, Any], created: datetime) -> str:
    """The meeting's next occurrence at ``created`` (its start when none is left), in its time zone."""
    start = _instant(payload.get("start"))
    if start is None:
        return "(time not recorded)"
    rule = payload.get("recurrence") or None
    try:
        when = next((s for s in occurrence_starts(start, rule) if s >= created), start)
    except (ValueError, TypeError):  # a rule dateutil no longer reads: say the start
        when = start
    return local_time(when, _zone(payload.get("timezone")))


def _cancelled(notice: NoticeRow) -> dict[str, Any]:
    p = notice.payload
    return {
        "host_name": p.get("hostName") or notice.recipient,
        "title": p.get("title", ""),
        "site_url": p.get("siteUrl", ""),
        "new_host": p.get("newHostEmail") or "a new host",
        "changed_by": p.get("changedBy") or "An administrator",
        "meeting_id": p.get("meetingId", ""),
        "recurring": bool(p.get("recurrence")),
        "when": meeting_time(p, notice.created),
        "deleted": bool(p.get("deleted")),
        "what": p.get("what") or "meeting",
    }


def room_link(site_url: str, room_id: str) -> str:
    return f"https://{site_url}/meet/{room_id}"


def _room(notice: NoticeRow) -> dict[str, Any]:
    p = notice.payload
    return {
        "name": p.get("displayName") or notice.recipient,
        "site_url": p.get("siteUrl", ""),
        "link": room_link(p.get("siteUrl", ""), p.get("newRoomId", "")),
        "new_id": p.get("newRoomId", ""),
        "old_id": p.get("oldRoomId"),
        "changed_by": p.get("changedBy") or "An administrator",
    }


def _other(notice: NoticeRow) -> dict[str, Any]:
    return {"subject": notice.subject, "details": sorted((k, str(v)) for k, v in notice.payload.items())}


_KINDS = {
    MEETING_CANCELLED: ("meeting_cancelled.txt", _cancelled),
    ROOM_CHANGED: ("room_changed.txt", _room),
}


def body_text(notice: NoticeRow) -> str:
    """The notice's plain-text body."""
    name, context = _KINDS.get(notice.kind, ("notice.txt", _other))
    return _TEMPLATES.get_template(name).render(notice_id=notice.id, **context(notice))


def recipient_name(notice: NoticeRow) -> str:
    p = notice.payload
    return str(p.get("hostName") or p.get("displayName") or "")


def message_id(notice: NoticeRow, sender: str) -> str:
    """Stable for one notice, so a message sent twice (at least once delivery) can be recognised."""
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    stamp = int(notice.created.replace(tzinfo=UTC).timestamp() * 1_000_000)
    return f"<notice-{notice.id}.{stamp}@{domain}>"


def message(notice: NoticeRow, sender: str) -> EmailMessage:
    """The notice as an RFC 5322 message from ``sender``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((recipient_name(notice), notice.recipient))
    msg["Subject"] = notice.subject
    msg["Date"] = format_datetime(notice.created.replace(tzinfo=UTC))
    msg["Message-ID"] = message_id(notice, sender)
    msg.set_content(body_text(notice))
    return msg
