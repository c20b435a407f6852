"""Reassign Meetings to a New Host: load in a few queries, decide per meeting, apply in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection

from meetadmin.domain import reassign as rules
from meetadmin.domain.ids import MeetingIdKind, parse_meeting_id
from meetadmin.domain.people import TokenOwner
from meetadmin.domain.webhooks import Registration
from meetadmin.errors import Forbidden
from meetadmin.outbound.events import EventItem, add_events, listening_later
from meetadmin.services.common import audit_batch, target_site_with_host, utcnow
from meetadmin.store.audit import add_audit_batch
from meetadmin.store.meetings import SeriesRow, series_for_reassign_later, set_host
from meetadmin.store.notices import MEETING_CANCELLED, NewNotice, add_notices


class ItemVerdict(NamedTuple):
    meeting_id: str
    status: int
    message: str | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class ReassignOutcome:
    items: list[ItemVerdict]
    moved: int

    @property
    def all_ok(self) -> bool:
        return all(item.ok for item in self.items)


def reassign_hosts(
    conn: Connection,
    caller: TokenOwner,
    site_url: str | None,
    host_email: str,
    meeting_ids: list[str],
    tracking_id: str,
    apply: bool = True,
) -> ReassignOutcome:
    """Move ``meeting_ids`` to ``host_email``, or with ``apply=False`` only say what would happen (in a
    write transaction when applying: the series are locked)."""
    parsed = {mid: parse_meeting_id(mid) for mid in meeting_ids}
    wanted = {p.series_id for p in parsed.values() if p.kind is not MeetingIdKind.UNKNOWN}
    # The series and the webhooks listening are asked for first: on PostgreSQL they come in the site's
    # and host's round trip.
    load_series = series_for_reassign_later(conn, caller.org_id, sorted(wanted), lock=apply)
    hooks = listening_later(conn, caller.org_id, "meetings", "updated") if apply else None
    site, host = target_site_with_host(conn, caller, site_url, host_email)
    refusal = rules.host_refusal(host, site.site_url, host_email.strip())
    if refusal is not None or host is None:
        raise Forbidden(refusal.description if refusal else "", message=refusal.message if refusal else None)
    series = load_series()

    verdicts: list[ItemVerdict] = []
    moving: list[str] = []
    for mid in meeting_ids:
        p = parsed[mid]
        row = series.get(p.series_id)
        refusal = rules.not_found() if row is None else rules.id_refusal(p.kind)
        if refusal is None and row is not None:
            refusal = rules.why_not_reassignable(
                row.facts, host, site.site_url, site.allow_third_party_reassign
            )
        if refusal is not None:
            verdicts.append(ItemVerdict(mid, refusal.status, refusal.message, refusal.description))
            continue
        verdicts.append(ItemVerdict(mid, 200))
        if row is not None and row.facts.host_key != host.key:
            moving.append(mid)

    if hooks is not None and moving:  # applying (a preview asks for no webhooks)
        _apply(conn, caller, site.site_url, host.key, host.email, moving, series, tracking_id, hooks())
    return ReassignOutcome(verdicts, len(moving) if apply else 0)


def _apply(
    conn: Connection,
    caller: TokenOwner,
    site_url: str,
    host_key: int,
    host_email: str,
    moving: list[str],
    series: dict[str, SeriesRow],
    tracking_id: str,
    hooks: list[Registration],
) -> None:
    """Move the series; per series an audit event, the old host's cancellation notice and the
    ``updated`` webhook event (which carries the host before the move)."""
    now = utcnow()
    set_host(conn, moving, host_key, now)
    reason = f"The meeting was reassigned to {host_email} by {caller.email}."
    targets = []
    notices = []
    for mid in moving:
        row = series[mid]
        title = row.title
        targets.append(
            (
                mid,
                title,
                {
                    "meetingId": mid,
                    "title": title,
                    "siteUrl": site_url,
                    "oldHostEmail": row.host_email,
                    "newHostEmail": host_email,
                },
            )
        )
        notices.append(
            NewNotice(
                caller.org_id,
                MEETING_CANCELLED,
                row.host_email,
                f"Cancelled: {title}",
                {
                    "meetingId": mid,
                    "title": title,
                    "siteUrl": site_url,
                    "reason": reason,
                    "trackingId": tracking_id,
                    "hostName": row.host_display_name,
                    "newHostEmail": host_email,
                    "changedBy": caller.email,
                    "start": row.start,
                    "timezone": row.timezone,
                    "recurrence": row.recurrence,
                },
            )
        )
    add_audit_batch(
        conn,
        audit_batch(
            caller,
            now,
            tracking_id,
            category="MEETINGS",
            action="reassignHost",
            target_type="MEETING_SERIES",
            targets=targets,
        ),
    )
    add_notices(conn, now, notices)
    moved = [EventItem(mid, series[mid].facts.host_key) for mid in moving]
    add_events(conn, caller.org_id, caller.person_id, "updated", "meetings", moved, hooks)
