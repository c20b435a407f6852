"""The mail sender: an asyncio task in each server process that sends pending notices through SMTP.

It runs only when ``MEETADMIN_SMTP_URL`` is set (``smtp://host:port``; ``smtps://`` for TLS from
the start; ``user:password@`` to log in). Each round claims the due notices (``store.notices.claim_due``:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several processes never claim the same notice; SQLite's
write transaction otherwise), sends them over one SMTP connection, then records each outcome: sent,
or a failed attempt retried after ``mail_retry_base_seconds`` (doubling, with jitter) until
``mail_max_attempts`` is spent, then ``failed``. At least once: a process stopped between sending and
recording sends again after the claim's lease.

The sender wakes as soon as a commit of its own process has added notices (listeners on the engine's
rollbacks and its pool's check-ins, see ``store.notices.ADDED``), when a retry is due, and otherwise every
``mail_poll_seconds`` (for notices of other processes). With or without SMTP it forgets notices older
than ``mail_keep_days`` now and then (the mailbox never shows them anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import Connection, Engine, event

from meetadmin.clock import system_now
from meetadmin.outbound.mail import message
from meetadmin.services.common import utcnow
from meetadmin.settings import Settings
from meetadmin.store.notices import ADDED, NoticeRow, claim_due, next_due, prune, record_failure, record_sent
from meetadmin.store.writer import Writer

log = logging.getLogger("meetadmin.mail")

BATCH = 50  # notices claimed and sent per round (one SMTP connection)
PRUNE_EVERY = 600.0  # seconds between prunes of old notices
FIRST_PRUNE = 60.0  # seconds after start


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """``smtp://[user:password@]host[:port]`` (port 25) or ``smtps://...`` (TLS, port 465)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"MEETADMIN_SMTP_URL must look like smtp://host:port, not {url!r}.")
        tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if tls else 25)
        except ValueError as exc:
            raise ValueError(f"MEETADMIN_SMTP_URL has no valid port: {url!r}.") from exc
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def retry_delay(failed_attempts: int, base: float, jitter: float) -> float:
    """Seconds before the next attempt after ``failed_attempts`` failures: ``base``, then doubling,
    times ``jitter`` (drawn between 0.75 and 1.25, so that many notices don't retry in step)."""
    return float(base * 2 ** max(failed_attempts - 1, 0) * jitter)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class MailSender:
    def __init__(self, engine: Engine, writer: Writer, settings: Settings) -> None:
        self.engine = engine
        self.writer = writer
        self.smtp = SmtpTarget.parse(settings.smtp_url) if settings.smtp_url else None
        self.sender = settings.mail_from
        self.timeout = settings.mail_timeout_seconds
        self.max_attempts = max(settings.mail_max_attempts, 1)
        self.retry_base = settings.mail_retry_base_seconds
        self.poll = max(settings.mail_poll_seconds, 0.01)
        self.keep = timedelta(days=settings.mail_keep_days)
        self.lease = timedelta(seconds=max(60.0, self.timeout * (BATCH + 2)))
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        # Kept as attributes: event.remove needs the very objects that were registered.
        self._listeners: list[tuple[str, Callable[..., None]]] = [
            ("rollback", self._rolled_back),
            ("checkin", self._checked_in),
        ]

    def start(self) -> None:
        """Start the task in the running event loop (the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        if self.smtp is not None:
            for name, fn in self._listeners:
                event.listen(self.engine, name, fn)
        self._task = self._loop.create_task(self._run(), name="meetadmin-mail")

    async def stop(self) -> None:
        """Let the task finish what it is doing (a database call, the message being sent) and end; a
        task cancelled in the middle of a database call would leave its connection to a worker thread
        after the engine is gone. Cancelled only if it does not end within two SMTP timeouts."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=2 * self.timeout + 1)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self.smtp is not None:
            for name, fn in self._listeners:
                if event.contains(self.engine, name, fn):
                    event.remove(self.engine, name, fn)

    def wake(self) -> None:
        """Look for due notices now (from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to wake
                loop.call_soon_threadsafe(wake.set)

    # A connection that added notices carries ``ADDED`` in its info (shared by the Connection and its pool
    # record) until its transaction ends. A rollback drops it; a connection that comes back to the pool
    # still carrying it has committed them. (The engine's ``commit`` event would be too early: it runs
    # before the commit, and a sender woken then could look before the notices are there to see.)

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop(ADDED, None)

    def _checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(ADDED, False):
            self.wake()

    async def _run(self) -> None:
        assert self._wake is not None
        last_prune = time.monotonic() - PRUNE_EVERY + FIRST_PRUNE
        while not self._stopping:
            wait = self.poll
            try:
                if self.smtp is not None:
                    wait = await self.deliver_due()
                if time.monotonic() - last_prune >= PRUNE_EVERY:
                    last_prune = time.monotonic()
                    await self.forget_old()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away, say: try again soon
                log.exception("mail: a round of sending failed")
                wait = min(self.poll, 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            self._wake.clear()

    async def forget_old(self) -> int:
        before = utcnow() - self.keep
        return await self.writer.write(lambda conn: prune(conn, before))

    async def deliver_due(self) -> float:
        """Send every due notice; seconds until the next one is due (at most the poll interval)."""
        while await self._round() == BATCH and not self._stopping:
            pass
        due = await self.writer.read(next_due)
        if due is None:
            return self.poll
        # A notice due but not claimed is another process's claim in progress: look again shortly.
        return min(self.poll, max((due - system_now()).total_seconds(), 0.02))

    async def _round(self) -> int:
        """Claim, send and record one batch; how many notices it had."""
        now = system_now()  # delivery runs on real time, whatever the sandbox clock says
        lease_until = now + self.lease
        claimed = await self.writer.write(lambda conn: claim_due(conn, now, lease_until, BATCH))
        if claimed:
            outcomes = await self._send(claimed)
            await self.writer.write(lambda conn: self._record(conn, claimed, outcomes))
        return len(claimed)

    async def _send(self, notices: list[NoticeRow]) -> dict[int, str | None]:
        """Each notice's outcome: None when the server took it, else what went wrong."""
        assert self.smtp is not None
        target = self.smtp
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.tls,
            start_tls=False,
            timeout=self.timeout,
            local_hostname="localhost",
        )
        outcomes: dict[int, str | None] = {}
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return {n.id: _describe(exc) for n in notices}
        try:
            for n in notices:
                if self._stopping:  # the rest: a failed attempt, retried (by this process or another)
                    outcomes[n.id] = "not sent: the server process was stopping"
                    continue
                try:
                    await client.send_message(message(n, self.sender))
                    outcomes[n.id] = None
                except aiosmtplib.SMTPServerDisconnected as exc:
                    for rest in notices:
                        outcomes.setdefault(rest.id, _describe(exc))
                    break
                except (aiosmtplib.SMTPException, OSError) as exc:
                    outcomes[n.id] = _describe(exc)
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        return outcomes

    def _record(self, conn: Connection, claimed: list[NoticeRow], outcomes: dict[int, str | None]) -> None:
        now = system_now()
        record_sent(conn, [n.id for n in claimed if outcomes.get(n.id, "") is None], now)
        for n in claimed:
            error = outcomes.get(n.id, "not sent")
            if error is None:
                continue
            retry_at: datetime | None = None
            if n.attempts < self.max_attempts:
                delay = retry_delay(n.attempts, self.retry_base, random.uniform(0.75, 1.25))
                retry_at = now + timedelta(seconds=delay)
            record_failure(conn, n.id, error, retry_at)
