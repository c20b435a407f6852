"""Admin audit event queries: one organisation's events, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from meetadmin.domain.audit import AuditRow
from meetadmin.store.db import db_json, db_time
from meetadmin.store.driver import insert_rows, sql
from meetadmin.store.models import AuditEvent, Org, Person


def list_events(
    session: Session,
    org_id: str,
    start: datetime,
    end: datetime,
    actor_key: int | None,
    categories: Sequence[str] | None,
    offset: int,
    limit: int,
) -> list[AuditRow]:
    stmt = (
        select(
            AuditEvent,
            Person.person_id.label("actor_id"),
            Person.display_name.label("actor_name"),
            Person.email.label("actor_email"),
            Person.is_admin.label("actor_is_admin"),
            Org,
        )
        .join(Person, Person.id == AuditEvent.actor_id)
        .join(Org, Org.id == AuditEvent.org_id)
        .where(AuditEvent.org_id == org_id, AuditEvent.created >= start, AuditEvent.created < end)
        .order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if actor_key is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_key)
    if categories is not None:
        stmt = stmt.where(AuditEvent.category.in_(list(categories)))
    return [_audit_row(row) for row in session.execute(stmt)]


def _audit_row(row: Any) -> AuditRow:
    event: AuditEvent = row.AuditEvent
    return AuditRow(
        id=event.id,
        created=event.created,
        category=event.category,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        target_name=event.target_name,
        tracking_id=event.tracking_id,
        data=dict(event.data or {}),
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        actor_email=row.actor_email,
        actor_is_admin=bool(row.actor_is_admin),
        org_webex_id=row.Org.webex_id,
        org_name=row.Org.name,
    )


def actor_key(session: Session, org_id: str, person_id: str) -> int | None:
    return session.scalar(select(Person.id).where(Person.org_id == org_id, Person.person_id == person_id))


_ADD = (
    "INSERT INTO audit_events (id, org_id, created, actor_id, category, action, target_type, "
    "target_id, target_name, tracking_id, data) VALUES"
)
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
sql(f"{_ADD} {_ROW}")  # as add_audit_batch runs it (insert_rows), for one event


@dataclass(frozen=True)
class AuditBatch:
    """Events of one request that share all but their target (one action on many targets): built by
    ``services.common.audit_batch``, written as one row per target."""

    org_id: str
    actor_id: int
    created: datetime
    tracking_id: str
    category: str
    action: str
    target_type: str
    event_ids: list[str]
    targets: list[tuple[str, str, dict[str, Any]]]  # (target ID, target name, data), one per event ID


def add_audit_batch(conn: Connection, batch: AuditBatch) -> None:
    """Append the batch's rows in one statement: hand-written SQL on the driver
    (``store.driver.insert_rows``), as every change writes them."""
    created = db_time(conn, batch.created)
    insert_rows(
        conn,
        _ADD,
        _ROW,
        [
            (
                event_id,
                batch.org_id,
                created,
                batch.actor_id,
                batch.category,
                batch.action,
                batch.target_type,
                target_id,
                target_name,
                batch.tracking_id,
                db_json(data),
            )
            for event_id, (target_id, target_name, data) in zip(batch.event_ids, batch.targets, strict=True)
        ],
    )
