"""Per-request cost of the Chaos middleware (control/chaos.py) on its own: idle (no rules, no limit), and
with a rate limit that is never reached, in memory and in Redis.

    .venv/bin/python bench/chaos_overhead.py     # the Redis line needs Redis at 127.0.0.1:6379

The whole-server figure (``./dev bench --scenarios reassign1`` with and without the middleware) is
drowned by this machine's run-to-run noise; this isolates the middleware's own cost, to set against a
reassign1 request's (about a millisecond of CPU).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from meetadmin.control.chaos import Chaos, ChaosState
from meetadmin.settings import Settings

HEADERS = [
    (b"host", b"127.0.0.1"),
    (b"authorization", b"Bearer ma_abcdefghijklmnopqrstuvwxyz0123456789"),
    (b"content-type", b"application/json"),
    (b"content-length", b"80"),
]


async def inner(scope: Any, receive: Any, send: Any) -> None:
    return None


async def measure(settings: Settings, n: int) -> AsyncIterator[tuple[bool, float]]:
    state = ChaosState(settings)
    await state.start()
    app = SimpleNamespace(state=SimpleNamespace(chaos=state))
    middleware = Chaos(inner)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/meetings/reassignHost",
        "app": app,
        "headers": HEADERS,
        "state": {"tracking_id": "T"},
    }
    for target in (inner, middleware):
        best = 1e9
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n):
                await target(scope, None, None)
            best = min(best, (time.perf_counter() - started) / n)
        yield target is middleware, best
    await state.close()


async def main() -> None:
    cases = [
        ("idle (no rules, no limit)", Settings(), 200_000),
        ("memory limit 1000000/1", Settings(rate_limit="1000000/1"), 20_000),
        (
            "redis limit 1000000/1",
            Settings(rate_limit="1000000/1", redis_url="redis://127.0.0.1:6379/0", redis_prefix="bench"),
            3000,
        ),
    ]
    for label, settings, n in cases:
        got = {with_chaos: seconds async for with_chaos, seconds in measure(settings, n)}
        print(
            f"{label:<28} inner alone {got[False] * 1e6:7.2f} us, with Chaos {got[True] * 1e6:7.2f} us: "
            f"{(got[True] - got[False]) * 1e6:7.2f} us per request"
        )


if __name__ == "__main__":
    asyncio.run(main())
