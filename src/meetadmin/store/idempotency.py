"""The first answer to each ``Idempotency-Key`` (table ``idempotency_records``, PK person + key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from meetadmin.store.models import IdempotencyRecord

PENDING = 0  # status_code of a record whose request is still running


@dataclass(frozen=True)
class StoredAnswer:
    operation: str
    request_hash: str
    status_code: int
    body: bytes
    created: datetime


def find_answer(conn: Connection, person_key: int, key: str) -> StoredAnswer | None:
    row = conn.execute(
        select(
            IdempotencyRecord.operation,
            IdempotencyRecord.request_hash,
            IdempotencyRecord.status_code,
            IdempotencyRecord.body,
            IdempotencyRecord.created,
        ).where(IdempotencyRecord.person_id == person_key, IdempotencyRecord.key == key)
    ).one_or_none()
    if row is None:
        return None
    return StoredAnswer(row.operation, row.request_hash, row.status_code, bytes(row.body), row.created)


def forget_answer(conn: Connection, person_key: int, key: str) -> None:
    conn.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.person_id == person_key, IdempotencyRecord.key == key
        )
    )


def forget_expired(conn: Connection, before: datetime) -> None:
    """Drop every record created at or before ``before`` (indexed on ``created``)."""
    conn.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created <= before))


def claim_key(
    conn: Connection, person_key: int, key: str, operation: str, request_hash: str, now: datetime
) -> None:
    """Insert the pending record; a concurrent claim of the same key fails on the primary key."""
    conn.execute(
        insert(IdempotencyRecord).values(
            person_id=person_key,
            key=key,
            operation=operation,
            request_hash=request_hash,
            status_code=PENDING,
            body=b"",
            created=now,
        )
    )


def record_answer(conn: Connection, person_key: int, key: str, status_code: int, body: bytes) -> None:
    conn.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.person_id == person_key, IdempotencyRecord.key == key)
        .values(status_code=status_code, body=body)
    )
