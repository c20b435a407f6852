"""The front door: one pure ASGI layer that every request passes before it is dispatched to a route or
to the fast path (``api/fast_path.py``), so what it does can't be skipped by either.

In order, for each HTTP request:

1. **Tracking ID.** A client's own ``TrackingID`` header is echoed when it is reasonable (Webex SDKs send
   one); otherwise a new ID in Webex's form is made. It goes into ``scope["state"]["tracking_id"]`` and
   on every response as the ``TrackingID`` header.
2. **Bearer parsing.** ``Authorization: Bearer <token>`` is read once: ``scope["state"]["bearer"]`` holds
   the token (or None when there is none or it is malformed). Who owns it is looked up, and cached, by
   ``api.auth.principal_of``, which the routes' ``authenticate`` and the fast path both call.
3. **Size.** A declared ``Content-Length`` over the limit is refused with 413, and so is a streamed body
   once it passes the limit.
4. **Media type.** A ``POST``, ``PUT`` or ``PATCH`` to an operation under ``/v1`` must say its body is
   JSON (``application/json`` or ``+json``, any charset), else 415. (To a path or method that is not
   served, the route's 404 or 405 says more; the declared operations are known without routing.)

Every refusal here is Webex-shaped (``message``, ``errors[].description``, ``trackingId``).
"""

from __future__ import annotations

import re

import orjson
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetadmin.domain.ids import tracking_id
from meetadmin.errors import ApiError, PayloadTooLarge, UnsupportedMediaType

_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{8,128}")
_JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_TOKEN_LENGTH = 4096


def error_payload(error: ApiError, tracking_id: str) -> bytes:
    """An error's body in Webex's shape."""
    entries = error.entries or [{"description": d} for d in error.descriptions]
    return orjson.dumps({"message": error.message, "errors": entries, "trackingId": tracking_id})


async def send_error(send: Send, error: ApiError, tracking_id: str) -> None:
    """Answer with ``error`` straight from an ASGI layer (no framework behind it)."""
    payload = error_payload(error, tracking_id)
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
        (b"trackingid", tracking_id.encode()),
        *[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()],
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def bearer_of(header: bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none (or not one
    that could be a token)."""
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


class Gate:
    def __init__(self, app: ASGIApp, max_body_bytes: int, json_operations: set[tuple[str, str]]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.json_operations = json_operations  # (method, path) of the declared operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_tid = authorization = length = content_type = None
        for name, value in scope["headers"]:
            if name == b"trackingid" and client_tid is None:
                client_tid = value
            elif name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"content-length" and length is None:
                length = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        tid = ""
        if client_tid is not None:
            candidate = client_tid.decode("latin-1")
            if _CLIENT_ID_RE.fullmatch(candidate):
                tid = candidate
        tid = tid or tracking_id()
        state = scope.setdefault("state", {})
        state["tracking_id"] = tid
        state["bearer"] = bearer_of(authorization)

        refusal = self._refusal(scope, length, content_type)
        if refusal is not None:
            await send_error(send, refusal, tid)
            return

        header = (b"trackingid", tid.encode())
        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes HTTPExceptions raised while reading the body on to our handler.
                    raise HTTPException(413)
            return message

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, limited_receive, send_with_header)

    def _refusal(self, scope: Scope, length: bytes | None, content_type: bytes | None) -> ApiError | None:
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                return PayloadTooLarge(f"Request bodies are limited to {self.max_body_bytes} bytes.")
        if scope["method"] in _JSON_METHODS and scope["path"].startswith("/v1/"):
            media = (content_type or b"").decode("latin-1").split(";", 1)[0].strip().lower()
            if media != "application/json" and not media.endswith("+json") and self._served(scope):
                return UnsupportedMediaType(
                    "Send the body as application/json "
                    f"(the request's Content-Type is '{media or 'missing'}')."
                )
        return None

    def _served(self, scope: Scope) -> bool:
        if (scope["method"], scope["path"]) in self.json_operations:
            return True
        return any(route.matches(scope)[0] is Match.FULL for route in scope["app"].router.routes)
