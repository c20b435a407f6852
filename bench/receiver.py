"""A minimal webhook receiver for the benchmark (its own process, raw asyncio, keep-alive HTTP/1.1).

Every POST is answered 200 at once and its delivery lag is recorded: the receiver's clock minus the
change's time (``X-Meetadmin-Event-Created``, written with the change in its transaction).
``GET /stats`` answers ``{"count", "p50", "p99", "max"}`` (milliseconds); ``POST /reset`` starts again.

    python bench/receiver.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

lags: list[float] = []


def _stats() -> bytes:
    ordered = sorted(lags)

    def pct(p: float) -> float | None:
        return (
            round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 1) if ordered else None
        )

    return json.dumps(
        {
            "count": len(ordered),
            "p50": pct(50),
            "p99": pct(99),
            "max": round(ordered[-1] * 1000, 1) if ordered else None,
        }
    ).encode()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, path = lines[0].split(b" ")[:2]
            length, created = 0, None
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                key = name.strip().lower()
                if key == b"content-length":
                    length = int(value)
                elif key == b"x-meetadmin-event-created":
                    created = value.strip().decode()
            if length:
                await reader.readexactly(length)
            body = b""
            if method == b"POST" and path == b"/reset":
                lags.clear()
            elif method == b"GET" and path == b"/stats":
                body = _stats()
            elif created is not None:
                sent = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                lags.append((datetime.now(UTC) - sent).total_seconds())
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
