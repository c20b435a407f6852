"""Delete a Meeting: a whole series, or one scheduled meeting (an exception marking it deleted).

Ended instances stay with the hosts who ran them (history is kept). With ``sendEmail`` (the default) a
delete by someone other than the host queues a ``meetingCancelled`` notice to the host. Work for
``Writer.write``: all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from meetadmin.domain.ids import scheduled_meeting_id
from meetadmin.domain.occurrences import OccurrenceChange
from meetadmin.domain.people import TokenOwner
from meetadmin.services.common import utcnow
from meetadmin.services.meeting_target import MeetingChange, Target, audit, find_target
from meetadmin.store.meeting_exceptions import delete_series, save_change
from meetadmin.store.notices import MEETING_CANCELLED, NewNotice, add_notices


def delete_meeting(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    meeting_id: str,
    host_email: str | None,
    send_email: bool,
    tracking_id: str,
) -> MeetingChange:
    now = utcnow()
    target = find_target(conn, caller, as_admin, meeting_id, host_email if as_admin else None, now)
    s = target.series.series
    if target.occurrence is None:
        kept = delete_series(conn, s.id, now)
        data: dict[str, object] = {"endedInstancesKept": kept}
    else:
        save_change(conn, s.id, OccurrenceChange(target.occurrence.original, deleted=True), now)
        data = {"start": target.occurrence.start.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if as_admin:
        audit(conn, caller, now, tracking_id, "deleteMeeting", target, data)
    notify = send_email and target.series.host.key != caller.person_key
    if notify:
        add_notices(conn, now, [_cancelled_notice(caller, target, tracking_id)])
    return MeetingChange("deleted", target, None, caller, as_admin, notice_sent=notify)


def _cancelled_notice(caller: TokenOwner, target: Target, tracking_id: str) -> NewNotice:
    view = target.series
    occ = target.occurrence
    what = "meeting series" if occ is None else "scheduled meeting"
    payload: dict[str, Any] = {
        "meetingId": target.meeting_id,
        "meetingSeriesId": view.series.id,
        "meetingType": target.kind.value,
        "title": target.title,
        "siteUrl": view.site_url,
        "reason": f"The {what} was deleted by {caller.email}.",
        "trackingId": tracking_id,
        # what the e-mail says (outbound/mail.py): who deleted what, and when it was to take place
        "deleted": True,
        "what": what,
        "hostName": view.host.display_name,
        "changedBy": caller.email,
        "timezone": view.series.timezone,
        "start": view.series.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recurrence": view.series.recurrence,
    }
    if occ is not None:
        payload["scheduledMeetingId"] = scheduled_meeting_id(view.series.id, occ.original)
        payload["start"] = occ.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        payload["recurrence"] = None
    return NewNotice(caller.org_id, MEETING_CANCELLED, view.host.email, f"Cancelled: {target.title}", payload)
