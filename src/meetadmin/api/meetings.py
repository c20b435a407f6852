"""GET /v1/meetings/{meetingId}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from meetadmin.api.auth import ADMIN_SCHEDULE_READ, USER_SCHEDULE_READ, Principal, acts_as_admin, authenticate
from meetadmin.api.deps import sessions
from meetadmin.api.meeting_shapes import instance_json, scheduled_json, series_json
from meetadmin.api.responses import json_response
from meetadmin.domain.ids import MeetingIdKind
from meetadmin.services.meetings import FoundMeeting, get_meeting

router = APIRouter(tags=["Meetings"])


def found_json(found: FoundMeeting) -> dict[str, Any]:
    if found.kind is MeetingIdKind.INSTANCE and found.instance is not None:
        return instance_json(found.instance)
    if found.kind is MeetingIdKind.SCHEDULED and found.start and found.end and found.state:
        return scheduled_json(found.series, found.start, found.end, found.state)
    return series_json(found.series, found.start, found.end)


@router.get("/meetings/{meetingId}", summary="Get a Meeting")
def get_meeting_by_id(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    meetingId: str,
    current: Annotated[bool, Query()] = False,
    hostEmail: Annotated[str | None, Query(max_length=320)] = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_READ, USER_SCHEDULE_READ)
    found = get_meeting(sessions(request), principal, as_admin, meetingId, hostEmail, current)
    return json_response(found_json(found))
