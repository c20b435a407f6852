"""Shared request plumbing: the writer, the one way to run database work."""

from __future__ import annotations

from fastapi import Request

from meetadmin.store.writer import Writer


def writer(request: Request) -> Writer:
    """The one way to run database work: ``await writer(request).write(work)`` / ``.read(work)``, where
    ``work`` is a function of a ``Connection`` already in a transaction (see ``store/writer.py``)."""
    found: Writer = request.app.state.writer
    return found
