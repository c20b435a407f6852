"""POST /v1/meetings/reassignHost (and meetadmin's own dry-run twin, .../reassignHost/preview)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from meetadmin.api.auth import REASSIGN, Principal, authenticate, require_admin
from meetadmin.api.deps import require_json, run_db, units
from meetadmin.api.idempotency import IdempotencyKey, idempotent
from meetadmin.api.responses import json_response
from meetadmin.api.tracking import tracking_id_of
from meetadmin.errors import BadRequest
from meetadmin.services.reassign import ItemVerdict, ReassignOutcome, reassign_hosts
from meetadmin.store.db import Units

router = APIRouter(tags=["Meetings"])


class ReassignMeetingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hostEmail: StrictStr = Field(max_length=320, description="Email address of the new meeting host.")
    meetingIds: list[Annotated[StrictStr, Field(max_length=200)]] = Field(
        min_length=1, max_length=100, description="IDs of the meeting series to reassign (1 to 100)."
    )


def _checked(body: ReassignMeetingRequest) -> ReassignMeetingRequest:
    if "@" not in body.hostEmail or not body.hostEmail.strip():
        raise BadRequest("'hostEmail' must be an email address.")
    seen: set[str] = set()
    for mid in body.meetingIds:
        if mid in seen:
            raise BadRequest(f"'meetingIds' lists '{mid}' more than once; name each meeting once.")
        seen.add(mid)
    return body


def item_json(item: ItemVerdict) -> dict[str, Any]:
    out: dict[str, Any] = {"meetingId": item.meeting_id, "httpStatus": item.status}
    if item.message:
        out["message"] = item.message
        out["errors"] = [{"description": item.description}]
    return out


def check(principal: Principal, body: ReassignMeetingRequest) -> ReassignMeetingRequest:
    """What needs no database: the caller may reassign, and the body makes sense."""
    require_admin(principal, REASSIGN)
    return _checked(body)


def work(
    units: Units,
    principal: Principal,
    site_url: str | None,
    body: ReassignMeetingRequest,
    tracking_id: str,
    apply: bool,
) -> ReassignOutcome:
    """The reassignment itself, on a ``check``ed body."""
    return reassign_hosts(
        units, principal, site_url, body.hostEmail, body.meetingIds, tracking_id, apply=apply
    )


def answer(outcome: ReassignOutcome) -> Response:
    """204 when every meeting moved (or already had this host), else 207 with one item per meeting."""
    if outcome.all_ok:
        return Response(status_code=204)
    return json_response({"items": [item_json(i) for i in outcome.items]}, status_code=207)


@router.post(
    "/meetings/reassignHost",
    status_code=204,
    responses={204: {"description": "All meetings moved."}, 207: {"description": "Some or all failed."}},
    dependencies=[Depends(require_json)],
    summary="Reassign Meetings to a New Host",
)
async def reassign_host(
    request: Request,
    body: ReassignMeetingRequest,
    principal: Annotated[Principal, Depends(authenticate)],
    site_url: Annotated[str | None, Header(alias="siteUrl", max_length=255)] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    require_admin(principal, REASSIGN)

    def handle(given: Units) -> Response:
        checked = check(principal, body)
        return answer(work(given, principal, site_url, checked, tracking_id_of(request), apply=True))

    def canonical() -> dict[str, Any]:
        return {"siteUrl": site_url, "body": body.model_dump()}

    return await run_db(
        request, idempotent, request, principal, idempotency_key, "reassignHost", canonical, handle
    )


@router.post(
    "/meetings/reassignHost/preview",
    dependencies=[Depends(require_json)],
    summary="Preview a reassignment (meetadmin only): the verdict each meeting would get, nothing changed",
)
async def reassign_host_preview(
    request: Request,
    body: ReassignMeetingRequest,
    principal: Annotated[Principal, Depends(authenticate)],
    site_url: Annotated[str | None, Header(alias="siteUrl", max_length=255)] = None,
) -> Response:
    checked = check(principal, body)
    outcome = await run_db(
        request, work, units(request), principal, site_url, checked, tracking_id_of(request), False
    )
    return json_response({"items": [item_json(i) for i in outcome.items]})
