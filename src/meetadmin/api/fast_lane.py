"""A fast lane for the two bulk POST operations that admin tools call in a loop:
``/v1/meetings/reassignHost`` and ``/v1/admin/meetingPreferences/personalMeetingRoom/refreshId``.

FastAPI's per-request machinery (routing, dependency solving, a worker thread) costs more CPU than a
one-meeting reassignment itself. This pure ASGI middleware runs the same checks, the same service and
the same answer without it, but only for requests it can answer with success: a known (cached) bearer
token, a JSON body that the route's own model accepts, no ``Idempotency-Key``. Any other request, and
any request whose work raises (which rolls it back), goes on to the FastAPI route, body included, and
gets the one canonical answer from there. So the lane can make a request faster but never answer it
differently. On SQLite the lane's work is group-committed (``store/group_commit.py``): each request
in a savepoint of its own, one durable commit for all that were waiting. ``MEETADMIN_FAST_LANE=false``
turns the lane off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetadmin.api import preferences, reassign
from meetadmin.api.auth import Principal, TokenCache
from meetadmin.services.pmr import refresh_room_ids
from meetadmin.store.db import Units
from meetadmin.store.tokens import hash_token

_WANTED = {b"authorization", b"content-type", b"content-length", b"siteurl", b"idempotency-key"}


@dataclass(frozen=True)
class Lane:
    """How to answer one operation, in the route's own three steps: its body model; ``check(principal,
    siteUrl header, body)``, what needs no database; ``work(units, checked, tracking_id)``, the
    transaction; and ``answer(outcome)``, the response. Only ``work`` runs on the writer (or a worker
    thread): checking and answering stay in the event loop, off the one thread every write waits for."""

    model: type[BaseModel]
    check: Callable[[Principal, str | None, Any], Any]
    work: Callable[[Units, Any, str], Any]
    answer: Callable[[Any], Response]


def _reassign_check(principal: Principal, site_url: str | None, body: Any) -> Any:
    return principal, site_url, reassign.check(principal, body)


def _reassign_work(units: Units, checked: Any, tid: str) -> Any:
    principal, site_url, body = checked
    return reassign.work(units, principal, site_url, body, tid, apply=True)


def _refresh_check(principal: Principal, _site_url: str | None, body: Any) -> Any:
    return preferences.check(principal, body)


def _refresh_work(units: Units, checked: Any, tid: str) -> Any:
    # No retry here: a refresh that loses a race raises, and the route runs it again with REFRESH_RETRY.
    with units.begin(write=True) as conn:
        return refresh_room_ids(conn, checked, tid)


LANES = {
    "/v1/meetings/reassignHost": Lane(
        reassign.ReassignMeetingRequest, _reassign_check, _reassign_work, reassign.answer
    ),
    "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId": Lane(
        preferences.BatchRefreshPMRID, _refresh_check, _refresh_work, preferences.answer
    ),
}


class FastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = LANES.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if lane is None or not scope["app"].state.settings.fast_lane:
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, list[bytes]] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                headers.setdefault(name, []).append(value)
        if not _plain(headers):
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive)
        call = None if body is None else _call(scope, lane, headers, body)
        response = None if call is None else await _answer(scope, lane, call)
        if response is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        await response(scope, receive, send)


def _plain(headers: dict[bytes, list[bytes]]) -> bool:
    """A request the lane may take: one JSON body of a declared length, a bearer token, one siteUrl at
    most and no Idempotency-Key (keyed requests keep their record on the route)."""
    if b"idempotency-key" in headers or len(headers.get(b"siteurl", [])) > 1:
        return False
    if len(headers.get(b"content-length", [])) != 1 or len(headers.get(b"authorization", [])) != 1:
        return False
    media = headers.get(b"content-type", [b""])[0].split(b";", 1)[0].strip().lower()
    return media == b"application/json"


async def _read_body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body, and the messages it came in (to hand on unread when the lane passes)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _call(scope: Scope, lane: Lane, headers: dict[bytes, list[bytes]], raw: bytes) -> Any:
    """The request, checked as far as it can be without the database; None when the route must look
    at it (an unknown token, a body the model refuses, anything the check refuses)."""
    scheme, _, token = headers[b"authorization"][0].decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        return None
    cache: TokenCache = scope["app"].state.token_cache
    principal = cache.get(hash_token(token))
    site_header = headers.get(b"siteurl")
    site_url = site_header[0].decode("latin-1") if site_header else None
    if principal is None or (site_url is not None and len(site_url) > 255):
        return None
    try:
        # orjson accepts a subset of what the route's json.loads does, with the same values; what it
        # refuses (NaN, UTF-16, huge integers, lone surrogates) the route sees for itself.
        body = lane.model.model_validate(orjson.loads(raw))
        return lane.check(principal, site_url, body)
    except Exception:  # not JSON, not what the model accepts, or refused: the route says why
        return None


async def _answer(scope: Scope, lane: Lane, checked: Any) -> Response | None:
    """The route's answer, or None for the route to give it: a refusal (or failure) is given the same
    way there, and a refused request has rolled back and changed nothing."""
    state = scope["app"].state
    tracking_id = str(scope.get("state", {}).get("tracking_id", ""))

    def work(units: Units) -> Any:
        return lane.work(units, checked, tracking_id)

    try:
        if state.group_commit is not None:  # SQLite: committed together with whatever else is waiting
            outcome = await state.group_commit.run(lambda conn: work(Units.within(conn)))
        else:
            outcome = await run_in_threadpool(work, state.units)
    except Exception:
        return None
    return lane.answer(outcome)
