"""A small keep-alive HTTP/1.1 load generator on raw asyncio streams (low overhead, loopback only)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    connections: int,
    duration: float | None = None,
    total: int | None = None,
    rate: float | None = None,
) -> Result:
    """Send requests made by ``make_request`` on ``connections`` connections for ``duration`` seconds
    (or until ``total`` requests are done); with ``rate``, no more than that many a second (request k is
    not sent before ``k / rate`` seconds after the start)."""
    result = Result()
    sent = 0
    start = time.perf_counter()
    deadline = start + duration if duration else float("inf")

    async def worker() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline and (total is None or sent < total):
                sent += 1
                if rate:
                    due = start + (sent - 1) / rate
                    if due >= deadline:
                        break
                    await asyncio.sleep(due - time.perf_counter())
                payload = make_request()
                t0 = time.perf_counter()
                writer.write(payload)
                status = await _read_response(reader)
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed = time.perf_counter() - start
    if rate and duration:
        result.elapsed = max(result.elapsed, duration)  # the rate asked for was kept up over the duration
    return result
