"""Rate limits per token over every ``/v1`` operation (contract-notes §8.4), counted by the ``limits``
library's moving window: in this process's memory, or in Redis across every server process when
``MEETADMIN_REDIS_URL`` is set.

The limit in force starts as ``MEETADMIN_RATE_LIMIT`` (``N/S``) and changes at run time through the control
plane. With Redis the run-time setting is kept there too (one key), so that every process applies it:
each process reads it again at most every ``SYNC_SECONDS`` while it serves requests, and writes its
start setting there when it starts. Without Redis it is this process's alone.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

SYNC_SECONDS = 0.5
MESSAGE = (
    "The user has sent too many requests in a given amount of time. "
    "Please refer to the Retry-After response header for details."
)
_FORM = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,7})\s*")


@dataclass(frozen=True)
class Limit:
    """``requests`` per ``per_seconds`` seconds, per token."""

    requests: int
    per_seconds: int

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds < 1:
            raise ValueError("a rate limit needs at least 1 request per at least 1 second")

    @property
    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.requests, self.per_seconds)

    def text(self) -> str:
        return f"{self.requests}/{self.per_seconds}"


def parse_limit(value: str | None) -> Limit | None:
    """``"N/S"`` (N requests per S seconds); ``None``, ``""`` or ``"off"`` for no limit."""
    if value is None or value.strip().lower() in ("", "off", "none"):
        return None
    match = _FORM.fullmatch(value)
    if match is None:
        raise ValueError(f"a rate limit is 'N/S' (N requests per S seconds) or 'off', not {value!r}")
    return Limit(int(match[1]), int(match[2]))


def retry_after_seconds(reset_at: float, now: float) -> int:
    """Whole seconds after which the window has room again: strictly after ``reset_at``, at least 1."""
    return max(1, int(max(0.0, reset_at - now)) + 1)


class Counter(Protocol):
    async def hit(self, limit: Limit, key: str) -> int | None:
        """Count one request; ``None`` when it is allowed, else the ``Retry-After`` seconds."""

    async def forget(self) -> None:
        """Drop every count: a limit set (again) starts from nothing."""

    async def close(self) -> None: ...


class MemoryCounter:
    """This process's counts (``limits``' in-memory storage; its calls do no I/O)."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, limit: Limit, key: str) -> int | None:
        item = limit.item
        if self.limiter.hit(item, key):
            return None
        reset_at, _remaining = self.limiter.get_window_stats(item, key)
        return retry_after_seconds(reset_at, time.time())

    async def forget(self) -> None:
        self.storage.reset()

    async def close(self) -> None:
        return None


class RedisCounter:
    """Counts shared by every process that uses the same Redis and prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        uri = url if url.startswith("async+") else f"async+{url}"
        self.storage = AsyncRedisStorage(uri, implementation="redispy", key_prefix=f"{prefix}:limits")
        self.limiter = AsyncMovingWindow(self.storage)

    async def hit(self, limit: Limit, key: str) -> int | None:
        item = limit.item
        if await self.limiter.hit(item, key):
            return None
        reset_at, _remaining = await self.limiter.get_window_stats(item, key)
        return retry_after_seconds(reset_at, time.time())

    async def forget(self) -> None:
        await self.storage.reset()

    async def close(self) -> None:
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()


class SharedSetting:
    """The run-time limit, kept in Redis so that every process applies it (``off`` for none)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = Redis.from_url(url)
        self.key = f"{prefix}:rate-limit"

    async def read(self) -> tuple[bool, Limit | None]:
        """``(found, limit)``: whether the key is there, and the limit it holds."""
        value = await self.redis.get(self.key)
        if value is None:
            return False, None
        try:
            text = value.decode() if isinstance(value, bytes) else str(value)
            return True, parse_limit(text)
        except ValueError:
            return False, None

    async def write(self, limit: Limit | None) -> None:
        await self.redis.set(self.key, limit.text() if limit else "off")

    async def close(self) -> None:
        await self.redis.aclose()
