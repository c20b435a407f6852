"""Why a meeting series can or cannot move to a new host: the rules of Reassign Meetings to a New Host.

Each function here is pure: it looks only at the values it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from meetadmin.domain.ids import MeetingIdKind

NOT_FOUND = "The requested resource could not be found."
BAD_REQUEST = "The request was invalid or cannot be otherwise served."
FORBIDDEN = "The request is understood, but it has been refused or access is not allowed."
CONFLICT = "The request could not be processed because it conflicts with some established rule of the system."

# Session type kinds that can never move (Training Center, Event Center 1.0, Support Center).
UNMOVABLE_KINDS = {"TrainCenter": "TC", "EventCenter": "EC 1.0", "SupportCenter": "SC"}
IN_PROGRESS_STATES = frozenset({"inProgress", "lobby"})


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    description: str


class SeriesFacts(NamedTuple):
    """What the rules need to know about one meeting series (a named tuple: a reassignment builds one
    per series, and a tuple is built several times faster than a frozen dataclass)."""

    id: str
    site_url: str
    host_key: int
    scheduled_type: str
    state: str
    session_type_id: str
    session_type_kind: str | None
    callback: bool
    integration: str | None
    scheduled_on_behalf: bool


@dataclass(frozen=True)
class NewHost:
    """What the rules need to know about the new host on the target site."""

    key: int
    email: str
    host: bool
    license_meeting: bool
    license_webinar: bool
    calling: bool
    session_type_ids: frozenset[str]


def host_refusal(host: NewHost | None, site_url: str, email: str) -> Refusal | None:
    """The whole-request check: 403 unless the new host is a user who may host on the site."""
    if host is None or not host.host:
        return Refusal(
            403,
            FORBIDDEN,
            f"The user {email} is not qualified to be a host of the site {site_url}: "
            "they must be a Webex user of this organisation with host privilege on the site.",
        )
    return None


def id_refusal(kind: MeetingIdKind) -> Refusal | None:
    """Only meeting series IDs may be reassigned."""
    if kind is MeetingIdKind.SERIES:
        return None
    if kind is MeetingIdKind.SCHEDULED:
        what = "a scheduled meeting"
    elif kind is MeetingIdKind.INSTANCE:
        what = "a meeting instance"
    else:
        return not_found()
    return Refusal(
        400,
        BAD_REQUEST,
        f"The ID is {what}; only IDs of meeting series can be reassigned. Use its meetingSeriesId instead.",
    )


def not_found() -> Refusal:
    return Refusal(404, NOT_FOUND, "The meeting is not found.")


def why_not_reassignable(
    series: SeriesFacts, host: NewHost, site_url: str, allow_third_party: bool
) -> Refusal | None:
    """The per-meeting rules, in the order a person would want to hear them. ``None`` means it can move."""
    if series.site_url.lower() != site_url.lower():
        return Refusal(
            400,
            BAD_REQUEST,
            f"The meeting belongs to the site {series.site_url}, not to the target site {site_url}; "
            "all meetings of one request must be on the target site.",
        )
    if series.scheduled_type == "personalRoomMeeting":
        return Refusal(
            400,
            BAD_REQUEST,
            "The meeting is a scheduled personal room meeting; personal room meetings cannot be reassigned.",
        )
    kind = series.session_type_kind
    if kind in UNMOVABLE_KINDS:
        return Refusal(
            400,
            BAD_REQUEST,
            f"The meeting is a {UNMOVABLE_KINDS[kind]} meeting ({kind}); "
            "TC, EC 1.0 and SC meetings cannot be reassigned.",
        )
    if series.scheduled_on_behalf:
        return Refusal(
            400,
            BAD_REQUEST,
            "The meeting was scheduled on behalf of its host by someone else; "
            "meetings created on behalf of a host cannot be reassigned.",
        )
    if series.integration and not allow_third_party:
        return Refusal(
            400,
            BAD_REQUEST,
            f"The meeting comes from a third-party integration ({series.integration}); "
            "this site does not allow reassigning such meetings.",
        )
    if series.state in IN_PROGRESS_STATES:
        return Refusal(
            409,
            CONFLICT,
            "The meeting is in progress; it can be reassigned once it has ended.",
        )
    if series.host_key == host.key:
        return None  # already hosted by the new host: repeating a reassignment is harmless
    if series.callback and not host.calling:
        return Refusal(
            403,
            FORBIDDEN,
            f"The meeting uses calling/callback audio and {host.email} has no calling/callback privilege.",
        )
    if series.session_type_id not in host.session_type_ids:
        return Refusal(
            403,
            FORBIDDEN,
            f"The meeting uses session type {series.session_type_id} and {host.email} "
            "does not have that session type's privilege.",
        )
    if kind in ("meeting", "privateMeeting") and not host.license_meeting:
        return Refusal(
            403,
            FORBIDDEN,
            f"The meeting is a Meeting Center (MC) meeting and {host.email} has no MC licence.",
        )
    if (kind == "webinar" or series.scheduled_type == "webinar") and not host.license_webinar:
        return Refusal(
            403,
            FORBIDDEN,
            f"The meeting is a webinar and {host.email} has no Webinar licence.",
        )
    return None
