"""Tracking IDs and the request body limit, as one pure ASGI middleware.

Every response carries a ``TrackingID`` header. A client's own ``TrackingID`` header is echoed when it
is reasonable (Webex SDKs send one); otherwise a new ID in Webex's form is made. A declared
``Content-Length`` over the limit is refused here with 413, and so is a streamed body once it
passes the limit.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetadmin.domain.ids import tracking_id

_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{8,128}")


def tracking_id_of(request: Request) -> str:
    value = request.scope.get("state", {}).get("tracking_id")
    return str(value) if value else tracking_id()


class TrackingMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tid = ""
        for name, value in scope["headers"]:
            if name == b"trackingid":
                candidate = value.decode("latin-1")
                if _CLIENT_ID_RE.fullmatch(candidate):
                    tid = candidate
                break
        tid = tid or tracking_id()
        scope.setdefault("state", {})["tracking_id"] = tid
        header = (b"trackingid", tid.encode())

        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._too_large(send, tid)
                    return

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

    async def _too_large(self, send: Send, tid: str) -> None:
        body: dict[str, Any] = {
            "message": "The request body is larger than the server accepts.",
            "errors": [{"description": f"Request bodies are limited to {self.max_body_bytes} bytes."}],
            "trackingId": tid,
        }
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json;charset=UTF-8"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"trackingid", tid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
