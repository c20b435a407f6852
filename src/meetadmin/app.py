"""The FastAPI application: routers under /v1, Webex-shaped errors, a TrackingID on every response."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine, text

from meetadmin import __version__
from meetadmin.api import audit, meetings, people, preferences, reassign, session_types, sites, webhooks
from meetadmin.api.auth import TokenCache
from meetadmin.api.docs import install_docs
from meetadmin.api.errors import install_error_handlers
from meetadmin.api.fast_lane import FastLane
from meetadmin.api.responses import json_response
from meetadmin.api.tracking import TrackingMiddleware
from meetadmin.control.routers import control_router
from meetadmin.outbound.dispatch import Dispatcher
from meetadmin.settings import Settings, get_settings
from meetadmin.store.db import Units, make_engine, make_sessionmaker
from meetadmin.store.writer import Writer

# session_types before meetings: /meetings/sessionTypes must win over /meetings/{meetingId}.
ROUTERS = [
    reassign.router,
    session_types.router,
    meetings.router,
    sites.router,
    preferences.router,
    people.router,
    audit.router,
    webhooks.router,
]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app. The database must already be at the latest migration (``serve`` sees to it)."""
    settings = settings or get_settings()
    owned = engine is None
    engine = engine or make_engine(settings.database_url, settings.pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        dispatcher = Dispatcher(settings, engine) if settings.webhook_dispatch else None
        if dispatcher is not None:
            dispatcher.start()  # webhook deliveries (outbound/dispatch.py)
        _app.state.dispatcher = dispatcher
        yield
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
    app.state.sessions = make_sessionmaker(engine)
    app.state.units = Units(engine)
    app.state.inline_db = engine.dialect.name == "sqlite"
    writer = Writer(engine, group_commit=settings.fast_lane)
    app.state.writer = writer
    app.state.group_commit = writer.group
    app.state.settings = settings
    app.state.token_cache = TokenCache()
    install_error_handlers(app)
    install_docs(app)
    app.add_middleware(FastLane)
    app.add_middleware(TrackingMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router, prefix="/v1")
    app.include_router(control_router())

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
