"""The webhook dispatcher: one asyncio task per server process (started in the app's lifespan) that
claims owed deliveries from the queue (``store.webhook_outbox``), POSTs them and records the outcome.

* **Prompt**: a commit in this process that queued events wakes it at once (the app engine's pool
  ``checkin`` after the transaction, see ``outbound.events.WAKE``); other processes' events are found by
  polling every ``webhook_poll_seconds`` (a cheap read; claims are only made when something is due).
* **Shared**: several processes claim with leases (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, write
  transactions on SQLite), so in the normal case each delivery goes out once; a killed process's claims
  are taken over when their lease runs out (twice the timeout + 10 s), so every event is delivered at
  least once.
* **Ordered**: the queue hands out a webhook's events of one meeting series one at a time, in order; the
  next goes once the one before is delivered or given up.
* **Retries**: any answer but a 2xx, a refused connection or no answer within the timeout is a failed
  attempt, tried again after ``retry_delay`` (exponential, jittered) up to ``webhook_max_attempts``
  attempts; after ``webhook_deactivate_after`` consecutive failed attempts the webhook is deactivated.
* Its database work runs on an engine of its own (two connections), in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, event

from meetadmin import __version__
from meetadmin.api.webhooks import webhook_json
from meetadmin.domain.webhooks import WebhookRow, retry_delay
from meetadmin.outbound.events import WAKE, wall_clock
from meetadmin.outbound.http import Client, HttpError
from meetadmin.outbound.signing import SIGNATURE_HEADER, signature
from meetadmin.services.common import utcnow
from meetadmin.settings import Settings
from meetadmin.store.db import make_engine
from meetadmin.store.webhook_outbox import Claimed, Outcome, anything_due, claim, finish, purge
from meetadmin.store.webhooks import webhooks_by_id
from meetadmin.store.writer import Writer

log = logging.getLogger("meetadmin.webhooks")

CONCURRENCY = 128  # deliveries in flight per process
PER_ORIGIN = 32  # connections kept open per scheme, host and port
BATCH = 32  # attempts recorded together ...
GATHER = 0.005  # ... waiting this long (seconds) for more to end after one ends
KEEP = timedelta(days=7)  # the delivery log and delivered events
PURGE_EVERY = 600.0  # seconds
EVENT_ID_HEADER = "X-Meetadmin-Event-Id"
EVENT_CREATED_HEADER = "X-Meetadmin-Event-Created"  # when the change was written (ISO 8601, UTC)
ATTEMPT_HEADER = "X-Meetadmin-Attempt"


def envelope(hook: WebhookRow, item: Claimed, heads: dict[tuple[str, str], bytes] | None = None) -> bytes:
    """The body sent: the webhook's own fields (``event`` is the event's), ``actorId`` and ``data`` (the
    stored JSON text, spliced in as it is). ``heads`` keeps the rendered fields of a webhook and event
    for the other deliveries of a round."""
    key = (hook.id, item.event)
    start = heads.get(key) if heads is not None else None
    if start is None:
        head = webhook_json(hook)
        head["event"] = item.event
        head["status"] = "active"
        start = orjson.dumps(head)[:-1] + b',"actorId":'
        if heads is not None:
            heads[key] = start
    return b"".join((start, orjson.dumps(item.actor_id), b',"data":', item.data.encode(), b"}"))


def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
    """The dispatcher's own SQLite connections commit without waiting for the disk (WAL,
    ``synchronous=NORMAL``): what it writes (leases, outcomes, the delivery log) may be lost by a power
    cut, never corrupted, and then the deliveries are simply made again (at least once, §8.3); the
    changes and their events are written by the app's connections, which wait (``FULL``). Without the
    wait a claim-and-record round costs no disk flush, ~17 % of the dispatcher's time under load."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_ISO: dict[datetime, str] = {}


def _iso(value: datetime) -> str:
    """The time as ISO 8601 UTC text (an event's time, once per event: its deliveries share it)."""
    found = _ISO.get(value)
    if found is None:
        if len(_ISO) > 4096:
            _ISO.clear()
        found = _ISO[value] = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return found


class Dispatcher:
    def __init__(self, settings: Settings, app_engine: Engine) -> None:
        self.settings = settings
        self.app_engine = app_engine
        self.engine = make_engine(
            settings.database_url, pool_size=2, sqlite_cache_mib=settings.sqlite_cache_mib
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _no_fsync)
        self.writer = Writer(self.engine, group_commit=False)
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=2 * settings.webhook_timeout_seconds + 10)
        self.finished: list[Outcome] = []
        self.inflight: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: Client | None = None
        self._next_purge = 0.0
        self._stopping = False

    # --- life ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = Client(self.settings.webhook_timeout_seconds, PER_ORIGIN, f"meetadmin/{__version__}")
        event.listen(self.app_engine, "checkin", self._on_checkin)
        self._task = asyncio.create_task(self._run(), name="meetadmin-webhooks")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            event.remove(self.app_engine, "checkin", self._on_checkin)
        if self._task is not None:  # let the loop end between rounds (never in the middle of database work)
            self._stopping = True
            self.wake()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=30)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self.inflight:  # let what is on the wire end (briefly), and record it
            await asyncio.wait(self.inflight, timeout=2)
        with contextlib.suppress(Exception):
            await self._flush()
        if self._client is not None:
            await self._client.aclose()
        self.engine.dispose()

    def wake(self) -> None:
        """Look at the queue now (thread-safe)."""
        loop, flag = self._loop, self._wake
        if loop is not None and flag is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(flag.set)

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(WAKE, False):
            self.wake()

    # --- the loop -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        looked = False  # whether the last round found the queue empty
        while not self._stopping:
            self._wake.clear()
            try:
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + PURGE_EVERY
                    await asyncio.to_thread(self._purge)
                claimed = await self._exchange(check_first=looked)
                looked = not claimed
                heads: dict[tuple[str, str], bytes] = {}
                for item, hook in claimed:
                    task = asyncio.create_task(self._deliver(item, hook, envelope(hook, item, heads)))
                    self.inflight.add(task)
                    task.add_done_callback(self.inflight.discard)
                if claimed and len(self.inflight) < CONCURRENCY // 2:
                    continue  # there may be more due
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away, say: try again at the next poll
                log.exception("webhook dispatcher: a round failed")
                looked = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.webhook_poll_seconds)
            if self.inflight and len(self.finished) < BATCH and not self._stopping:
                await asyncio.sleep(GATHER)  # let more deliveries end: one transaction records them all
            looked = looked and not self._wake.is_set()

    async def _exchange(self, check_first: bool) -> list[tuple[Claimed, WebhookRow]]:
        """One write transaction: record the attempts that ended (taken here, in the event loop's thread)
        and claim as many due rows as there is room for."""
        outcomes, self.finished = self.finished, []
        room = CONCURRENCY - len(self.inflight)
        if room < CONCURRENCY // 4:
            room = 0  # claim in batches, not one row per finished delivery
        if not outcomes and not room:
            return []
        try:
            dead, claimed = await asyncio.to_thread(self._exchange_now, outcomes, room, check_first)
        except Exception:
            self.finished = outcomes + self.finished  # keep them for the next round
            raise
        for hook in dead:
            log.warning(
                "webhook %s deactivated after %d failed attempts",
                hook,
                self.settings.webhook_deactivate_after,
            )
        return claimed

    def _exchange_now(
        self, outcomes: list[Outcome], room: int, check_first: bool
    ) -> tuple[list[str], list[tuple[Claimed, WebhookRow]]]:
        now = wall_clock()
        if not outcomes and check_first and not self.writer.read_now(lambda conn: anything_due(conn, now)):
            return [], []  # a poll that found nothing: no write transaction
        after = self.settings.webhook_deactivate_after

        def work(conn: Any) -> tuple[list[str], list[tuple[Claimed, WebhookRow]]]:
            dead = finish(conn, self.owner, outcomes, utcnow(), after) if outcomes else []
            items = claim(conn, self.owner, now, now + self.lease, room) if room else []
            hooks = webhooks_by_id(conn, [i.webhook_id for i in items])
            return dead, [(i, hooks[i.webhook_id]) for i in items if i.webhook_id in hooks]

        return self.writer.write_now(work)

    async def _flush(self) -> None:
        """Record the attempts that ended, claiming nothing (at shutdown)."""
        outcomes, self.finished = self.finished, []
        if outcomes:
            after = self.settings.webhook_deactivate_after
            await asyncio.to_thread(
                self.writer.write_now, lambda conn: finish(conn, self.owner, outcomes, utcnow(), after)
            )

    def _purge(self) -> None:
        self.writer.write_now(lambda conn: purge(conn, utcnow() - KEEP))

    async def _deliver(self, item: Claimed, hook: WebhookRow, body: bytes) -> None:
        assert self._client is not None and self._wake is not None
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: str(item.event_id),
            EVENT_CREATED_HEADER: _iso(item.event_created),
            ATTEMPT_HEADER: str(item.attempts + 1),
        }
        if hook.secret:
            headers[SIGNATURE_HEADER] = signature(hook.secret, body)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            status = await self._client.post(hook.target_url, body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except HttpError as exc:
            error = str(exc)[:500] or type(exc).__name__
        except Exception as exc:  # never leave a claimed delivery unrecorded: a failed attempt
            log.exception("webhook delivery to %s failed unexpectedly", hook.target_url)
            error = f"{type(exc).__name__}: {exc}"[:500]
        elapsed = int((time.perf_counter() - started) * 1000)
        ok = error is None
        retry_at: datetime | None = None
        made = item.attempts + 1
        if not ok and made < self.settings.webhook_max_attempts:
            retry_at = wall_clock() + timedelta(
                seconds=retry_delay(made, self.settings.webhook_retry_base_seconds)
            )
        self.finished.append(Outcome(item, ok, status, error, elapsed, retry_at))
        self._wake.set()
