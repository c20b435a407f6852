"""The FastAPI application: routers under /v1, Webex-shaped errors, a TrackingID on every response."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine, text

from meetadmin import __version__
from meetadmin.api import audit, meetings, people, preferences, reassign, session_types, sites, webhooks
from meetadmin.api.auth import TokenCache
from meetadmin.api.docs import install_docs
from meetadmin.api.errors import install_error_handlers
from meetadmin.api.fast_path import FastPath
from meetadmin.api.gate import Gate
from meetadmin.api.operations import Operation, operations_router
from meetadmin.api.responses import json_response
from meetadmin.console import install_console
from meetadmin.control.chaos import Chaos, ChaosState
from meetadmin.control.lifespan import control_lifespan
from meetadmin.control.routers import control_router
from meetadmin.outbound.dispatch import Dispatcher
from meetadmin.outbound.mail_sender import MailSender
from meetadmin.settings import Settings, get_settings
from meetadmin.store.db import make_engine
from meetadmin.store.writer import Writer

# Operations declared once (api/operations.py): each gives a route and is served by the fast path.
OPERATIONS: list[Operation] = [*reassign.OPERATIONS, *preferences.OPERATIONS]

# session_types before meetings: /meetings/sessionTypes must win over /meetings/{meetingId}.
ROUTERS = [
    session_types.router,
    meetings.router,
    sites.router,
    preferences.router,
    people.router,
    audit.router,
    webhooks.router,
]


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, extra: list[Operation] | None = None
) -> FastAPI:
    """Build the app. The database must already be at the latest migration (``serve`` sees to it).
    ``extra`` operations are served beside Webex's (tests declare their own)."""
    settings = settings or get_settings()
    owned = engine is None
    engine = engine or make_engine(settings.database_url, settings.pool_size, settings.sqlite_cache_mib)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        dispatcher = Dispatcher(settings, engine) if settings.webhook_dispatch else None
        if dispatcher is not None:
            dispatcher.start()  # webhook deliveries (outbound/dispatch.py)
        _app.state.dispatcher = dispatcher
        await chaos.start()
        mail.start()
        async with control_lifespan(_app):  # the sandbox clock, the start-up snapshot
            yield
        await mail.stop()
        await chaos.close()
        if dispatcher is not None:
            await dispatcher.stop()
        writer.close()
        if owned:
            engine.dispose()

    app = FastAPI(
        title="meetadmin",
        version=__version__,
        description="Webex Meetings admin operations, self-hosted.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    writer = Writer(engine)
    app.state.writer = writer
    mail = MailSender(engine, writer, settings)
    app.state.mail = mail
    app.state.settings = settings
    app.state.token_cache = TokenCache()
    app.state.chaos = chaos = ChaosState(settings)
    install_error_handlers(app)
    install_docs(app)
    operations = OPERATIONS + (extra or [])
    # Starlette: the last middleware added is the outermost. The gate comes first, then the fast path.
    app.state.fast_path_counts = Counter()
    app.add_middleware(
        FastPath, operations=operations, counts=app.state.fast_path_counts, enabled=settings.fast_lane
    )
    app.add_middleware(Chaos)  # rate limits and faults: behind the gate, in front of both paths
    json_operations = {(op.method, op.full_path) for op in operations}
    app.add_middleware(Gate, max_body_bytes=settings.max_body_bytes, json_operations=json_operations)
    app.include_router(operations_router(operations), prefix="/v1")
    for router in ROUTERS:
        app.include_router(router, prefix="/v1")
    app.include_router(control_router())
    install_console(app)

    @app.get("/health", include_in_schema=False)
    def health() -> object:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return json_response({"status": "ok", "version": __version__})

    return app


def serve_app() -> FastAPI:
    """The app as ``meetadmin serve`` runs it, in each server process: ``create_app`` plus tuning that
    concerns the whole process, so not the apps the tests make.

    Python's cycle collector: the objects alive once the app is built (modules, routes, models: some
    hundreds of thousands) are frozen out of its full collections, which otherwise scanned them all a
    few times a second under load (0.4 ms of every 100-person refresh), and the youngest generation is
    collected every 10,000 allocations rather than 700 (a refresh allocates a few thousand objects,
    freed by reference counting, not cycles)."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    return app
