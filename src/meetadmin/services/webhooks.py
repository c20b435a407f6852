"""Webhook registration (``/v1/webhooks``, contract-notes §8.1): create, list, get, update, delete.

A webhook is visible to its creator and, when ``ownedBy`` is ``org``, to the organisation's admins
(with ``meeting:admin_schedule_read``); anyone else gets 404, as for a webhook that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from meetadmin.domain import webhooks as rules
from meetadmin.domain.people import TokenOwner
from meetadmin.domain.webhooks import WebhookRow
from meetadmin.errors import BadRequest, Forbidden, NotFound
from meetadmin.services.common import utcnow
from meetadmin.store.sites import site_by_url
from meetadmin.store.webhooks import (
    add_webhook,
    change_webhook,
    person_key,
    remove_webhook,
    visible_webhooks,
    webhook_by_id,
)
from meetadmin.store.writer import Retry

ORG_SCOPES = ("meeting:admin_schedule_read",)
CREATOR_SCOPES = ("meeting:schedules_read", "meeting:admin_schedule_read")
NOT_FOUND = "The webhook is not found."
_MISSING = "The token lacks the scope webhooks need: one of {scopes}."


@dataclass(frozen=True)
class NewWebhook:
    name: str
    target_url: str
    resource: str
    event: str
    filter: str | None
    secret: str | None
    owned_by: str


@dataclass(frozen=True)
class WebhookChange:
    name: str
    target_url: str
    secret: str | None
    status: str | None


def org_admin(caller: TokenOwner) -> bool:
    return caller.is_admin and not caller.scopes.isdisjoint(ORG_SCOPES)


def require_webhook_scope(caller: TokenOwner) -> None:
    """Any webhook call needs a meetings read scope (users' or admins')."""
    if caller.scopes.isdisjoint(CREATOR_SCOPES):
        raise Forbidden(_MISSING.format(scopes=", ".join(CREATOR_SCOPES)))


def _rule(check: Any, *args: Any) -> None:
    try:
        check(*args)
    except rules.WebhookRuleError as exc:
        raise BadRequest(str(exc)) from exc


def check_new(caller: TokenOwner, new: NewWebhook) -> rules.WebhookFilter:
    """What needs no database: 400 for a bad registration, 403 for an ``org`` webhook from a non-admin."""
    require_webhook_scope(caller)
    _rule(rules.check_name, new.name)
    _rule(rules.check_target_url, new.target_url)
    _rule(rules.check_resource, new.resource)
    _rule(rules.check_event, new.event)
    _rule(rules.check_owned_by, new.owned_by)
    if new.secret is not None:
        _rule(rules.check_secret, new.secret)
    try:
        parsed = rules.parse_filter(new.filter, new.owned_by)
    except rules.WebhookRuleError as exc:
        raise BadRequest(str(exc)) from exc
    if new.owned_by == "org" and not org_admin(caller):
        raise Forbidden("An 'org' webhook needs an administrator's token with meeting:admin_schedule_read.")
    return parsed


def create_webhook(conn: Connection, caller: TokenOwner, new: NewWebhook) -> WebhookRow:
    parsed = check_new(caller, new)
    host_key: int | None = None
    if parsed.host_user_id is not None and parsed.host_email is not None:
        raise BadRequest("The 'filter' names the host twice; use hostUserId or hostEmail, not both.")
    if parsed.host_user_id is not None or parsed.host_email is not None:
        host_key = person_key(conn, caller.org_id, parsed.host_user_id, parsed.host_email)
        if host_key is None:
            raise BadRequest("The 'filter' names a host who is not a person of your organisation.")
    site_id: int | None = None
    if parsed.site_url is not None:
        site = site_by_url(conn, caller.org_id, parsed.site_url)
        if site is None:
            raise BadRequest(
                f"The 'filter' site '{parsed.site_url[:255]}' is not a site of your organisation."
            )
        site_id = site.id
    webhook_id = rules.new_webhook_id()
    add_webhook(
        conn,
        {
            "id": webhook_id,
            "org_id": caller.org_id,
            "created_by": caller.person_key,
            "name": new.name,
            "target_url": new.target_url,
            "resource": new.resource,
            "event": new.event,
            "filter": new.filter or None,
            "filter_host_id": host_key,
            "filter_site_id": site_id,
            "secret": new.secret,
            "owned_by": new.owned_by,
            "status": "active",
            "failures": 0,
            "created": utcnow(),
        },
    )
    row = webhook_by_id(conn, webhook_id)
    assert row is not None
    return row


def _visible(caller: TokenOwner, row: WebhookRow | None) -> WebhookRow:
    if row is None or row.org_id != caller.org_id:
        raise NotFound(NOT_FOUND)
    if row.created_by == caller.person_key or (row.owned_by == "org" and org_admin(caller)):
        return row
    raise NotFound(NOT_FOUND)


def get_webhook(conn: Connection, caller: TokenOwner, webhook_id: str) -> WebhookRow:
    require_webhook_scope(caller)
    return _visible(caller, webhook_by_id(conn, webhook_id))


def list_webhooks(
    conn: Connection, caller: TokenOwner, only_org: bool, after: tuple[datetime, str] | None, limit: int
) -> list[WebhookRow]:
    require_webhook_scope(caller)
    return visible_webhooks(conn, caller.org_id, caller.person_key, org_admin(caller), only_org, after, limit)


def check_change(caller: TokenOwner, change: WebhookChange) -> None:
    require_webhook_scope(caller)
    _rule(rules.check_name, change.name)
    _rule(rules.check_target_url, change.target_url)
    if change.secret is not None:
        _rule(rules.check_secret, change.secret)
    if change.status is not None and change.status != "active":
        raise BadRequest(
            "'status' can only be 'active' (to reactivate a webhook that was deactivated); "
            "delete a webhook to stop it."
        )


def update_webhook(
    conn: Connection, caller: TokenOwner, webhook_id: str, change: WebhookChange
) -> WebhookRow:
    """Name, target URL, secret; ``status: active`` reactivates (the failure count starts again).
    Events of the inactive time are not replayed: none were queued for it."""
    check_change(caller, change)
    _visible(caller, webhook_by_id(conn, webhook_id))
    values: dict[str, Any] = {"name": change.name, "target_url": change.target_url}
    if change.secret is not None:
        values["secret"] = change.secret
    if change.status == "active":
        values["status"] = "active"
        values["failures"] = 0
    change_webhook(conn, webhook_id, values)
    row = webhook_by_id(conn, webhook_id)
    assert row is not None
    return row


# Deleting a webhook also deletes what it is owed and its log (ON DELETE CASCADE). On PostgreSQL a
# dispatcher finishing deliveries to it at that moment locks those rows first and the webhook's after,
# the other way round, and one of the two is chosen as a deadlock's victim: the delete is done again.
DELETE_RETRY = Retry(5, "The webhook was being delivered to at the same moment; send the request again.")


def delete_webhook(conn: Connection, caller: TokenOwner, webhook_id: str) -> None:
    """Remove it with what it is still owed and its delivery log."""
    require_webhook_scope(caller)
    _visible(caller, webhook_by_id(conn, webhook_id))
    remove_webhook(conn, webhook_id)
