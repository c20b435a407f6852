"""The clock: ``GET`` / ``PUT`` / ``DELETE /_meetadmin/clock`` (contract-notes §8.4), and the follower
that keeps each server process's clock (``meetadmin.clock``) on the setting in the database.

``PUT {"now": "<ISO 8601>"}`` freezes the time there (it stays there until changed); ``PUT
{"offsetSeconds": N}`` runs it N seconds ahead of real time (behind when negative), replacing a freeze;
``PUT {"advanceSeconds": N}`` moves the sandbox's time N seconds on from where it is now and keeps the
mode (a frozen clock stays frozen N seconds later; a running one runs N seconds further ahead). ``DELETE``
goes back to real time. Each answers (or, DELETE, is followed by) the clock as ``GET`` shows it:
``{"now", "mode": "real" | "frozen" | "offset", "offsetSeconds", "frozenAt"}``.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response

from meetadmin import clock
from meetadmin.api.auth import TokenCache
from meetadmin.api.deps import writer
from meetadmin.api.responses import json_response
from meetadmin.clock import ClockSetting
from meetadmin.errors import BadRequest
from meetadmin.store.sandbox import SandboxRow, read_sandbox, write_clock

router = APIRouter()
MAX_OFFSET_SECONDS = 100 * 366 * 86400  # a century either way


def clock_json(setting: ClockSetting) -> dict[str, Any]:
    now = clock.now() if setting == clock.current() else _now_under(setting)
    return {
        "now": iso(now),
        "mode": setting.mode,
        "offsetSeconds": setting.offset_seconds if setting.frozen_at is None else None,
        "frozenAt": iso(setting.frozen_at) if setting.frozen_at is not None else None,
    }


def iso(value: datetime) -> str:
    text = value.isoformat(timespec="milliseconds")
    return f"{text}Z"


def _now_under(setting: ClockSetting) -> datetime:
    if setting.frozen_at is not None:
        return setting.frozen_at
    return clock.system_now() + timedelta(seconds=setting.offset_seconds)


def parse_instant(value: object) -> datetime:
    """An ISO 8601 instant as naive UTC (no zone: UTC); 400 otherwise."""
    if not isinstance(value, str):
        raise BadRequest("'now' must be an ISO 8601 date and time, e.g. 2027-03-01T09:00:00Z.")
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as exc:
        raise BadRequest(f"'now' is not an ISO 8601 date and time: '{value[:64]}'.") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _seconds(body: dict[str, Any], key: str) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"'{key}' must be a number of seconds.")
    if abs(value) > MAX_OFFSET_SECONDS:
        raise BadRequest(f"'{key}' must lie within a century ({MAX_OFFSET_SECONDS} seconds) either way.")
    return float(value)


def wanted_setting(body: object, current: ClockSetting) -> ClockSetting:
    """The setting a PUT body asks for; 400 unless it names exactly one of the three keys."""
    keys = ("now", "offsetSeconds", "advanceSeconds")
    if not isinstance(body, dict):
        raise BadRequest('Send {"now": "<ISO 8601>"}, {"offsetSeconds": N} or {"advanceSeconds": N}.')
    given = [k for k in keys if k in body]
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise BadRequest(f"Unknown key '{unknown[0]}': the clock takes one of {', '.join(keys)}.")
    if len(given) != 1:
        raise BadRequest(f"Send exactly one of {', '.join(keys)}.")
    if given[0] == "now":
        return ClockSetting(frozen_at=parse_instant(body["now"]))
    seconds = _seconds(body, given[0])
    if given[0] == "offsetSeconds":
        return ClockSetting(offset_seconds=seconds)
    if current.frozen_at is not None:
        try:
            return ClockSetting(frozen_at=current.frozen_at + timedelta(seconds=seconds))
        except OverflowError as exc:
            raise BadRequest("The clock would leave the years 1 to 9999.") from exc
    return ClockSetting(offset_seconds=current.offset_seconds + seconds)


async def read_body(request: Request) -> object:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except ValueError as exc:
        raise BadRequest("The body is not valid JSON.") from exc


@router.get("/clock")
async def get_clock(request: Request) -> Response:
    await refresh(request.app)
    return json_response(clock_json(clock.current()))


@router.put("/clock")
async def put_clock(request: Request) -> Response:
    body = await read_body(request)
    current = (await writer(request).read(read_sandbox)).clock
    setting = wanted_setting(body, current)
    await writer(request).write(lambda conn: write_clock(conn, setting, clock.system_now()))
    clock.follow(setting)
    return json_response(clock_json(setting))


@router.delete("/clock")
async def delete_clock(request: Request) -> Response:
    await writer(request).write(lambda conn: write_clock(conn, clock.REAL, clock.system_now()))
    clock.follow(clock.REAL)
    return Response(status_code=204)


# --- following the setting in the database -----------------------------------------------------------


async def refresh(app: FastAPI) -> SandboxRow:
    """Read the sandbox row and follow it: the clock, and a new state generation (a restore, in this
    process or another) drops the cached tokens."""
    row: SandboxRow = await app.state.writer.read(read_sandbox)
    clock.follow(row.clock)
    if row.state_generation != getattr(app.state, "state_generation", row.state_generation):
        app.state.token_cache = TokenCache()
    app.state.state_generation = row.state_generation
    return row


async def follow_forever(app: FastAPI, every_seconds: float) -> None:
    """Refresh every ``every_seconds`` (the lifespan runs it as a task): one small query a second per
    process, never one per request."""
    while True:
        await asyncio.sleep(every_seconds)
        with suppress(Exception):  # a database that is briefly away: keep the last setting, try again
            await refresh(app)
