"""The bulk reassignment runner: batches of 100, per-item verdicts, retries, and a resumable journal.

No printing here: the CLI renders what ``ReassignJob`` reports through its callbacks and results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from meetadmin.client._client import WebexClient
from meetadmin.client._errors import (
    RETRYABLE_STATUSES,
    ApiError,
    ForbiddenError,
    TransportError,
    UnauthorizedError,
)
from meetadmin.client._journal import Journal
from meetadmin.client._models import Meeting, ReassignItem

BATCH_SIZE = 100
MOVED = "moved"
REFUSED = "refused"
FAILED = "failed"
SKIPPED = "skipped"
WOULD_MOVE = "would move"
WOULD_REFUSE = "would be refused"
PLANNED = "planned"


@dataclass(frozen=True)
class Target:
    """A meeting series to move, with its title when known."""

    meeting_id: str
    title: str = ""


@dataclass(frozen=True)
class Outcome:
    meeting_id: str
    title: str
    result: str
    reason: str = ""


class _ItemsBusy(Exception):
    """Some items came back 423/429/503; tenacity retries just those."""


def batches(items: Sequence[Target], size: int = BATCH_SIZE) -> list[list[Target]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def read_id_file(text: str) -> list[str]:
    """One meeting ID per line; blank lines and ``#`` comments are ignored; duplicates are dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        value = line.split("#", 1)[0].strip()
        if value and value not in seen:
            seen.add(value)
            out.append(value)
    return out


def listing_window(now: dt.datetime | None = None) -> tuple[str, str]:
    """From a day ago to five years ahead: every series that still has an occurrence to come."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    start = now - dt.timedelta(days=1)
    end = now + dt.timedelta(days=5 * 365 + 2)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return start.strftime(fmt), end.strftime(fmt)


def series_hosted_by(client: WebexClient, old_host: str, site_url: str | None) -> list[Meeting]:
    """Every series ``old_host`` hosts on the site (the list also holds series they are invited to)."""
    start, end = listing_window()
    wanted = old_host.strip().lower()
    found: dict[str, Meeting] = {}
    for meeting in client.list_meetings(
        host_email=old_host,
        site_url=site_url,
        meeting_type="meetingSeries",
        from_=start,
        to=end,
        max=100,
        current=False,  # the first occurrence's times: cheaper for the server, and all we need is the ID
    ):
        if (meeting.host_email or "").lower() == wanted and meeting.id not in found:
            found[meeting.id] = meeting
    return list(found.values())


def preview(
    client: WebexClient,
    new_host: str,
    targets: Sequence[Target],
    site_url: str | None,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, ReassignItem]:
    """The verdict each meeting would get, batch by batch (``PreviewNotSupported`` on Webex)."""
    verdicts: dict[str, ReassignItem] = {}
    for batch in batches(targets):
        result = client.preview_reassign(new_host, [t.meeting_id for t in batch], site_url)
        for item in result.items:
            verdicts[item.meeting_id] = item
        if on_batch:
            on_batch(len(batch))
    return verdicts


def plan_outcomes(targets: Iterable[Target], verdicts: dict[str, ReassignItem] | None) -> list[Outcome]:
    out = []
    for t in targets:
        item = (verdicts or {}).get(t.meeting_id)
        if item is None:
            out.append(Outcome(t.meeting_id, t.title, PLANNED, "" if verdicts is None else "no verdict"))
        elif item.ok:
            out.append(Outcome(t.meeting_id, t.title, WOULD_MOVE))
        else:
            out.append(Outcome(t.meeting_id, t.title, WOULD_REFUSE, describe(item)))
    return out


def describe(item: ReassignItem) -> str:
    return f"{item.reason} (HTTP {item.http_status})"


def moved_in_journal(journal: Journal | None) -> dict[str, str]:
    """IDs (with titles) that earlier runs of the same command moved."""
    moved: dict[str, str] = {}
    for record in journal.records() if journal else []:
        if record.get("kind") == "batch":
            for pair in record.get("moved") or []:
                if isinstance(pair, list) and pair:
                    moved[str(pair[0])] = str(pair[1]) if len(pair) > 1 else ""
    return moved


class ReassignJob:
    """Moves ``targets`` to ``new_host`` in batches; records every batch in ``journal`` as it goes."""

    def __init__(
        self,
        client: WebexClient,
        new_host: str,
        site_url: str | None,
        journal: Journal | None = None,
        on_batch: Callable[[list[Outcome]], None] | None = None,
    ) -> None:
        self.client = client
        self.new_host = new_host
        self.site_url = site_url
        self.journal = journal
        self.on_batch = on_batch
        self.interrupted: str | None = None

    def run(self, targets: Sequence[Target]) -> list[Outcome]:
        """Send every batch. When the server can't be reached or refuses the token, stop: the rest are
        reported as failed (not sent) and ``interrupted`` says why; the journal keeps what moved."""
        outcomes: list[Outcome] = []
        todo = batches(targets)
        for index, batch in enumerate(todo):
            try:
                done = self._send(batch)
            except (TransportError, UnauthorizedError, ForbiddenError, KeyboardInterrupt) as exc:
                why = str(exc) if not isinstance(exc, KeyboardInterrupt) else "stopped by the user"
                rest = [t for b in todo[index:] for t in b]
                outcomes.extend(Outcome(t.meeting_id, t.title, FAILED, f"not sent: {why}") for t in rest)
                self.interrupted = why
                return outcomes
            except ApiError as exc:
                done = [Outcome(t.meeting_id, t.title, FAILED, exc.summary) for t in batch]
            self._record(done)
            outcomes.extend(done)
            if self.on_batch:
                self.on_batch(done)
        return outcomes

    def _send(self, batch: list[Target]) -> list[Outcome]:
        titles = {t.meeting_id: t.title for t in batch}
        settled: dict[str, ReassignItem] = {}
        pending = [t.meeting_id for t in batch]
        last_busy: dict[str, ReassignItem] = {}
        retrying = self.client.retry.retrying(retry_on=lambda exc: isinstance(exc, _ItemsBusy))
        try:
            for attempt in retrying:
                with attempt:
                    result = self.client.reassign(self.new_host, pending, self.site_url)
                    answered = {item.meeting_id: item for item in result.items}
                    busy = []
                    for mid in pending:
                        item = answered.get(mid) or ReassignItem(
                            meeting_id=mid, http_status=0, message="the server gave no verdict"
                        )
                        if item.http_status in RETRYABLE_STATUSES:
                            busy.append(mid)
                            last_busy[mid] = item
                        else:
                            settled[mid] = item
                    pending = busy
                    if pending:
                        raise _ItemsBusy()
        except _ItemsBusy:
            pass
        out = []
        for t in batch:
            verdict = settled.get(t.meeting_id)
            if verdict is None:
                why = f"still busy: {describe(last_busy[t.meeting_id])}"
                out.append(Outcome(t.meeting_id, titles[t.meeting_id], FAILED, why))
            elif verdict.ok:
                out.append(Outcome(t.meeting_id, titles[t.meeting_id], MOVED))
            elif verdict.http_status == 0:
                out.append(Outcome(t.meeting_id, titles[t.meeting_id], FAILED, verdict.reason))
            else:
                out.append(Outcome(t.meeting_id, titles[t.meeting_id], REFUSED, describe(verdict)))
        return out

    def _record(self, done: list[Outcome]) -> None:
        if self.journal is None:
            return
        self.journal.append(
            {
                "kind": "batch",
                "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "newHost": self.new_host,
                "moved": [[o.meeting_id, o.title] for o in done if o.result == MOVED],
                "notMoved": [[o.meeting_id, o.result, o.reason] for o in done if o.result != MOVED],
            }
        )
