"""Small helpers the use cases share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from meetadmin import clock
from meetadmin.domain.ids import ordered_uuids
from meetadmin.domain.people import TokenOwner
from meetadmin.domain.reassign import NewHost
from meetadmin.errors import BadRequest
from meetadmin.store.audit import AuditBatch
from meetadmin.store.sites import SiteRow, site_by_id, site_by_url, site_with_new_host


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the store keeps: the sandbox's clock (``meetadmin.clock``), which
    the control plane can freeze or shift."""
    return clock.now()


T = TypeVar("T")

NO_SITE = "No siteUrl was given and you have no preferred site; name the site with siteUrl."


def _chosen_site(
    caller: TokenOwner,
    site_url: str | None,
    by_url: Callable[[str], T | None],
    by_id: Callable[[int], T | None],
) -> T:
    """What ``by_url`` finds for ``site_url`` or, without one, ``by_id`` for the caller's preferred
    site; 400 otherwise."""
    if site_url is not None and site_url.strip():
        found = by_url(site_url)
        if found is None:
            raise BadRequest(f"The site '{site_url.strip()[:255]}' is not a site of your organisation.")
        return found
    if caller.preferred_site_id is not None:
        found = by_id(caller.preferred_site_id)
        if found is not None:
            return found
    raise BadRequest(NO_SITE)


def target_site(conn: Connection, caller: TokenOwner, site_url: str | None) -> SiteRow:
    """The site named by ``site_url`` or, without one, the caller's preferred site; 400 otherwise."""
    return _chosen_site(
        caller, site_url, lambda url: site_by_url(conn, caller.org_id, url), lambda key: site_by_id(conn, key)
    )


def target_site_with_host(
    conn: Connection, caller: TokenOwner, site_url: str | None, email: str
) -> tuple[SiteRow, NewHost | None]:
    """``target_site``, and the person with ``email`` and what they may do there
    (``store.sites.new_host_on_site``), in one statement."""
    return _chosen_site(
        caller,
        site_url,
        lambda url: site_with_new_host(conn, caller.org_id, email, url, None),
        lambda key: site_with_new_host(conn, caller.org_id, email, None, key),
    )


def audit_batch(
    caller: TokenOwner,
    now: datetime,
    tracking_id: str,
    *,
    category: str,
    action: str,
    target_type: str,
    targets: list[tuple[str, str, dict[str, Any]]],
) -> AuditBatch:
    """Audit events, one per ``(target ID, target name, data)``, with the caller as actor and
    time-ordered IDs (appended to the key index, not scattered over it)."""
    return AuditBatch(
        org_id=caller.org_id,
        actor_id=caller.person_key,
        created=now,
        tracking_id=tracking_id,
        category=category,
        action=action,
        target_type=target_type,
        event_ids=ordered_uuids(len(targets)),
        targets=targets,
    )
