"""Webhook registrations: stored, read, changed, removed; and the active ones an event may go to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from meetadmin.domain.webhooks import Registration, WebhookRow
from meetadmin.store.db import from_db_time
from meetadmin.store.driver import marks, read_later, run_sql, sql
from meetadmin.store.models import Org, Person, Webhook

_COLUMNS = (
    Webhook.id,
    Webhook.org_id,
    Org.webex_id.label("org_webex_id"),
    Webhook.created_by,
    Person.person_id.label("creator_person_id"),
    Webhook.name,
    Webhook.target_url,
    Webhook.resource,
    Webhook.event,
    Webhook.filter,
    Webhook.secret,
    Webhook.owned_by,
    Webhook.status,
    Webhook.failures,
    Webhook.created,
)


def _select() -> Any:
    return select(*_COLUMNS).join(Org, Org.id == Webhook.org_id).join(Person, Person.id == Webhook.created_by)


def _row(r: Any) -> WebhookRow:
    return WebhookRow(**r._mapping)


def add_webhook(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(Webhook).values(**values))


def webhook_by_id(conn: Connection, webhook_id: str) -> WebhookRow | None:
    r = conn.execute(_select().where(Webhook.id == webhook_id)).one_or_none()
    return None if r is None else _row(r)


# The dispatcher reads the webhooks of every batch it claims: hand-written (Core's statement cache key
# for an IN list cost more than the rest of a claim).
_BY_ID = sql(
    "SELECT w.id, w.org_id, o.webex_id AS org_webex_id, w.created_by, p.person_id AS creator_person_id, "
    "w.name, w.target_url, w.resource, w.event, w.filter, w.secret, w.owned_by, w.status, w.failures, "
    "w.created FROM webhooks w "
    "JOIN orgs o ON o.id = w.org_id JOIN people p ON p.id = w.created_by WHERE w.id IN ({ids})",
    row=WebhookRow,
)


def webhooks_by_id(conn: Connection, webhook_ids: list[str]) -> dict[str, WebhookRow]:
    if not webhook_ids:
        return {}
    wanted = sorted(set(webhook_ids))
    rows = [WebhookRow._make(r) for r in run_sql(conn, _BY_ID.format(ids=marks(len(wanted))), wanted)]
    return {r.id: r._replace(created=from_db_time(r.created)) for r in rows}


def visible_webhooks(
    conn: Connection,
    org_id: str,
    viewer: int,
    org_admin: bool,
    only_org: bool,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[WebhookRow]:
    """The webhooks ``viewer`` may see, in creation order: their own and, for an organisation admin,
    the organisation's ``org`` webhooks (only those with ``only_org``); the page after ``after``."""
    mine = Webhook.created_by == viewer
    org_wide = Webhook.owned_by == "org"
    if only_org:
        who = and_(org_wide, or_(mine, org_admin))  # type: ignore[arg-type]
    else:
        who = or_(mine, and_(org_wide, org_admin)) if org_admin else mine  # type: ignore[arg-type]
    query = _select().where(Webhook.org_id == org_id, who)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(Webhook.created > created, and_(Webhook.created == created, Webhook.id > last_id))
        )
    rows = conn.execute(query.order_by(Webhook.created, Webhook.id).limit(limit)).all()
    return [_row(r) for r in rows]


def change_webhook(conn: Connection, webhook_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(Webhook).where(Webhook.id == webhook_id).values(**values))


def remove_webhook(conn: Connection, webhook_id: str) -> None:
    conn.execute(delete(Webhook).where(Webhook.id == webhook_id))


# Every change that may fire an event asks this first; without an active webhook it costs nothing more.
# (Hand-written SQL: see ``store.driver.run_sql``.)
_ACTIVE = (
    "SELECT id, owned_by, created_by, event, filter_host_id, filter_site_id FROM webhooks "
    "WHERE org_id = ? AND status = 'active' AND resource = ?"
)


def active_registrations_later(
    conn: Connection, org_id: str, resource: str
) -> Callable[[], list[Registration]]:
    """The organisation's active webhooks on ``resource``, asked for now and read when called: on
    PostgreSQL the query goes out with the next statement the transaction waits for
    (``store.driver.read_later``); called at once, it is one round trip of its own."""
    later = read_later(conn, _ACTIVE, [org_id, resource])
    return lambda: [Registration(*r) for r in later()]


def person_key(conn: Connection, org_id: str, person_id: str | None, email: str | None) -> int | None:
    """The key of the organisation's person with this Webex ID or email, if any."""
    query = select(Person.id).where(Person.org_id == org_id)
    if person_id is not None:
        query = query.where(Person.person_id == person_id)
    if email is not None:
        query = query.where(Person.email_key == email.strip().lower())
    found: int | None = conn.execute(query).scalar_one_or_none()
    return found
