"""The sandbox misbehaving on demand, as one pure ASGI middleware: rate limits and fault rules on every
``/v1`` request, the fast lane's included (contract-notes §8.4).

It sits inside the gate (``api/gate.py``: its tracking ID and bearer token are used here, and the gate
puts the ``TrackingID`` header on these answers too) and in front of both the fast path and the routes.
With no limit and no rule (the default) a request costs it two attribute checks. The
state it applies (``ChaosState``, ``app.state.chaos``) is changed by the control plane
(``control/chaos_api.py``).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meetadmin.control.faults import FaultRule, FaultRules, fault_message
from meetadmin.control.rate_limits import (
    MESSAGE,
    SYNC_SECONDS,
    Counter,
    Limit,
    MemoryCounter,
    RedisCounter,
    SharedSetting,
    parse_limit,
)
from meetadmin.domain.people import hash_token
from meetadmin.settings import Settings


class ChaosState:
    """The rate limit in force and the fault rules of one app (one server process)."""

    def __init__(self, settings: Settings) -> None:
        self.start_limit = parse_limit(settings.rate_limit)
        self.limit: Limit | None = self.start_limit
        self.faults = FaultRules(random.Random(settings.fault_seed))
        self.counter: Counter
        self.shared: SharedSetting | None = None
        if settings.redis_url:
            self.counter = RedisCounter(settings.redis_url, settings.redis_prefix)
            self.shared = SharedSetting(settings.redis_url, settings.redis_prefix)
        else:
            self.counter = MemoryCounter()
        self.next_sync = 0.0
        self.idle = True
        self._update()

    def _update(self) -> None:
        self.idle = self.limit is None and not self.faults.rules and self.shared is None

    @property
    def shared_across_processes(self) -> bool:
        return self.shared is not None

    async def start(self) -> None:
        """At start-up: with Redis, every process's start setting becomes the shared one."""
        if self.shared is not None:
            await self.shared.write(self.start_limit)
            self.next_sync = time.monotonic() + SYNC_SECONDS

    async def close(self) -> None:
        await self.counter.close()
        if self.shared is not None:
            await self.shared.close()

    async def set_limit(self, limit: Limit | None) -> None:
        """A limit set at run time (or again) counts from nothing: a test that sets one is not refused
        for what earlier tests sent."""
        await self.counter.forget()
        if self.shared is not None:
            await self.shared.write(limit)
            self.next_sync = time.monotonic() + SYNC_SECONDS
        self.limit = limit
        self._update()

    async def sync(self) -> None:
        """Take the shared run-time limit from Redis (every ``SYNC_SECONDS`` at most)."""
        self.next_sync = time.monotonic() + SYNC_SECONDS
        if self.shared is None:
            return
        found, limit = await self.shared.read()
        if found:
            self.limit = limit

    def rules_changed(self) -> None:
        self._update()

    async def reset(self) -> None:
        """Back to the start: no fault rules and the start limit (for ``POST /_meetadmin/reset``)."""
        self.faults.clear()
        await self.set_limit(self.start_limit)


def _bearer_hash(scope: Scope) -> str | None:
    """The rate limit's key: the hash of the bearer token the gate parsed (``api/gate.py``)."""
    token = scope["state"]["bearer"]
    return hash_token(token) if token else None


def _tracking_id(scope: Scope) -> str:
    return str(scope.get("state", {}).get("tracking_id", ""))


async def _answer(scope: Scope, send: Send, status: int, message: str, why: str, retry_after: Any) -> None:
    body = orjson.dumps(
        {"message": message, "errors": [{"description": why}], "trackingId": _tracking_id(scope)}
    )
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Chaos:
    """Rate limits, then fault rules, for ``/v1/...`` requests; anything else passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: ChaosState | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        if state is None:
            state = self.state = scope["app"].state.chaos
        if state.idle or scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if state.shared is not None and time.monotonic() >= state.next_sync:
            await state.sync()
        limit = state.limit
        if limit is not None:
            key = _bearer_hash(scope)
            wait = None if key is None else await state.counter.hit(limit, key)
            if wait is not None:
                why = f"At most {limit.requests} requests per {limit.per_seconds} s per token."
                await _answer(scope, send, 429, MESSAGE, why, wait)
                return
        rule = state.faults.pick(scope["method"], scope["path"]) if state.faults.rules else None
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.spec.phase == "before":
            await self._fault(rule, scope, send)
            if rule.spec.status is None:
                await self.app(scope, receive, send)
        else:
            if rule.spec.status is None:
                await self.app(scope, receive, _delayed(send, rule.spec.latency_ms or 0))
                return
            await self.app(scope, receive, _swallow)
            await self._fault(rule, scope, send)

    async def _fault(self, rule: FaultRule, scope: Scope, send: Send) -> None:
        spec = rule.spec
        if spec.latency_ms:
            await asyncio.sleep(spec.latency_ms / 1000)
        if spec.status is None:
            return
        why = f"Fault rule {rule.id} of the meetadmin sandbox ({spec.phase} the work)."
        await _answer(scope, send, spec.status, fault_message(spec.status), why, spec.retry_after)


async def _swallow(_message: Message) -> None:
    return None


def _delayed(send: Send, latency_ms: int) -> Send:
    """``send`` that waits ``latency_ms`` before the response starts (the work is already done)."""

    async def late(message: Message) -> None:
        if message["type"] == "http.response.start" and latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        await send(message)

    return late
