"""POST /v1/meetings/reassignHost (and meetadmin's own dry-run twin, .../reassignHost/preview)."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Connection

from meetadmin.api.auth import REASSIGN, Principal, require_admin
from meetadmin.api.operations import Headers, Operation
from meetadmin.api.responses import json_response
from meetadmin.errors import BadRequest
from meetadmin.services.reassign import ItemVerdict, ReassignOutcome, reassign_hosts


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


def _check(principal: Principal, headers: Headers, body: ReassignMeetingRequest) -> _Checked:
    """What needs no database: the caller may reassign, and the body makes sense."""
    require_admin(principal, REASSIGN)
    return _Checked(principal, headers["siteUrl"], _checked(body))


class _Checked(NamedTuple):
    caller: Principal
    site_url: str | None
    body: ReassignMeetingRequest


def _move(conn: Connection, checked: _Checked, tracking_id: str) -> ReassignOutcome:
    return reassign_hosts(
        conn, checked.caller, checked.site_url, checked.body.hostEmail, checked.body.meetingIds, tracking_id
    )


def _preview(conn: Connection, checked: _Checked, tracking_id: str) -> ReassignOutcome:
    caller, site_url, body = checked
    return reassign_hosts(conn, caller, site_url, body.hostEmail, body.meetingIds, tracking_id, apply=False)


def _answer(outcome: ReassignOutcome) -> Response:
    """204 when every meeting moved (or already had this host), else 207 with one item per meeting."""
    if outcome.all_ok:
        return Response(status_code=204)
    return json_response({"items": [item_json(i) for i in outcome.items]}, status_code=207)


def _preview_answer(outcome: ReassignOutcome) -> Response:
    return json_response({"items": [item_json(i) for i in outcome.items]})


def _canonical(headers: Headers, body: ReassignMeetingRequest) -> Any:
    return {"siteUrl": headers["siteUrl"], "body": body.model_dump()}


REASSIGN_HOST = Operation(
    name="reassignHost",
    method="POST",
    path="/meetings/reassignHost",
    summary="Reassign Meetings to a New Host",
    model=ReassignMeetingRequest,
    reads=("siteUrl",),
    check=_check,
    work=_move,
    answer=_answer,
    idempotent=True,
    canonical=_canonical,
    items=lambda checked: len(checked.body.meetingIds),
    status_code=204,
    responses={204: {"description": "All meetings moved."}, 207: {"description": "Some or all failed."}},
)
PREVIEW = Operation(
    name="reassignHostPreview",
    method="POST",
    path="/meetings/reassignHost/preview",
    summary="Preview a reassignment (meetadmin only): the verdict each meeting would get, nothing changed",
    model=ReassignMeetingRequest,
    reads=("siteUrl",),
    check=_check,
    work=_preview,
    answer=_preview_answer,
    write=False,
    fast=False,
)
OPERATIONS = [REASSIGN_HOST, PREVIEW]
