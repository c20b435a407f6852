"""List Admin Audit Events: the caller's organisation only, newest first, at most a year at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from meetadmin.domain.audit import AuditRow
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import BadRequest, Forbidden
from meetadmin.store.audit import actor_key, list_events
from meetadmin.store.writer import orm

MAX_SPAN = timedelta(days=366)


@dataclass(frozen=True)
class AuditQuery:
    org_webex_id: str
    start: datetime
    end: datetime
    actor_id: str | None = None
    categories: list[str] | None = None
    offset: int = 0
    max: int = 100


def audit_events(conn: Connection, caller: TokenOwner, query: AuditQuery) -> list[AuditRow]:
    if query.org_webex_id != caller.org_webex_id:
        raise Forbidden("You may only list the audit events of your own organisation ('orgId').")
    if query.start > query.end:
        raise BadRequest("'from' must not be after 'to'.")
    if query.end - query.start > MAX_SPAN:
        raise BadRequest("'from' and 'to' may be at most one year apart.")
    with orm(conn) as session:
        actor = None
        if query.actor_id is not None:
            actor = actor_key(session, caller.org_id, query.actor_id)
            if actor is None:
                return []
        return list_events(
            session,
            caller.org_id,
            query.start,
            query.end,
            actor,
            query.categories,
            query.offset,
            query.max,
        )
