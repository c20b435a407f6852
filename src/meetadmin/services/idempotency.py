"""Idempotency-Key: a retried POST gets the first answer instead of doing the work twice.

The key is claimed (a pending ``idempotency_records`` row) at the start of the work's transaction, the
work runs inside that same transaction, and the answer is written before the commit. So the work and
its recorded answer commit together or not at all:

* same caller + key + request within the TTL: the stored status and body, nothing done again;
* same key with a different request (or another operation): 409;
* two requests with one key at once: the second one's claim waits on the first one's primary key (or, on
  SQLite, on the write lock) and then answers the first one's stored response;
* an error (4xx/5xx) rolls everything back, the claim included, so nothing is remembered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from meetadmin.errors import Conflict
from meetadmin.services.common import utcnow
from meetadmin.store.db import savepoint
from meetadmin.store.idempotency import (
    PENDING,
    claim_key,
    find_answer,
    forget_answer,
    forget_expired,
    record_answer,
)


@dataclass(frozen=True)
class Answer:
    """A response as stored: status code and body bytes (empty for 204)."""

    status_code: int
    body: bytes
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyClaim:
    person_key: int
    key: str
    operation: str
    request_hash: str
    ttl: timedelta


Work = Callable[[Connection], Answer]


def request_hash(operation: str, request: Any) -> str:
    """SHA-256 of the operation and the request in canonical JSON (sorted keys, no whitespace)."""
    canonical = orjson.dumps({"operation": operation, "request": request}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def run_once(conn: Connection, claim: IdempotencyClaim, work: Work) -> Answer:
    """Run ``work`` in the transaction of ``conn`` at most once per claim; the stored answer otherwise."""
    stored = _claim(conn, claim)
    if stored is not None:
        return stored
    answer = work(conn)
    if 200 <= answer.status_code < 300:
        record_answer(conn, claim.person_key, claim.key, answer.status_code, answer.body)
    else:
        forget_answer(conn, claim.person_key, claim.key)
    return answer


def _claim(conn: Connection, claim: IdempotencyClaim) -> Answer | None:
    """Claim the key, or return the stored answer to replay (409 when the request differs)."""
    now = utcnow()
    forget_expired(conn, now - claim.ttl)  # every claim sweeps what has expired, so nothing piles up
    stored = find_answer(conn, claim.person_key, claim.key)
    if stored is None:
        try:
            with savepoint(conn):
                claim_key(conn, claim.person_key, claim.key, claim.operation, claim.request_hash, now)
            return None
        except IntegrityError:
            # A concurrent request with this key committed first; answer with what it stored.
            stored = find_answer(conn, claim.person_key, claim.key)
            if stored is None:
                raise Conflict(_IN_PROGRESS) from None
    return _replay(stored.operation, stored.request_hash, stored.status_code, stored.body, claim)


_IN_PROGRESS = "A request with this Idempotency-Key is in progress; retry it in a moment."


def _replay(operation: str, digest: str, status: int, body: bytes, claim: IdempotencyClaim) -> Answer:
    if operation != claim.operation:
        raise Conflict(
            f"The Idempotency-Key '{claim.key}' was already used for another operation ({operation}); "
            "use a new key for each request."
        )
    if digest != claim.request_hash:
        raise Conflict(
            f"The Idempotency-Key '{claim.key}' was already used with a different request body; "
            "use a new key for each different request."
        )
    if status == PENDING:
        raise Conflict(_IN_PROGRESS)
    return Answer(status, body, replayed=True)
