"""What the control plane does while a server process runs: follow the sandbox clock and state
generation in the database, and take the start-up snapshot that ``POST /_meetadmin/reset`` goes back to
(when the control plane is on: a control token is set).

The processes of one ``meetadmin serve --workers N`` share a start-up ID (``MEETADMIN_STARTUP_ID``, set
by ``serve``), so only the first of them saves ``__startup__``; a later start (another ID) saves it
again: reset returns to the state of the latest start. A process started otherwise (``uvicorn
--factory meetadmin.app:create_app``) is a start of its own.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from meetadmin import clock
from meetadmin.control.clock import follow_forever, refresh
from meetadmin.services.snapshots import take_startup_snapshot
from meetadmin.store.writer import Retry

STARTUP_ID_ENV = "MEETADMIN_STARTUP_ID"


@asynccontextmanager
async def control_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    await refresh(app)
    if settings.startup_snapshot and settings.control_token:  # no control plane, no reset to go back with
        startup_id = os.environ.get(STARTUP_ID_ENV) or uuid.uuid4().hex
        retry = Retry(5, "Another process took the start-up snapshot at the same moment.")
        await app.state.writer.write(lambda conn: take_startup_snapshot(conn, startup_id), retry)
    task = asyncio.create_task(follow_forever(app, settings.clock_refresh_seconds))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        clock.follow(clock.REAL)
