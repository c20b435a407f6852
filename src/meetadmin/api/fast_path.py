"""The fast path: declared operations (``api/operations.py``) answered without FastAPI's per-request
machinery (routing, dependency solving), which costs more CPU than a one-meeting reassignment itself.

It sits behind the gate (``api/gate.py``: tracking ID, bearer parsing, size, media type, and what the
control plane adds there), so nothing done for every request can be skipped here. For a request to one
of its operations it reads the body, validates it with the operation's own model, and hands it to
``perform``, the very function the operation's route calls: the same checks, the same writer, the same
Idempotency-Key handling, the same answer; an ``ApiError`` is rendered as the route renders it. It hands
the request on to the route, body included, when the route's own parsing must speak: a body that is not
JSON or that the model refuses (FastAPI words those errors), a header sent twice or too long, or an
unexpected failure (its transaction has rolled back). ``MEETADMIN_FAST_LANE=false`` turns it off.

``app.state.fast_path_counts`` counts what it answered and what it handed on, per operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetadmin.api.auth import principal_of
from meetadmin.api.errors import rendered_error
from meetadmin.api.operations import MAX_HEADER_LENGTH, Operation, perform
from meetadmin.errors import ApiError, PayloadTooLarge

if TYPE_CHECKING:
    from collections import Counter


class FastPath:
    def __init__(
        self, app: ASGIApp, operations: list[Operation], counts: Counter[str], enabled: bool = True
    ) -> None:
        self.app = app
        self.table = {(op.method, op.full_path): op for op in operations if op.fast} if enabled else {}
        self.counts = counts
        self._wanted = {h.lower().encode() for op in operations for h in op.reads} | {b"idempotency-key"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self.table.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if op is None:
            await self.app(scope, receive, send)
            return
        headers = self._headers(scope, op)
        try:
            body, messages = (None, []) if headers is None else await _read_body(receive)
        except HTTPException:  # the gate's limit, passed while the body streamed in
            limit = PayloadTooLarge("The request body is larger than the server accepts.")
            await rendered_error(limit, str(scope["state"]["tracking_id"]))(scope, receive, send)
            return
        response = None
        if body is not None and headers is not None:
            response = await self._answer(scope, op, headers, body)
        if response is None:
            self.counts[op.name + " handed on"] += 1
            await self.app(scope, _replay(messages, receive), send)
            return
        self.counts[op.name] += 1
        await response(scope, receive, send)

    def _headers(self, scope: Scope, op: Operation) -> dict[str, str | None] | None:
        """The headers ``op`` reads (and the Idempotency-Key), or None when one is sent twice or is too
        long (the route's header validation words that)."""
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in self._wanted:
                if name in found or len(value) > MAX_HEADER_LENGTH:
                    return None
                found[name] = value.decode("latin-1")
        headers: dict[str, str | None] = {h: found.get(h.lower().encode()) for h in op.reads}
        if op.idempotent:
            headers["Idempotency-Key"] = found.get(b"idempotency-key")
        return headers

    async def _answer(
        self, scope: Scope, op: Operation, headers: dict[str, str | None], raw: bytes
    ) -> Response | None:
        tid = str(scope["state"]["tracking_id"])
        try:
            # orjson accepts a subset of what the route's json.loads does, with the same values; what it
            # refuses (NaN, UTF-16, huge integers, lone surrogates) the route sees for itself.
            body = op.model.model_validate(orjson.loads(raw))
        except Exception:  # not JSON, or not what the model accepts: the route words why
            return None
        key = headers.pop("Idempotency-Key", None)
        try:
            principal = await principal_of(scope)
            return await perform(scope["app"].state, op, principal, headers, body, key, tid)
        except ApiError as error:
            return rendered_error(error, tid)
        except Exception:  # unexpected: rolled back; the route answers (and logs) it
            return None


async def _read_body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body, and the messages it came in (to hand on unread when the path passes)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
