"""The control token: ``require_control`` guards every ``/_meetadmin`` route."""

from __future__ import annotations

import hmac

from fastapi import Request

from meetadmin.errors import NotFound, Unauthorized


def control_token(request: Request) -> str | None:
    token: str | None = request.app.state.settings.control_token
    return token or None


async def require_control(request: Request) -> None:
    """FastAPI dependency: 404 when the server has no control token (no control plane at all), 401 unless
    the request carries ``Authorization: Bearer <control token>``."""
    expected = control_token(request)
    if expected is None:
        raise NotFound(f"No resource is at {request.url.path}.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unauthorized("The control plane answers only to 'Authorization: Bearer <control token>'.")
