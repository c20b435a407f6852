"""GET /v1/meetings (List Meetings), POST /v1/meetings (Create a Meeting), GET /v1/meetings/{meetingId}
(Get a Meeting), and PATCH / PUT / DELETE /v1/meetings/{meetingId} (Patch, Update, Delete a Meeting)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy import Connection

from meetadmin.api.auth import (
    ADMIN_SCHEDULE_READ,
    ADMIN_SCHEDULE_WRITE,
    USER_SCHEDULE_READ,
    USER_SCHEDULE_WRITE,
    Principal,
    acts_as_admin,
    authenticate,
)
from meetadmin.api.deps import writer
from meetadmin.api.link_paging import decode_cursor, next_link, page_size
from meetadmin.api.meeting_shapes import instance_json, scheduled_json, series_json
from meetadmin.api.meeting_wire import (
    CreateMeetingRequest,
    UpdateMeetingRequest,
    create_command,
    patch_command,
)
from meetadmin.api.responses import json_response
from meetadmin.api.tracking import tracking_id_of
from meetadmin.domain.ids import MeetingIdKind
from meetadmin.domain.meeting_rules import (
    MEETING_TYPES,
    SCHEDULED_TYPES,
    STATES,
    RuleError,
    parse_instant,
    series_state,
    zone,
)
from meetadmin.errors import BadRequest
from meetadmin.outbound.events import add_meeting_event
from meetadmin.services.common import utcnow
from meetadmin.services.meeting_create import create_meeting
from meetadmin.services.meeting_delete import delete_meeting
from meetadmin.services.meeting_list import list_meetings
from meetadmin.services.meeting_list_types import Listed, ListQuery
from meetadmin.services.meeting_target import MeetingChange, Target
from meetadmin.services.meeting_update import update_meeting
from meetadmin.services.meetings import FoundMeeting, get_meeting, scheduled_state

router = APIRouter(tags=["Meetings"])

MAX_PAGE = 100


def found_json(found: FoundMeeting) -> dict[str, Any]:
    if found.kind is MeetingIdKind.INSTANCE and found.instance is not None:
        return instance_json(found.instance)
    if found.kind is MeetingIdKind.SCHEDULED and found.start and found.end and found.state:
        return scheduled_json(found.series, found.start, found.end, found.state, found.occurrence)
    out = series_json(found.series, found.start, found.end)
    s = found.series.series
    now = utcnow()
    out["state"] = series_state(s.state, s.start, s.end, s.recurrence, now, s.timezone)  # expired once past
    return out


def target_json(target: Target, now: datetime) -> dict[str, Any]:
    """A changed (or deleted) series or scheduled meeting as a MeetingObjectForListMeeting."""
    view = target.series
    occ = target.occurrence
    if occ is not None:
        return scheduled_json(view, occ.start, occ.end, scheduled_state(occ.start, occ.end, now), occ)
    out = series_json(view)
    s = view.series
    out["meetingSeriesId"] = s.id
    out["state"] = series_state(s.state, s.start, s.end, s.recurrence, now, s.timezone)
    return out


def listed_json(item: Listed) -> dict[str, Any]:
    """A MeetingObjectForListMeeting: series items carry ``meetingSeriesId`` too (their own ID)."""
    if item.instance is not None:
        return instance_json(item.instance)
    if item.kind is MeetingIdKind.SCHEDULED and item.end is not None:
        return scheduled_json(item.series, item.start, item.end, item.state, item.occurrence)
    out = series_json(item.series, item.start, item.end)
    out["meetingSeriesId"] = item.series.series.id
    out["state"] = item.state
    return out


def localised(item: dict[str, Any], tz: ZoneInfo | None) -> dict[str, Any]:
    """Timestamps in the zone of the ``timezone`` request header (UTC without one)."""
    if tz is None:
        return item
    for key in ("start", "end"):
        value = item.get(key)
        if isinstance(value, str) and value.endswith("Z"):
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            item[key] = moment.astimezone(tz).isoformat()
    return item


def _zone(header: str | None) -> ZoneInfo | None:
    try:
        return zone(header)
    except RuleError as exc:
        raise BadRequest(f"The 'timezone' header: {exc}") from exc


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise BadRequest(f"'{name}' must be one of: {', '.join(allowed)} (got '{value[:64]}').")
    return value


def _instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value, name)
    except RuleError as exc:
        raise BadRequest(str(exc)) from exc


@router.get("/meetings", summary="List Meetings")
async def list_meetings_route(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    meetingNumber: Annotated[str | None, Query(max_length=64)] = None,
    webLink: Annotated[str | None, Query(max_length=2048)] = None,
    roomId: Annotated[str | None, Query(max_length=512)] = None,
    meetingSeriesId: Annotated[str | None, Query(max_length=200)] = None,
    max: Annotated[str | None, Query(max_length=32)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
    meetingType: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    scheduledType: Annotated[str | None, Query(max_length=32)] = None,
    isModified: Annotated[bool | None, Query()] = None,
    hasChat: Annotated[bool | None, Query()] = None,
    hasRecording: Annotated[bool | None, Query()] = None,
    hasTranscription: Annotated[bool | None, Query()] = None,
    hasSummary: Annotated[bool | None, Query()] = None,
    hasClosedCaption: Annotated[bool | None, Query()] = None,
    hasPolls: Annotated[bool | None, Query()] = None,
    hasQA: Annotated[bool | None, Query()] = None,
    hasSlido: Annotated[bool | None, Query()] = None,
    current: Annotated[bool, Query()] = True,
    hostEmail: Annotated[str | None, Query(max_length=320)] = None,
    siteUrl: Annotated[str | None, Query(max_length=255)] = None,
    integrationTag: Annotated[str | None, Query(max_length=256)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    timezone: Annotated[str | None, Header(max_length=64)] = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_READ, USER_SCHEDULE_READ)
    has = (hasChat, hasRecording, hasTranscription, hasSummary, hasClosedCaption, hasPolls, hasQA, hasSlido)
    tz = _zone(timezone)
    query = ListQuery(
        meeting_type=_one_of("meetingType", meetingType, MEETING_TYPES),
        state=_one_of("state", state, STATES),
        scheduled_type=_one_of("scheduledType", scheduledType, SCHEDULED_TYPES),
        start=_instant("from", from_),
        end=_instant("to", to),
        series_id=meetingSeriesId.strip() if meetingSeriesId and meetingSeriesId.strip() else None,
        host_email=hostEmail,
        site_url=siteUrl,
        max=page_size(max, 10, MAX_PAGE),
        current=current,
        meeting_number=meetingNumber.strip() if meetingNumber and meetingNumber.strip() else None,
        never_matches=bool(webLink or roomId or integrationTag),
        is_modified=isModified,
        wants_content=any(flag is True for flag in has),
        cursor=decode_cursor(cursor),
    )
    page = await writer(request).read(lambda conn: list_meetings(conn, principal, as_admin, query))
    items = [localised(listed_json(item), tz) for item in page.items]
    return json_response({"items": items}, headers=next_link(request, page.next))


@router.post("/meetings", summary="Create a Meeting")
async def create_meeting_route(
    request: Request,
    body: CreateMeetingRequest,
    principal: Annotated[Principal, Depends(authenticate)],
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_WRITE, USER_SCHEDULE_WRITE)
    command = create_command(body)
    created = await writer(request).write(lambda conn: create_meeting(conn, principal, as_admin, command))
    return json_response(series_json(created))


@router.get("/meetings/{meetingId}", summary="Get a Meeting")
async def get_meeting_by_id(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    meetingId: str,
    current: Annotated[bool, Query()] = False,
    hostEmail: Annotated[str | None, Query(max_length=320)] = None,
    timezone: Annotated[str | None, Header(max_length=64)] = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_READ, USER_SCHEDULE_READ)
    tz = _zone(timezone)
    found = await writer(request).read(
        lambda conn: get_meeting(conn, principal, as_admin, meetingId, hostEmail, current)
    )
    return json_response(localised(found_json(found), tz))


def _updated(change: MeetingChange) -> dict[str, Any]:
    """The answer to PATCH / PUT: the series or scheduled meeting after the change."""
    assert change.after is not None
    return target_json(change.after, utcnow())


def _announce(conn: Connection, change: MeetingChange, data: dict[str, Any]) -> None:
    """The ``updated`` / ``deleted`` webhook event (contract-notes §9.4), in the change's transaction:
    ``data`` is the meeting after the change, or as it was before a delete (the outbox leaves out
    ``password``, ``hostKey`` and ``telephony``). A change that changed nothing fires nothing."""
    if change.action == "updated" and not change.changed:
        return
    target = change.after or change.before
    series = target.series
    if target.occurrence is None:  # as GET /v1/meetings/{meetingId} shows a series (no meetingSeriesId)
        data = {k: v for k, v in data.items() if k != "meetingSeriesId"}
    add_meeting_event(
        conn,
        change.actor.org_id,
        change.actor.person_id,
        change.action,
        data,
        series.series.id,
        series.series.site_id,
        series.host.key,
    )


def _update_work(
    conn: Connection, principal: Principal, as_admin: bool, meeting_id: str, patch: Any, tid: str
) -> dict[str, Any]:
    change = update_meeting(conn, principal, as_admin, meeting_id, patch, tid)
    answer = _updated(change)
    _announce(conn, change, answer)
    return answer


def _delete_work(
    conn: Connection,
    principal: Principal,
    as_admin: bool,
    meeting_id: str,
    host: str | None,
    send_email: bool,
    tid: str,
) -> None:
    change = delete_meeting(conn, principal, as_admin, meeting_id, host, send_email, tid)
    _announce(conn, change, target_json(change.before, utcnow()))


async def _update(
    request: Request, principal: Principal, meeting_id: str, body: UpdateMeetingRequest
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_WRITE, USER_SCHEDULE_WRITE)
    patch = patch_command(body)
    tracking_id = tracking_id_of(request)
    answer = await writer(request).write(
        lambda conn: _update_work(conn, principal, as_admin, meeting_id, patch, tracking_id)
    )
    return json_response(answer)


@router.patch("/meetings/{meetingId}", summary="Patch a Meeting")
async def patch_meeting_route(
    request: Request,
    body: UpdateMeetingRequest,
    principal: Annotated[Principal, Depends(authenticate)],
    meetingId: str,
) -> Response:
    return await _update(request, principal, meetingId, body)


@router.put("/meetings/{meetingId}", summary="Update a Meeting")
async def update_meeting_route(
    request: Request,
    body: UpdateMeetingRequest,
    principal: Annotated[Principal, Depends(authenticate)],
    meetingId: str,
) -> Response:
    return await _update(request, principal, meetingId, body)


@router.delete("/meetings/{meetingId}", summary="Delete a Meeting", status_code=204)
async def delete_meeting_route(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    meetingId: str,
    hostEmail: Annotated[str | None, Query(max_length=320)] = None,
    sendEmail: Annotated[bool, Query()] = True,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_WRITE, USER_SCHEDULE_WRITE)
    host = hostEmail.strip() if hostEmail and hostEmail.strip() else None
    tracking_id = tracking_id_of(request)
    await writer(request).write(
        lambda conn: _delete_work(conn, principal, as_admin, meetingId, host, sendEmail, tracking_id)
    )
    return Response(status_code=204)
