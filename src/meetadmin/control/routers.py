"""Every router of the control plane, mounted at ``/_meetadmin`` by ``app.create_app``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from meetadmin.control import chaos_api, clock, life, mail, state, webhooks
from meetadmin.control.auth import require_control

# Each area's APIRouter (paths relative to /_meetadmin) is added to this list.
ROUTERS: list[APIRouter] = [
    state.router,
    clock.router,
    life.router,
    chaos_api.router,
    mail.router,
    webhooks.router,
]


def control_router() -> APIRouter:
    router = APIRouter(prefix="/_meetadmin", dependencies=[Depends(require_control)], include_in_schema=False)
    for area in ROUTERS:
        router.include_router(area)
    return router
