"""Session types: the site's (admin), a user's (admin, read and replace), and the host's own view.

- GET /v1/admin/meeting/config/sessionTypes
- GET and PUT /v1/admin/meeting/userconfig/sessionTypes
- GET /v1/meetings/sessionTypes and /v1/meetings/sessionTypes/{sessionTypeId}
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from meetadmin.api.auth import (
    ADMIN_CONFIG_READ,
    ADMIN_CONFIG_WRITE,
    ADMIN_SCHEDULE_READ,
    USER_SCHEDULE_READ,
    Principal,
    acts_as_admin,
    authenticate,
    require_admin,
)
from meetadmin.api.deps import writer
from meetadmin.api.responses import json_response
from meetadmin.api.tracking import tracking_id_of
from meetadmin.domain.session_types import SessionTypeRow
from meetadmin.errors import BadRequest, NotFound
from meetadmin.services.session_types import (
    UserTypes,
    host_types,
    list_site_types,
    list_user_types,
    update_user_types,
)

router = APIRouter(tags=["Session Types"])

# Attendee capacity by kind (meetadmin does not model capacity per type).
CAPACITY = {"meeting": 1000, "webinar": 10000, "privateMeeting": 1000}


def _type_json(t: SessionTypeRow) -> dict[str, Any]:
    return {"id": t.id, "shortName": t.short_name, "name": t.name, "type": t.kind}


def _user_json(u: UserTypes) -> dict[str, Any]:
    return {
        "personId": u.person_id,
        "email": u.email,
        "siteUrl": u.site_url,
        "sessionTypes": [_type_json(t) for t in u.types],
    }


def _host_json(t: SessionTypeRow) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "type": t.kind, "attendeesCapacity": CAPACITY.get(t.kind, 1000)}


@router.get("/admin/meeting/config/sessionTypes", summary="List Site Session Types")
async def list_site_session_types(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    siteUrl: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    require_admin(principal, ADMIN_CONFIG_READ)
    site_url, types = await writer(request).read(lambda conn: list_site_types(conn, principal, siteUrl))
    return json_response({"items": [{**_type_json(t), "siteUrl": site_url} for t in types]})


@router.get("/admin/meeting/userconfig/sessionTypes", summary="List User Session Type")
async def list_user_session_types(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    siteUrl: Annotated[str | None, Query(max_length=255)] = None,
    personId: Annotated[str | None, Query(max_length=255)] = None,
    email: Annotated[str | None, Header(max_length=320)] = None,
) -> Response:
    require_admin(principal, ADMIN_CONFIG_READ)
    users = await writer(request).read(
        lambda conn: list_user_types(conn, principal, siteUrl, personId, email)
    )
    return json_response({"items": [_user_json(u) for u in users]})


class UpdateUserSessionType(BaseModel):
    model_config = ConfigDict(extra="ignore")

    siteUrl: StrictStr = Field(min_length=1, max_length=255)
    personId: StrictStr | None = Field(default=None, max_length=255)
    email: StrictStr | None = Field(default=None, max_length=320)
    sessionTypeIds: list[Annotated[StrictStr, Field(min_length=1, max_length=32)]] = Field(max_length=100)


@router.put(
    "/admin/meeting/userconfig/sessionTypes",
    summary="Update User Session Types",
)
async def update_user_session_types(
    request: Request,
    body: UpdateUserSessionType,
    principal: Annotated[Principal, Depends(authenticate)],
) -> Response:
    require_admin(principal, ADMIN_CONFIG_WRITE)
    if not (body.personId and body.personId.strip()) and not (body.email and body.email.strip()):
        raise BadRequest("Name the user with 'personId' or 'email'.")
    tid = tracking_id_of(request)
    updated = await writer(request).write(
        lambda conn: update_user_types(
            conn, principal, body.siteUrl, body.personId, body.email, body.sessionTypeIds, tid
        )
    )
    return json_response(_user_json(updated))


@router.get("/meetings/sessionTypes", summary="List Meeting Session Types")
async def list_meeting_session_types(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    hostEmail: Annotated[str | None, Query(max_length=320)] = None,
    siteUrl: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_READ, USER_SCHEDULE_READ)
    types = await writer(request).read(lambda conn: host_types(conn, principal, as_admin, hostEmail, siteUrl))
    return json_response({"items": [_host_json(t) for t in types]})


@router.get("/meetings/sessionTypes/{sessionTypeId}", summary="Get a Meeting Session Type")
async def get_meeting_session_type(
    request: Request,
    sessionTypeId: str,
    principal: Annotated[Principal, Depends(authenticate)],
    hostEmail: Annotated[str | None, Query(max_length=320)] = None,
    siteUrl: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_SCHEDULE_READ, USER_SCHEDULE_READ)
    wanted = _type_number(sessionTypeId)
    types = await writer(request).read(lambda conn: host_types(conn, principal, as_admin, hostEmail, siteUrl))
    found = next((t for t in types if t.id == wanted), None)
    if found is None:
        raise NotFound(f"The host holds no session type {wanted} on this site.")
    return json_response(_host_json(found))


def _type_number(text: str) -> str:
    """The path's session type ID: a number (Webex types it so); ``3`` and ``3.0`` both mean "3"."""
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number < 0 or number != int(number) or len(text) > 32:
        raise BadRequest(f"'sessionTypeId' must be a number (got '{text[:32]}').")
    return str(int(number))
