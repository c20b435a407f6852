"""The ``Idempotency-Key`` request header on POST operations (see ``services/idempotency.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request, Response
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from meetadmin.api.auth import Principal
from meetadmin.api.deps import units
from meetadmin.api.responses import JSON_MEDIA_TYPE
from meetadmin.errors import BadRequest
from meetadmin.services.idempotency import Answer, IdempotencyClaim, request_hash, run_once
from meetadmin.store.db import Units
from meetadmin.store.writer import Retry

T = TypeVar("T")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description=(
            "meetadmin: a client-chosen key (1 to 255 printable ASCII characters). Retrying the same request "
            "with the same key within 24 hours returns the first answer without doing the work again; the "
            "same key with a different request gets 409."
        ),
    ),
]


def _claim(
    request: Request, principal: Principal, key: str, operation: str, canonical: Any
) -> IdempotencyClaim:
    key = key.strip()
    if not key or not key.isascii() or not key.isprintable():
        raise BadRequest("'Idempotency-Key' must be 1 to 255 printable ASCII characters.")
    hours = int(request.app.state.settings.idempotency_ttl_hours)
    return IdempotencyClaim(
        principal.person_key, key, operation, request_hash(operation, canonical), timedelta(hours=hours)
    )


def idempotent(
    request: Request,
    principal: Principal,
    key: str | None,
    operation: str,
    canonical: Callable[[], Any],
    handle: Callable[[Units], Response],
) -> Response:
    """Answer with ``handle(units)``; with a key, at most once per (caller, key) and ``canonical()``
    (the request as the key's record remembers it)."""
    if key is None:
        return handle(units(request))
    claim = _claim(request, principal, key, operation, canonical())

    def work(given: Units) -> Answer:
        response = handle(given)
        return Answer(response.status_code, bytes(response.body))

    answer = run_once(request.app.state.engine, claim, work)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    if not answer.body:
        return Response(status_code=answer.status_code, headers=headers)
    return Response(
        content=answer.body, status_code=answer.status_code, headers=headers, media_type=JSON_MEDIA_TYPE
    )


def write_in(units: Units, work: Callable[[Connection], T], retry: Retry) -> T:
    """``Writer.write_now(work, retry)`` for a ``handle`` of ``idempotent``: ``work`` runs in a unit of
    ``units`` (a savepoint of the key's transaction), again from the start when it loses a race."""
    for _attempt in range(retry.attempts):
        try:
            with units.begin(write=True) as conn:
                return work(conn)
        except DBAPIError as exc:
            if not retry.retryable(exc):
                raise
    raise retry.give_up()
