"""Webhook rules without I/O (contract-notes §8.1 to §8.3): what a registration may say, which webhook an
event goes to, and when a failed delivery is tried again."""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

RESOURCES = ("meetings",)
EVENTS = ("created", "updated", "deleted", "started", "ended", "all")
OWNERS = ("creator", "org")
FILTER_KEYS = ("hostUserId", "hostEmail", "siteUrl")
HOST_KEYS = ("hostUserId", "hostEmail")
MAX_NAME = 256
MAX_URL = 2048
MAX_SECRET = 256
MAX_FILTER = 1024


class WebhookRuleError(ValueError):
    """A registration that breaks a rule; the message says which, in words a person can act on."""


def check_resource(resource: str) -> None:
    if resource not in RESOURCES:
        raise WebhookRuleError(
            f"'resource' {resource[:64]!r} is not supported: meetadmin serves webhooks for "
            + ", ".join(repr(r) for r in RESOURCES)
            + " only."
        )


def check_event(event: str) -> None:
    if event not in EVENTS:
        raise WebhookRuleError(
            f"'event' {event[:64]!r} is not an event of 'meetings'; use one of " + ", ".join(EVENTS) + "."
        )


def check_owned_by(owned_by: str) -> None:
    if owned_by not in OWNERS:
        raise WebhookRuleError(f"'ownedBy' must be 'creator' or 'org' (got {owned_by[:64]!r}).")


def check_name(name: str) -> None:
    if not name.strip():
        raise WebhookRuleError("'name' must not be empty.")
    if len(name) > MAX_NAME:
        raise WebhookRuleError(f"'name' is longer than {MAX_NAME} characters.")


def check_target_url(url: str) -> None:
    if len(url) > MAX_URL:
        raise WebhookRuleError(f"'targetUrl' is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise WebhookRuleError(f"'targetUrl' must be an absolute http or https URL (got {url[:128]!r}).")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise WebhookRuleError("'targetUrl' must not contain spaces or control characters.")


def check_secret(secret: str) -> None:
    if not secret or len(secret) > MAX_SECRET:
        raise WebhookRuleError(f"'secret' must be 1 to {MAX_SECRET} characters.")


@dataclass(frozen=True)
class WebhookFilter:
    """A parsed ``filter``: at most one host (by person ID or email) and at most one site."""

    host_user_id: str | None = None
    host_email: str | None = None
    site_url: str | None = None


def parse_filter(text: str | None, owned_by: str) -> WebhookFilter:
    """``key=value`` pairs joined by ``&`` (values may be percent-encoded). Host keys need ``ownedBy=org``."""
    if text is None or text == "":
        return WebhookFilter()
    if len(text) > MAX_FILTER:
        raise WebhookRuleError(f"'filter' is longer than {MAX_FILTER} characters.")
    values: dict[str, str] = {}
    for pair in text.split("&"):
        key, sep, value = pair.partition("=")
        key, value = unquote(key).strip(), unquote(value).strip()
        if not sep or not key or not value:
            raise WebhookRuleError(f"'filter' must be key=value pairs joined by '&' (got {pair[:64]!r}).")
        if key not in FILTER_KEYS:
            raise WebhookRuleError(
                f"'filter' key {key[:64]!r} is not supported for 'meetings'; use "
                + ", ".join(FILTER_KEYS)
                + "."
            )
        if key in values:
            raise WebhookRuleError(f"'filter' names {key!r} twice.")
        values[key] = value
    if any(k in values for k in HOST_KEYS) and owned_by != "org":
        raise WebhookRuleError("A 'filter' on hostUserId or hostEmail needs 'ownedBy' set to 'org'.")
    return WebhookFilter(values.get("hostUserId"), values.get("hostEmail"), values.get("siteUrl"))


@dataclass(frozen=True)
class Registration:
    """What matching needs to know of a webhook."""

    id: str
    owned_by: str
    created_by: int
    event: str
    filter_host_id: int | None
    filter_site_id: int | None


@dataclass(frozen=True)
class Change:
    """One meeting an event is about: its site and its host before and after the change (the same host
    for a change that does not move the meeting)."""

    site_id: int
    host_before: int
    host_after: int


def receives(hook: Registration, event: str, change: Change) -> bool:
    """Whether ``hook`` gets ``event`` about ``change`` (contract-notes §8.2): an ``org`` webhook when
    its filter matches the meeting before or after the change, a ``creator`` webhook when its creator
    hosted the meeting before or hosts it after."""
    if hook.event not in (event, "all"):
        return False
    if hook.filter_site_id is not None and hook.filter_site_id != change.site_id:
        return False
    hosts = (change.host_before, change.host_after)
    if hook.owned_by == "org":
        return hook.filter_host_id is None or hook.filter_host_id in hosts
    return hook.created_by in hosts


def retry_delay(attempts: int, base_seconds: float, draw: random.Random | None = None) -> float:
    """Seconds before the next attempt once ``attempts`` attempts have failed: about ``base_seconds``
    after the first, doubling each time, with ±20% jitter so that many failed deliveries do not all come
    back at the same moment."""
    jitter = (draw or random).uniform(0.8, 1.2)
    return float(base_seconds * (2 ** max(attempts - 1, 0)) * jitter)


def _spark_id(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"ciscospark://us/{kind}/{value}".encode()).decode().rstrip("=")


def new_webhook_id() -> str:
    """A Webex-style webhook ID: base64url of ``ciscospark://us/WEBHOOK/<uuid>``."""
    return _spark_id("WEBHOOK", str(uuid.uuid4()))


APP_ID = _spark_id("APPLICATION", "meetadmin")  # every webhook's ``appId``: meetadmin itself


class WebhookRow(NamedTuple):
    id: str
    org_id: str
    org_webex_id: str
    created_by: int
    creator_person_id: str
    name: str
    target_url: str
    resource: str
    event: str
    filter: str | None
    secret: str | None
    owned_by: str
    status: str
    failures: int
    created: datetime
