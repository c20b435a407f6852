"""GET /v1/adminAudit/events (List Admin Audit Events): reassignments, personal room ID refreshes and
session type changes, as Webex ``AuditEvent`` objects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from meetadmin.api.auth import AUDIT_READ, Principal, authenticate, require_admin
from meetadmin.api.deps import writer
from meetadmin.api.link_paging import whole_number
from meetadmin.api.people import plain_json
from meetadmin.domain.audit import AuditRow
from meetadmin.domain.meeting_rules import RuleError, parse_instant
from meetadmin.errors import BadRequest
from meetadmin.services.audit import AuditQuery, audit_events

router = APIRouter(tags=["Admin Audit Events"])

MAX_EVENTS = 200

_DESCRIPTIONS = {
    "reassignHost": "A meeting series was reassigned to a new host",
    "refreshPersonalMeetingRoomId": "A personal room ID was refreshed",
    "updateUserSessionTypes": "A user's session types were changed",
}


def _stamp(row: AuditRow) -> str:
    return row.created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{row.created.microsecond // 1000:03d}Z"


def _action_text(row: AuditRow) -> str:
    d, who = row.data, row.actor_name
    site = d.get("siteUrl", "")
    if row.action == "reassignHost":
        return (
            f"{who} reassigned the meeting '{d.get('title', row.target_name)}' on {site} "
            f"from {d.get('oldHostEmail', '?')} to {d.get('newHostEmail', '?')}"
        )
    if row.action == "refreshPersonalMeetingRoomId":
        return (
            f"{who} changed the personal room ID of {d.get('email', row.target_name)} on {site} "
            f"from {d.get('oldPersonalMeetingRoomId') or 'none'} to {d.get('newPersonalMeetingRoomId')}"
        )
    if row.action == "updateUserSessionTypes":
        after = ", ".join(str(t) for t in d.get("after", [])) or "none"
        return f"{who} set the session types of {d.get('email', row.target_name)} on {site} to: {after}"
    return f"{who} performed {row.action} on {row.target_name or row.target_id}"


def event_json(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "created": _stamp(row),
        "actorId": row.actor_id,
        "actorOrgId": row.org_webex_id,
        "data": {
            "actorName": row.actor_name,
            "actorEmail": row.actor_email,
            "actorOrgName": row.org_name,
            "adminRoles": ["Full_Admin"] if row.actor_is_admin else ["User"],
            "targetId": row.target_id,
            "targetType": row.target_type,
            "targetName": row.target_name,
            "targetOrgId": row.org_webex_id,
            "targetOrgName": row.org_name,
            "eventCategory": row.category,
            "eventDescription": _DESCRIPTIONS.get(row.action, row.action),
            "actionText": _action_text(row),
            "trackingId": row.tracking_id,
        },
    }


def _instant(name: str, value: str) -> Any:
    try:
        return parse_instant(value, name)
    except RuleError as exc:
        raise BadRequest(str(exc)) from exc


@router.get("/adminAudit/events", summary="List Admin Audit Events")
async def list_admin_audit_events(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    orgId: Annotated[str, Query(max_length=255)],
    from_: Annotated[str, Query(alias="from", max_length=64)],
    to: Annotated[str, Query(max_length=64)],
    actorId: Annotated[str | None, Query(max_length=255)] = None,
    max: Annotated[str | None, Query(max_length=32)] = None,
    offset: Annotated[str | None, Query(max_length=32)] = None,
    eventCategories: Annotated[list[str] | None, Query(max_length=1000)] = None,
) -> Response:
    require_admin(principal, AUDIT_READ)
    categories = None
    if eventCategories:
        categories = [c.strip() for raw in eventCategories for c in raw.split(",") if c.strip()]
    query = AuditQuery(
        org_webex_id=orgId.strip(),
        start=_instant("from", from_),
        end=_instant("to", to),
        actor_id=actorId.strip() if actorId and actorId.strip() else None,
        categories=categories or None,
        offset=min(whole_number("offset", offset, 0, 0), 1_000_000),
        max=min(whole_number("max", max, 100, 1), MAX_EVENTS),
    )
    rows = await writer(request).read(lambda conn: audit_events(conn, principal, query))
    return plain_json({"items": [event_json(r) for r in rows]})
