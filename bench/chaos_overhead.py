"""Per-request cost of the Chaos middleware (control/chaos.py) on its own: idle (no rules, no limit), and
with a rate limit that is never reached, in memory and in Redis; then, paired, the whole app in process
with and without it on one-meeting reassignments (blocks of 100 concurrent requests, alternating).

    .venv/bin/python bench/chaos_overhead.py     # the Redis line needs Redis at 127.0.0.1:6379

The whole-server figure (``./dev bench --scenarios reassign1`` with and without the middleware) is
drowned by this machine's run-to-run noise; the paired blocks cancel most of it.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import world
from meetadmin.app import create_app
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


async def inner_receive() -> dict[str, Any]:  # never called: the inner app reads nothing
    return {"type": "http.request", "body": b""}


async def inner_send(message: Any) -> None:
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
        "state": {
            "tracking_id": "T",
            "bearer": "ma_abcdefghijklmnopqrstuvwxyz0123456789",
        },  # as the gate parses it
    }
    for target in (inner, middleware):
        best = 1e9
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n):
                await target(scope, inner_receive, inner_send)
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


async def paired(blocks: int = 30, size: int = 100) -> None:
    url = f"sqlite:///{tempfile.mkdtemp(prefix='meetadmin-chaos-')}/bench.db"
    world.create(url, 1000, 10_000)
    clients = {}
    for with_chaos in (True, False):
        app = create_app(Settings(database_url=url))
        if not with_chaos:
            app.user_middleware = [m for m in app.user_middleware if m.cls is not Chaos]  # type: ignore[comparison-overlap]
        clients[with_chaos] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    headers = {"Authorization": f"Bearer {world.TOKEN}"}
    host = [i % 10_000 for i in range(1000)]
    sent = 0

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal sent
        i, sent = sent % 1000, sent + 1
        new = random.randrange(10_000)
        while new == host[i]:
            new = random.randrange(10_000)
        host[i] = new
        body = {"hostEmail": world.person_email(new), "meetingIds": [world.series_id(i)]}
        answer = await client.post("/v1/meetings/reassignHost", headers=headers, json=body)
        assert answer.status_code == 204, answer.text

    async def block(client: httpx.AsyncClient) -> float:
        started = time.process_time()
        await asyncio.gather(*(one(client) for _ in range(size)))
        return (time.process_time() - started) / size

    for client in clients.values():
        for _ in range(3):
            await block(client)
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for n in range(blocks):
        for with_chaos in (n % 2 == 0, n % 2 == 1):
            cpu[with_chaos].append(await block(clients[with_chaos]))
    diffs = [a - b for a, b in zip(cpu[True], cpu[False], strict=True)]
    for with_chaos in (False, True):
        label = "app with Chaos (idle)" if with_chaos else "app without Chaos"
        print(f"{label:<28} median {statistics.median(cpu[with_chaos]) * 1e3:.3f} ms CPU per reassign1")
    print(f"paired difference            median {statistics.median(diffs) * 1e6:+.1f} us per request")


if __name__ == "__main__":
    asyncio.run(main())
    asyncio.run(paired())
