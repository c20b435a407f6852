"""Personal rooms: POST /v1/admin/meetingPreferences/personalMeetingRoom/refreshId and
GET/PUT /v1/meetingPreferences/personalMeetingRoom."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from sqlalchemy import Connection

from meetadmin.api.auth import (
    ADMIN_PREFERENCES_READ,
    ADMIN_PREFERENCES_WRITE,
    REFRESH_PMR,
    USER_PREFERENCES_READ,
    USER_PREFERENCES_WRITE,
    Principal,
    acts_as_admin,
    authenticate,
    require_admin,
)
from meetadmin.api.deps import writer
from meetadmin.api.operations import Headers, Operation
from meetadmin.api.responses import json_response
from meetadmin.domain.pmr import (
    AUTO_LOCK_MINUTES,
    RoomIdRequest,
    RoomSettings,
    host_pin_problem,
    room_link,
    sip_address,
)
from meetadmin.errors import BadRequest
from meetadmin.services.pmr import (
    REFRESH_RETRY,
    PersonalRoom,
    RefreshOutcome,
    RefreshRequest,
    RoomIdProblems,
    check_refresh,
    get_personal_room,
    refresh_room_ids,
    update_personal_room,
)

router = APIRouter(tags=["Meeting Preferences"])

DIAL_IN_IP = "173.243.2.68"
CALL_IN_NUMBERS = [
    {"label": "Call-in toll number", "callInNumber": "+1-415-555-0100", "tollType": "toll"},
    {"label": "Call-in toll-free number", "callInNumber": "+1-866-555-0100", "tollType": "tollFree"},
]


class PMRIDItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: StrictStr | None = Field(default=None, max_length=320)
    personId: StrictStr | None = Field(default=None, max_length=255)
    systemGenerated: StrictBool | None = None
    personalMeetingRoomId: StrictStr | None = Field(default=None, max_length=1000)


class BatchRefreshPMRID(BaseModel):
    model_config = ConfigDict(extra="ignore")

    siteUrl: StrictStr = Field(max_length=255, description="Site URL to refresh the personal room IDs.")
    personalMeetingRoomIds: list[PMRIDItem] = Field(
        min_length=1, max_length=100, description="Whose personal room IDs to refresh and how (1 to 100)."
    )


def _problem_json(problems: RoomIdProblems) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in problems.problems:
        entry: dict[str, Any] = {"description": p.description}
        if p.index is not None:
            item = problems.items[p.index]
            if item.email:
                entry["email"] = item.email
            if item.person_id:
                entry["personId"] = item.person_id
            if item.room_id is not None:
                entry["personalMeetingRoomId"] = item.room_id
        out.append(entry)
    return out


def _refused(problems: RoomIdProblems) -> BadRequest:
    """A refused refresh in Webex's error shape, each entry naming its item."""
    return BadRequest(message=problems.message, entries=_problem_json(problems))


def _check(principal: Principal, _headers: Headers, body: BatchRefreshPMRID) -> RefreshRequest:
    """What needs no database (a request that can't be read as a whole is refused here)."""
    require_admin(principal, REFRESH_PMR)
    if not body.siteUrl.strip():
        raise BadRequest("'siteUrl' is required: the site whose personal room IDs to refresh.")
    items = [
        RoomIdRequest(i.email, i.personId, i.systemGenerated, i.personalMeetingRoomId)
        for i in body.personalMeetingRoomIds
    ]
    try:
        return check_refresh(principal, body.siteUrl, items)
    except RoomIdProblems as problems:
        raise _refused(problems) from None


def _refresh(conn: Connection, request: RefreshRequest, tracking_id: str) -> RefreshOutcome:
    try:
        return refresh_room_ids(conn, request, tracking_id)
    except RoomIdProblems as problems:
        raise _refused(problems) from None


def _answer(outcome: RefreshOutcome) -> Response:
    return json_response(
        {
            "siteUrl": outcome.site_url,
            "personalMeetingRoomIds": [
                {"email": r.email, "personId": r.person_id, "personalMeetingRoomId": r.room_id}
                for r in outcome.rooms
            ],
        }
    )


REFRESH_ID = Operation(
    name="refreshPersonalMeetingRoomId",
    method="POST",
    path="/admin/meetingPreferences/personalMeetingRoom/refreshId",
    summary="Batch Refresh Personal Meeting Room ID",
    model=BatchRefreshPMRID,
    check=_check,
    work=_refresh,
    answer=_answer,
    idempotent=True,
    retry=REFRESH_RETRY,
    items=lambda request: len(request.items),
    tags=("Meeting Preferences",),
)
OPERATIONS = [REFRESH_ID]


class CoHost(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: StrictStr = Field(min_length=1, max_length=320)
    displayName: StrictStr = Field(max_length=256)


class UpdatePMR(BaseModel):
    model_config = ConfigDict(extra="ignore")

    topic: StrictStr = Field(min_length=1, max_length=128)
    hostPin: StrictStr = Field(max_length=32)
    enabledAutoLock: StrictBool
    autoLockMinutes: StrictInt | StrictFloat
    enabledNotifyHost: StrictBool
    supportCoHost: StrictBool
    supportAnyoneAsCoHost: StrictBool = False
    allowFirstUserToBeCoHost: StrictBool = False
    allowAuthenticatedDevices: StrictBool = False
    coHosts: list[CoHost] = Field(max_length=100)


def _settings(body: UpdatePMR) -> RoomSettings:
    problems: list[str] = []
    if not body.topic.strip():
        problems.append("'topic' must have 1 to 128 characters, not only spaces.")
    pin = host_pin_problem(body.hostPin)
    if pin:
        problems.append(pin)
    if body.autoLockMinutes not in AUTO_LOCK_MINUTES:
        problems.append(f"'autoLockMinutes' must be one of {', '.join(str(m) for m in AUTO_LOCK_MINUTES)}.")
    seen: set[str] = set()
    for c in body.coHosts:
        key = c.email.strip().lower()
        if key in seen:
            problems.append(f"coHosts: '{c.email}' is listed more than once.")
        seen.add(key)
    if problems:
        raise BadRequest(*problems)
    return RoomSettings(
        topic=body.topic,
        host_pin=body.hostPin,
        enabled_auto_lock=body.enabledAutoLock,
        auto_lock_minutes=int(body.autoLockMinutes),
        enabled_notify_host=body.enabledNotifyHost,
        support_co_host=body.supportCoHost,
        support_anyone_as_co_host=body.supportAnyoneAsCoHost,
        allow_first_user_to_be_co_host=body.allowFirstUserToBeCoHost,
        allow_authenticated_devices=body.allowAuthenticatedDevices,
        co_hosts=[{"email": c.email.strip(), "displayName": c.displayName} for c in body.coHosts],
    )


def pmr_json(room: PersonalRoom) -> dict[str, Any]:
    s = room.settings
    return {
        "topic": s.topic,
        "hostPin": s.host_pin,
        "personalMeetingRoomLink": room_link(room.site_url, room.room_id),
        "enabledAutoLock": s.enabled_auto_lock,
        "autoLockMinutes": s.auto_lock_minutes,
        "enabledNotifyHost": s.enabled_notify_host,
        "supportCoHost": s.support_co_host,
        "supportAnyoneAsCoHost": s.support_anyone_as_co_host,
        "allowFirstUserToBeCoHost": s.allow_first_user_to_be_co_host,
        "allowAuthenticatedDevices": s.allow_authenticated_devices,
        "coHosts": s.co_hosts,
        "sipAddress": sip_address(room.site_url, room.room_id),
        "dialInIpAddress": DIAL_IN_IP,
        "telephony": {"accessCode": room.access_code, "callInNumbers": CALL_IN_NUMBERS},
    }


UserEmail = Annotated[
    str | None, Query(max_length=320, description="Admin on-behalf: the user whose personal room to use.")
]
SiteUrl = Annotated[
    str | None, Query(max_length=255, description="The site; default: the user's preferred site.")
]


@router.get("/meetingPreferences/personalMeetingRoom", summary="Get Personal Meeting Room Options")
async def get_personal_meeting_room(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    userEmail: UserEmail = None,
    siteUrl: SiteUrl = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_PREFERENCES_READ, USER_PREFERENCES_READ)
    room = await writer(request).read(
        lambda conn: get_personal_room(conn, principal, as_admin, userEmail, siteUrl)
    )
    return json_response(pmr_json(room))


@router.put(
    "/meetingPreferences/personalMeetingRoom",
    summary="Update Personal Meeting Room Options",
)
async def update_personal_meeting_room(
    request: Request,
    body: UpdatePMR,
    principal: Annotated[Principal, Depends(authenticate)],
    userEmail: UserEmail = None,
    siteUrl: SiteUrl = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_PREFERENCES_WRITE, USER_PREFERENCES_WRITE)
    settings = _settings(body)
    room = await writer(request).write(
        lambda conn: update_personal_room(conn, principal, as_admin, userEmail, siteUrl, settings)
    )
    return json_response(pmr_json(room))
