"""The dispatcher's HTTP client: aiohttp, with kept-alive connections per receiver.

A delivery is one small POST whose answer's body is read and dropped. httpx spent several times the CPU
of the rest of a delivery on it (its request and response models, its pool's bookkeeping), which capped
a process at some hundreds of deliveries a second; aiohttp's client does the same work for a fraction.
Up to ``per_origin`` connections are kept open per scheme, host and port (TLS certificates verified by
aiohttp's defaults). Redirects are not followed: an answer other than 2xx is a failed attempt. A request
whose connection the receiver closed before any answer came back (an idle kept-alive connection it
dropped meanwhile) is sent once more on a fresh one: at least once, contract-notes §8.3.
"""

from __future__ import annotations

import asyncio

import aiohttp


class HttpError(Exception):
    """The request got no complete answer (refused, reset, malformed, unusable URL): a failed attempt."""


class Client:
    def __init__(self, timeout: float, per_origin: int, user_agent: str) -> None:
        self.timeout = timeout
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=per_origin),
            headers={"User-Agent": user_agent},
            skip_auto_headers=("Accept-Encoding",),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body``; the answer's status. ``TimeoutError`` when the whole exchange took longer than
        the timeout; ``HttpError`` when it failed otherwise."""
        async with asyncio.timeout(self.timeout):
            try:
                return await self._post(url, body, headers)
            except aiohttp.ServerDisconnectedError:
                return await self._post(url, body, headers)  # once more, on a fresh connection

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as answer:
                await answer.read()
                return answer.status
        except aiohttp.ServerDisconnectedError:
            raise
        except (aiohttp.ClientError, ValueError, UnicodeError) as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        await self._session.close()
