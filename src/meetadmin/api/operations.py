"""Operations declared once: from one ``Operation`` both the FastAPI route (docs, OpenAPI, the canonical
answer to anything unusual) and the fast path (``api/fast_path.py``) are built, and both carry a request
out with ``perform``. So a check, a header, a scope or an Idempotency-Key rule added to an operation
reaches both paths; what every request needs (tracking ID, bearer parsing, size, media type) is done in
front of both by the gate (``api/gate.py``).

An operation is, in order:

* ``model``: the body's pydantic model (Webex's field names);
* ``reads``: the request headers it reads (e.g. ``siteUrl``), passed to ``check`` by name;
* ``check(principal, headers, body)``: everything that needs no database (scopes, the body's own rules);
  it raises an ``ApiError`` or returns what ``work`` takes;
* ``work(conn, checked, tracking_id)``: the use case, run by the writer (``store/writer.py``) in a write
  transaction (or a read one when ``write`` is False), retried when it loses a race if ``retry`` says so;
* ``answer(outcome)``: the response;
* ``idempotent``: the operation accepts ``Idempotency-Key`` (the key's record and the change commit
  together, ``services/idempotency.py``), with ``canonical(headers, body)`` as the request it remembers;
* ``items(checked)``: how many things a request changes. On PostgreSQL a write of more than
  ``GROUP_ITEMS`` runs in a transaction of its own rather than in a group commit (``store/writer.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy import Connection
from starlette.responses import Response

from meetadmin.api.auth import Principal, authenticate
from meetadmin.api.responses import JSON_MEDIA_TYPE
from meetadmin.api.tracking import tracking_id_of
from meetadmin.errors import BadRequest
from meetadmin.services.idempotency import Answer, IdempotencyClaim, request_hash, run_once
from meetadmin.store.writer import Retry, Writer

Headers = Mapping[str, str | None]

IDEMPOTENCY_KEY_DOC = (
    "meetadmin: a client-chosen key (1 to 255 printable ASCII characters). Retrying the same request "
    "with the same key within 24 hours returns the first answer without doing the work again; the "
    "same key with a different request gets 409."
)
MAX_HEADER_LENGTH = 255


def _canonical_body(_headers: Headers, body: BaseModel) -> Any:
    return body.model_dump()


def _one_item(_checked: Any) -> int:
    return 1


# PostgreSQL: a write of more items than this runs alone (``Writer.write(alone=True)``). Group commit
# saves a write its round trips and its commit, which are most of a one-meeting reassignment's cost and
# a few percent of a 100-meeting one's; run side by side instead, the big ones keep more of PostgreSQL's
# backends busy at once (100-person refreshes: 10-15% more requests a second than in groups).
GROUP_ITEMS = 10


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # under /v1
    summary: str
    model: type[BaseModel]
    check: Callable[[Principal, Headers, Any], Any]
    work: Callable[[Connection, Any, str], Any]
    answer: Callable[[Any], Response]
    reads: tuple[str, ...] = ()
    write: bool = True
    idempotent: bool = False
    canonical: Callable[[Headers, Any], Any] = _canonical_body
    retry: Retry | None = None
    items: Callable[[Any], int] = _one_item
    fast: bool = True  # also served by the fast path
    tags: tuple[str, ...] = ("Meetings",)
    status_code: int = 200
    responses: dict[int | str, dict[str, Any]] = field(default_factory=dict)

    @property
    def full_path(self) -> str:
        return "/v1" + self.path


def _claim(
    app_state: Any, principal: Principal, key: str, op: Operation, headers: Headers, body: Any
) -> IdempotencyClaim:
    key = key.strip()
    if not key or not key.isascii() or not key.isprintable():
        raise BadRequest("'Idempotency-Key' must be 1 to 255 printable ASCII characters.")
    hours = int(app_state.settings.idempotency_ttl_hours)
    digest = request_hash(op.name, op.canonical(headers, body))
    return IdempotencyClaim(principal.person_key, key, op.name, digest, timedelta(hours=hours))


async def perform(
    app_state: Any,
    op: Operation,
    principal: Principal,
    headers: Headers,
    body: Any,
    idempotency_key: str | None,
    tracking_id: str,
) -> Response:
    """Carry out one request of ``op``, for the route and the fast path alike. An ``ApiError`` raised
    on the way is the answer (rendered by the caller); the transaction has then changed nothing."""
    checked = op.check(principal, headers, body)
    writer: Writer = app_state.writer

    def work(conn: Connection) -> Any:
        return op.work(conn, checked, tracking_id)

    if not op.write:
        return op.answer(await writer.read(work))
    alone = op.items(checked) > GROUP_ITEMS
    if idempotency_key is None or not op.idempotent:
        return op.answer(await writer.write(work, op.retry, alone))
    claim = _claim(app_state, principal, idempotency_key, op, headers, body)

    def answered(conn: Connection) -> Answer:
        response = op.answer(work(conn))
        return Answer(response.status_code, bytes(response.body))

    stored = await writer.write(lambda conn: run_once(conn, claim, answered), op.retry, alone)
    replayed = {"Idempotent-Replayed": "true"} if stored.replayed else None
    if not stored.body:
        return Response(status_code=stored.status_code, headers=replayed)
    return Response(stored.body, stored.status_code, headers=replayed, media_type=JSON_MEDIA_TYPE)


def _header_name(header: str) -> str:
    return "header_" + "".join(c if c.isalnum() else "_" for c in header).lower()


def add_route(router: APIRouter, op: Operation) -> None:
    """The FastAPI route of ``op``: its body model, headers and scopes in the OpenAPI, its answer from
    ``perform``."""
    names = {_header_name(h): h for h in op.reads}

    async def endpoint(request: Request, body: Any, principal: Principal, **given: Any) -> Response:
        headers = {names[k]: v for k, v in given.items() if k in names}
        key = given.get("idempotency_key")
        return await perform(request.app.state, op, principal, headers, body, key, tracking_id_of(request))

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("body", keyword, annotation=op.model),
        inspect.Parameter("principal", keyword, annotation=Annotated[Principal, Depends(authenticate)]),
    ]
    for python_name, header in names.items():
        header_type = Annotated[str | None, Header(alias=header, max_length=MAX_HEADER_LENGTH)]
        params.append(inspect.Parameter(python_name, keyword, default=None, annotation=header_type))
    if op.idempotent:
        key_type = Annotated[
            str | None,
            Header(alias="Idempotency-Key", max_length=MAX_HEADER_LENGTH, description=IDEMPOTENCY_KEY_DOC),
        ]
        params.append(inspect.Parameter("idempotency_key", keyword, default=None, annotation=key_type))
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    endpoint.__name__ = op.name
    router.add_api_route(
        op.path,
        endpoint,
        methods=[op.method],
        summary=op.summary,
        status_code=op.status_code,
        responses=op.responses or None,
        tags=list(op.tags),
        operation_id=op.name,
    )


def operations_router(operations: list[Operation]) -> APIRouter:
    router = APIRouter()
    for op in operations:
        add_route(router, op)
    return router
