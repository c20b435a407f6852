"""Shared request plumbing: the session factory, units of work and the JSON media-type check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from meetadmin.errors import UnsupportedMediaType
from meetadmin.store.db import Units
from meetadmin.store.writer import Writer

T = TypeVar("T")


def sessions(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


async def run_db(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run a request's database work. On SQLite it runs in the event loop's own thread: SQLite has one
    writer at a time anyway, and handing each request to a worker thread costs more CPU than the
    overlap saves. On PostgreSQL it runs in the thread pool, so that requests overlap."""
    if request.app.state.inline_db:
        return work(*args)
    return await run_in_threadpool(work, *args)


def writer(request: Request) -> Writer:
    """The one way to run database work: ``await writer(request).write(work)`` / ``.read(work)``, where
    ``work`` is a function of a ``Connection`` already in a transaction (see ``store/writer.py``)."""
    found: Writer = request.app.state.writer
    return found


def units(request: Request) -> Units:
    found: Units = request.app.state.units
    return found


async def require_json(request: Request) -> None:
    """415 unless the request says its body is JSON (``application/json`` or ``+json``, any charset)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send the body as application/json (the request's Content-Type is '{media or 'missing'}')."
        )
