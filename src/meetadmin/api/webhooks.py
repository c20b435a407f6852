"""``/v1/webhooks``: the five official webhook operations, for the ``meetings`` resource (contract-notes
§8.1). ``secret`` is never returned; lists page with ``max`` and ``Link: <...>; rel="next"``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from meetadmin.api.auth import Principal, authenticate
from meetadmin.api.deps import writer
from meetadmin.api.link_paging import decode_cursor, next_link, page_size
from meetadmin.api.responses import json_response
from meetadmin.domain.webhooks import APP_ID, WebhookRow
from meetadmin.errors import BadRequest
from meetadmin.services.webhooks import (
    DELETE_RETRY,
    NewWebhook,
    WebhookChange,
    check_change,
    check_new,
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhooks,
    update_webhook,
)

router = APIRouter(tags=["Webhooks"])

MAX_PAGE = 100
_TEXT = 4096  # longest field accepted at all; the rules then say what fits


class CreateWebhookRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr = Field(max_length=_TEXT, description="A user-friendly name for the webhook.")
    targetUrl: StrictStr = Field(
        max_length=_TEXT, description="URL that receives POST requests for each event."
    )
    resource: StrictStr = Field(max_length=_TEXT, description="Only 'meetings'.")
    event: StrictStr = Field(
        max_length=_TEXT, description="created, updated, deleted, started, ended or all."
    )
    filter: StrictStr | None = Field(
        default=None, max_length=_TEXT, description="hostUserId, hostEmail (ownedBy=org only), siteUrl."
    )
    secret: StrictStr | None = Field(default=None, max_length=_TEXT, description="Signs each payload.")
    ownedBy: StrictStr | None = Field(default=None, max_length=_TEXT, description="creator (default) or org.")


class UpdateWebhookRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr = Field(max_length=_TEXT)
    targetUrl: StrictStr = Field(max_length=_TEXT)
    secret: StrictStr | None = Field(default=None, max_length=_TEXT)
    status: StrictStr | None = Field(default=None, max_length=_TEXT, description="'active' reactivates.")


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def webhook_json(row: WebhookRow) -> dict[str, Any]:
    """The Webhook object (without ``secret``, ever)."""
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "targetUrl": row.target_url,
        "resource": row.resource,
        "event": row.event,
    }
    if row.filter:
        out["filter"] = row.filter
    out.update(
        {
            "orgId": row.org_webex_id,
            "createdBy": row.creator_person_id,
            "appId": APP_ID,
            "ownedBy": row.owned_by,
            "status": row.status,
            "created": stamp(row.created),
        }
    )
    return out


@router.get("/webhooks", summary="List Webhooks")
async def list_all(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    max_: Annotated[str | None, Query(alias="max", max_length=32)] = None,
    owned_by: Annotated[str | None, Query(alias="ownedBy", max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    limit = page_size(max_, MAX_PAGE, MAX_PAGE)
    if owned_by is not None and owned_by != "org":
        raise BadRequest("'ownedBy' can only be 'org' (to list the organisation's webhooks).")
    position = decode_cursor(cursor)
    after: tuple[datetime, str] | None = None
    if position is not None:
        try:
            after = (datetime.fromisoformat(str(position["c"])), str(position["i"]))
        except (KeyError, ValueError) as exc:
            raise BadRequest("The 'cursor' parameter is not valid; follow the Link header's URL.") from exc
    rows = await writer(request).read(
        lambda conn: list_webhooks(conn, principal, owned_by == "org", after, limit + 1)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    headers = next_link(request, {"c": rows[-1].created.isoformat(), "i": rows[-1].id} if more else None)
    return json_response({"items": [webhook_json(r) for r in rows]}, headers=headers)


@router.post("/webhooks", summary="Create a Webhook")
async def create(
    request: Request, body: CreateWebhookRequest, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    new = NewWebhook(
        name=body.name,
        target_url=body.targetUrl,
        resource=body.resource,
        event=body.event,
        filter=body.filter,
        secret=body.secret,
        owned_by=body.ownedBy or "creator",
    )
    check_new(principal, new)  # 400/403 without touching the database
    row = await writer(request).write(lambda conn: create_webhook(conn, principal, new))
    return json_response(webhook_json(row))


@router.get("/webhooks/{webhookId}", summary="Get Webhook Details")
async def get_one(
    request: Request, webhookId: str, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    row = await writer(request).read(lambda conn: get_webhook(conn, principal, webhookId))
    return json_response(webhook_json(row))


_FORM_NAMES = {"target_url": "targetUrl", "owned_by": "ownedBy"}


async def update_body(request: Request) -> UpdateWebhookRequest:
    """The PUT body: JSON, or (leniently, labelled JSON or not) form fields with snake_case names, which
    is what wxc-sdk's ``WebhookApi.update`` sends (``requests``' ``data=`` with a dict)."""
    raw = await request.body()
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            pairs = []
        if not pairs:
            raise BadRequest("The request body is not valid JSON.") from None
        value = {_FORM_NAMES.get(k, k): v for k, v in pairs}
    try:
        return UpdateWebhookRequest.model_validate(value)
    except ValidationError as exc:
        problems = [f"'{'.'.join(str(p) for p in e['loc']) or 'body'}': {e['msg']}" for e in exc.errors()]
        raise BadRequest(*problems) from None


@router.put(
    "/webhooks/{webhookId}",
    summary="Update a Webhook",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": UpdateWebhookRequest.model_json_schema()}},
        }
    },
)
async def update(
    request: Request,
    webhookId: str,
    body: Annotated[UpdateWebhookRequest, Depends(update_body)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> Response:
    change = WebhookChange(name=body.name, target_url=body.targetUrl, secret=body.secret, status=body.status)
    check_change(principal, change)
    row = await writer(request).write(lambda conn: update_webhook(conn, principal, webhookId, change))
    return json_response(webhook_json(row))


@router.delete("/webhooks/{webhookId}", status_code=204, summary="Delete a Webhook")
async def delete(
    request: Request, webhookId: str, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    await writer(request).write(lambda conn: delete_webhook(conn, principal, webhookId), DELETE_RETRY)
    return Response(status_code=204)
