"""The dispatcher's HTTP/1.1 client: a POST on a kept-alive connection, on asyncio's own streams.

A delivery is one small POST whose answer's body is read and dropped, so the dispatcher needs little of
a general client (httpx builds request and response models and keeps a pool's bookkeeping for each
request, in the same event loop as the API). This client keeps up to ``per_origin`` connections open
per scheme, host and port (TLS for ``https``, verified with the system's certificates), writes the
request in one piece and reads the status line, the headers and the body (``Content-Length``, chunked, or
until the server closes). A connection is reused only after a complete answer that did not ask to close
it. A request sent on a reused connection that fails before any byte of the answer came back is sent
once more on a fresh one (the server may have closed the idle connection meanwhile; at least once,
contract-notes §8.3). Redirects are not followed (an answer other than 2xx is a failed attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

Origin = tuple[str, str, int]


class HttpError(Exception):
    """The request got no complete answer (refused, reset, malformed): a failed attempt."""


class _Unanswered(HttpError):
    """Failed before any byte of the answer came back."""


_MAX_HEAD = 64 * 1024


class Client:
    def __init__(self, timeout: float, per_origin: int, user_agent: str) -> None:
        self.timeout = timeout
        self.per_origin = per_origin
        self.user_agent = user_agent
        self._idle: dict[Origin, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._slots: dict[Origin, asyncio.Semaphore] = {}
        self._targets: dict[str, tuple[Origin, bytes]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body``; the answer's status. ``TimeoutError`` when the whole exchange took longer than
        the timeout; ``HttpError`` when it failed otherwise."""
        origin, path = self._target(url)
        try:
            head = self._head(origin, path, len(body), headers)
        except UnicodeError as exc:
            raise HttpError(f"InvalidURL: {exc}") from exc
        slot = self._slots.get(origin)
        if slot is None:
            slot = self._slots[origin] = asyncio.Semaphore(self.per_origin)
        async with slot, asyncio.timeout(self.timeout):
            idle = self._idle.get(origin)
            if idle:
                reader, writer = idle.pop()
                try:
                    return await self._exchange(origin, reader, writer, head + body)
                except _Unanswered:
                    pass  # the idle connection was closed by the server: once more on a new one
            reader, writer = await self._connect(origin)
            return await self._exchange(origin, reader, writer, head + body)

    def _head(self, origin: Origin, path: bytes, length: int, headers: dict[str, str]) -> bytes:
        return b"".join(
            (
                b"POST ",
                path,
                b" HTTP/1.1\r\nHost: ",
                _host_header(origin).encode("idna"),
                b"\r\nUser-Agent: ",
                self.user_agent.encode("latin-1"),
                b"\r\nContent-Length: ",
                str(length).encode(),
                b"\r\n",
                *(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items()),
                b"\r\n",
            )
        )

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for _reader, writer in idle:
                writer.close()
        self._idle.clear()

    def _target(self, url: str) -> tuple[Origin, bytes]:
        found = self._targets.get(url)
        if found is None:
            try:
                parts = urlsplit(url)
                scheme = parts.scheme.lower()
                port = parts.port or (443 if scheme == "https" else 80)
            except ValueError as exc:
                raise HttpError(f"InvalidURL: {exc}") from exc
            if scheme not in ("http", "https") or not parts.hostname:
                raise HttpError(f"InvalidURL: not an http(s) URL: {url}")
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            found = ((scheme, parts.hostname, port), path.encode("latin-1", "replace"))
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[url] = found
        return found

    async def _connect(self, origin: Origin) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            return await asyncio.open_connection(host, port, ssl=tls, limit=_MAX_HEAD)
        except OSError as exc:
            raise HttpError(f"ConnectError: {exc}") from exc

    async def _exchange(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> int:
        reuse = False
        try:
            try:
                writer.write(request)
                await writer.drain()
                line = await reader.readline()
            except (OSError, asyncio.IncompleteReadError) as exc:
                raise _Unanswered(f"{type(exc).__name__}: {exc}") from exc
            if not line:
                raise _Unanswered("RemoteProtocolError: the server closed the connection without answering")
            status, reuse = await _read_answer(line, reader)
            return status
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if reuse:
                self._idle.setdefault(origin, []).append((reader, writer))
            else:
                with contextlib.suppress(Exception):
                    writer.close()


def _host_header(origin: Origin) -> str:
    scheme, host, port = origin
    name = f"[{host}]" if ":" in host else host
    return name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"


async def _read_answer(line: bytes, reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read the rest of an answer whose status line is ``line``; its status and whether the connection
    may carry another request."""
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP answer: {line[:80]!r}")
    version, status = parts[0], int(parts[1])
    keep = version == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n"):
            break
        if not header:
            raise asyncio.IncompleteReadError(header, None)
        name, _, value = header.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif key == b"connection":
            token = value.strip().lower()
            keep = token == b"keep-alive" or (keep and token != b"close")
    if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
        return await _read_answer(await reader.readline(), reader)
    if status in (204, 304):
        return status, keep
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            await reader.readexactly(size + 2)
    elif length is not None:
        await reader.readexactly(length)
    else:
        while await reader.read(65536):
            pass
        keep = False
    return status, keep
