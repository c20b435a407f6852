"""Meeting objects in Webex's shapes (MeetingSeriesObject and its scheduled-meeting and instance forms)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from meetadmin.domain.ids import scheduled_meeting_id
from meetadmin.domain.meeting_rules import instance_end
from meetadmin.domain.occurrences import Occurrence
from meetadmin.store.meeting_reads import HostView, InstanceView, SeriesView


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def host_key(series_id: str, host_person_id: str) -> str:
    digest = hashlib.sha256(f"{series_id}:{host_person_id}".encode()).hexdigest()
    return f"{int(digest[:12], 16) % 1_000_000:06d}"


def _base(view: SeriesView, host: HostView) -> dict[str, Any]:
    s = view.series
    site_name = view.site_url.split(".", 1)[0]
    mtid = hashlib.md5(s.id.encode(), usedforsecurity=False).hexdigest()
    return {
        "meetingNumber": s.meeting_number,
        "title": s.title,
        "password": s.password,
        "timezone": s.timezone,
        "hostUserId": host.person_id,
        "hostDisplayName": host.display_name,
        "hostEmail": host.email,
        "hostKey": host_key(s.id, host.person_id),
        "siteUrl": view.site_url,
        "webLink": f"https://{view.site_url}/{site_name}/j.php?MTID=m{mtid}",
        "sipAddress": f"{s.meeting_number}@{view.site_url}",
        "sessionTypeId": int(s.session_type_id) if s.session_type_id.isdigit() else s.session_type_id,
        "scheduledType": s.scheduled_type,
        "enabledAutoRecordMeeting": False,
        "allowAnyUserToBeCoHost": False,
        "enabledJoinBeforeHost": False,
        "enableConnectAudioBeforeHost": False,
        "joinBeforeHostMinutes": 0,
        "excludePassword": False,
        "publicMeeting": False,
        "reminderTime": 10,
        "enableAutomaticLock": False,
        "automaticLockMinutes": 0,
        "allowFirstUserToBeCoHost": False,
        "allowAuthenticatedDevices": False,
        "telephony": {
            "accessCode": s.meeting_number,
            "callInNumbers": [
                {"label": "Call-in toll number", "callInNumber": "+1-415-555-0100", "tollType": "toll"}
            ],
        },
        "enabledBreakoutSessions": False,
    } | ({"agenda": s.agenda} if s.agenda else {})  # an agenda set to null is hidden (Webex)


def series_json(
    view: SeriesView, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    s = view.series
    out = {"id": s.id, **_base(view, view.host)}
    out["meetingType"] = "meetingSeries"
    out["state"] = s.state
    out["start"] = iso(start or s.start)
    out["end"] = iso(end or s.end)
    if s.recurrence:
        out["recurrence"] = s.recurrence
    return out


def scheduled_json(
    view: SeriesView, start: datetime, end: datetime, state: str, occurrence: Occurrence | None = None
) -> dict[str, Any]:
    """A scheduled meeting: its ID keeps the time it was due (``occurrence.original``), and an exception
    shows its own values with ``isModified`` true."""
    s = view.series
    original = occurrence.original if occurrence is not None else start
    out = {"id": scheduled_meeting_id(s.id, original), "meetingSeriesId": s.id, **_base(view, view.host)}
    change = occurrence.change if occurrence is not None else None
    if change is not None:
        for key, value in (("title", change.title), ("agenda", change.agenda), ("password", change.password)):
            if value is not None:
                out[key] = value
        if not out.get("agenda"):
            out.pop("agenda", None)
    out["meetingType"] = "scheduledMeeting"
    out["state"] = state
    out["isModified"] = change is not None
    out["start"] = iso(start)
    out["end"] = iso(end)
    return out


def instance_json(view: InstanceView) -> dict[str, Any]:
    s = view.series.series
    out = {
        "id": view.id,
        "meetingSeriesId": s.id,
        "scheduledMeetingId": scheduled_meeting_id(s.id, view.start),
        **_base(view.series, view.host),
    }
    out["meetingType"] = "meeting"
    out["state"] = view.state
    out["start"] = iso(view.start)
    out["end"] = iso(instance_end(view.start, view.end, s.start, s.end))  # the schema requires it
    if view.state == "ended":
        for hidden in ("meetingNumber", "password", "hostKey", "sipAddress", "telephony"):
            out.pop(hidden, None)
    return out
