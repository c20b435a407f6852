"""Shared request plumbing: the session factory and the JSON media-type check."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from meetadmin.errors import UnsupportedMediaType


def sessions(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


async def require_json(request: Request) -> None:
    """415 unless the request says its body is JSON (``application/json`` or ``+json``, any charset)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send the body as application/json (the request's Content-Type is '{media or 'missing'}')."
        )
