"""A real HTTP receiver for webhook tests: a threaded ``http.server`` on a free loopback port that keeps
every request (headers, exact body bytes) and answers ``status`` (settable; 200 by default)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.status = 200
        self.fail_every = 0  # with N > 0, every Nth request is answered 500 (to exercise retries)
        self.holding = False  # hold requests until ``released`` is set, then answer 503 unrecorded
        self.released = threading.Event()
        self.received: list[Received] = []
        self.attempts = 0  # requests answered, whatever the status
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if receiver.holding:
                    receiver.released.wait(60)
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.attempts += 1
                    status = receiver.status
                    if receiver.fail_every and receiver.attempts % receiver.fail_every == 0:
                        status = 500
                    if 200 <= status < 300:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver.received.append(Received(self.path, headers, body))
                    receiver._lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender that went away (killed) mid-request

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 60.0) -> None:
        """Block until ``condition(self)`` holds (a bound, not a timing assertion: it fails only if nothing
        comes at all)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: condition not met; got {len(self.received)} deliveries")
                self._lock.wait(min(left, 0.2))

    def events(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.received]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver._thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
