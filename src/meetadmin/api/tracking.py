"""The tracking ID of a request, as the gate (``api/gate.py``) set it."""

from __future__ import annotations

from starlette.requests import Request

from meetadmin.domain.ids import tracking_id


def tracking_id_of(request: Request) -> str:
    value = request.scope.get("state", {}).get("tracking_id")
    return str(value) if value else tracking_id()
