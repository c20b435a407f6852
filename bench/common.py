"""What the benchmarks share: the scenarios, request bodies where every request changes something, and
finding a free port and waiting for a server (``run.py`` for meetadmin, ``floor.py`` for the floor)."""

from __future__ import annotations

import itertools
import json
import random
import socket
import time
import urllib.request
from collections.abc import Callable

import loadgen
import world

SCENARIOS = ("reassign1", "reassign100", "reassign100scattered", "pmr_system100", "pmr_explicit100")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(port: int, exited: Callable[[], object] = lambda: None) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            if exited() is not None:
                raise SystemExit("server exited") from None
            time.sleep(0.1)
    raise SystemExit("server did not come up")


class Requests:
    """Request bodies where every request really changes something."""

    def __init__(self, series: int, people: int, port: int) -> None:
        self.series, self.people = series, people
        self.host_of = [i % people for i in range(series)]
        self.cursor = itertools.count()
        self.person_cursor = itertools.count()
        self.explicit = itertools.count()
        self.headers = {"Authorization": f"Bearer {world.TOKEN}", "Content-Type": "application/json"}
        self.hostport = f"127.0.0.1:{port}"

    def _post(self, path: str, body: object) -> bytes:
        return loadgen.request_bytes("POST", path, self.hostport, self.headers, json.dumps(body).encode())

    def scenario(self, name: str) -> Callable[[], bytes]:
        """The request maker of one of ``SCENARIOS``."""
        return {
            "reassign1": lambda: self.reassign(1),
            "reassign100": lambda: self.reassign(100),
            "reassign100scattered": lambda: self.reassign(100, scattered=True),
            "pmr_system100": lambda: self.pmr_system(100),
            "pmr_explicit100": lambda: self.pmr_explicit(100),
        }[name]()

    def reassign(self, batch: int, scattered: bool = False) -> Callable[[], bytes]:
        """``batch`` series created one after another (neighbours in the table, each of another host
        until a request has moved them together: from then on they share their old host too), or with
        ``scattered`` anywhere in the organisation (each on its own table page and of its own host)."""

        def make() -> bytes:
            if scattered:
                ids = random.sample(range(self.series), batch)
            else:
                start = next(self.cursor) * batch % self.series
                ids = [(start + k) % self.series for k in range(batch)]
            current = {self.host_of[i] for i in ids}
            new = random.randrange(self.people)
            while new in current:
                new = random.randrange(self.people)
            for i in ids:
                self.host_of[i] = new
            body = {"hostEmail": world.person_email(new), "meetingIds": [world.series_id(i) for i in ids]}
            return self._post("/v1/meetings/reassignHost", body)

        return make

    def _people(self, batch: int) -> list[int]:
        start = next(self.person_cursor) * batch % self.people
        return [(start + k) % self.people for k in range(batch)]

    def pmr_system(self, batch: int) -> Callable[[], bytes]:
        def make() -> bytes:
            items = [{"email": world.person_email(p), "systemGenerated": True} for p in self._people(batch)]
            return self._post(
                "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId",
                {"siteUrl": world.SITE, "personalMeetingRoomIds": items},
            )

        return make

    def pmr_explicit(self, batch: int) -> Callable[[], bytes]:
        def make() -> bytes:
            items = [
                {"email": world.person_email(p), "personalMeetingRoomId": f"bx{next(self.explicit):012d}"}
                for p in self._people(batch)
            ]
            return self._post(
                "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId",
                {"siteUrl": world.SITE, "personalMeetingRoomIds": items},
            )

        return make
