"""Bulk personal-room ID refresh: CSV reading and checks, old IDs, batches with idempotency keys."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from meetadmin.client._client import WebexClient
from meetadmin.client._errors import ApiError, TransportError, WebexError
from meetadmin.client._journal import Journal
from meetadmin.client._models import PmrChange

BATCH_SIZE = 100
GENERATED = "(generated)"


class CsvProblem(ValueError):
    """The input file can't be used; the message names the file and the line."""


@dataclass(frozen=True)
class PmrRow:
    line: int
    email: str | None
    person_id: str | None
    new_id: str | None  # None: system generated

    @property
    def who(self) -> str:
        return self.email or self.person_id or ""

    def change(self) -> PmrChange:
        if self.new_id is None:
            return PmrChange(email=self.email, person_id=self.person_id, system_generated=True)
        return PmrChange(email=self.email, person_id=self.person_id, personal_meeting_room_id=self.new_id)


@dataclass(frozen=True)
class PmrOutcome:
    person: str
    old_id: str
    new_id: str
    result: str
    reason: str = ""


def read_people(path: Path, *, need_room_ids: bool) -> list[PmrRow]:
    """Read and check a CSV with an ``email`` or ``personId`` column (and ``personalMeetingRoomId``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvProblem(f"{path}: can't read the file: {exc}") from exc
    return parse_people(text, str(path), need_room_ids=need_room_ids)


def parse_people(text: str, name: str, *, need_room_ids: bool) -> list[PmrRow]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvProblem(
            f"{name}: the file is empty; line 1 must be a header such as 'email,personalMeetingRoomId'"
        ) from None
    columns = {h.strip(): i for i, h in enumerate(header) if h.strip()}
    has = ", ".join(columns) or "nothing"
    if "email" not in columns and "personId" not in columns:
        raise CsvProblem(
            f"{name}: line 1: the header needs an 'email' or a 'personId' column (it has: {has})"
        )
    if need_room_ids and "personalMeetingRoomId" not in columns:
        raise CsvProblem(f"{name}: line 1: the header needs a 'personalMeetingRoomId' column (it has: {has})")

    def cell(row: list[str], column: str) -> str:
        i = columns.get(column)
        return row[i].strip() if i is not None and i < len(row) else ""

    rows: list[PmrRow] = []
    kind_line: tuple[str, int] | None = None
    people: dict[str, int] = {}
    room_ids: dict[str, int] = {}
    for line_no, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        email, person_id = cell(row, "email"), cell(row, "personId")
        where = f"{name}: line {line_no}"
        if email and person_id:
            raise CsvProblem(f"{where}: give an email or a personId, not both")
        if not email and not person_id:
            raise CsvProblem(f"{where}: no email or personId")
        kind = "email" if email else "personId"
        if kind_line is None:
            kind_line = (kind, line_no)
        elif kind != kind_line[0]:
            raise CsvProblem(
                f"{where}: uses {kind} but line {kind_line[1]} uses {kind_line[0]}; "
                "Webex does not allow mixing them in one file"
            )
        if email and "@" not in email:
            raise CsvProblem(f"{where}: '{email}' is not an email address")
        person_key = email.lower() if email else person_id
        if person_key in people:
            raise CsvProblem(f"{where}: {email or person_id} is already on line {people[person_key]}")
        people[person_key] = line_no
        new_id: str | None = None
        if need_room_ids:
            new_id = cell(row, "personalMeetingRoomId")
            if not new_id:
                raise CsvProblem(f"{where}: personalMeetingRoomId is empty for {email or person_id}")
            room_key = new_id.lower()
            if room_key in room_ids:
                raise CsvProblem(
                    f"{where}: personal room ID '{new_id}' is already given on line {room_ids[room_key]}"
                )
            room_ids[room_key] = line_no
        rows.append(PmrRow(line_no, email or None, person_id or None, new_id))
    if not rows:
        raise CsvProblem(f"{name}: no people listed below the header")
    return rows


def old_room_ids(client: WebexClient, rows: Sequence[PmrRow], site_url: str) -> dict[str, str]:
    """Current room IDs by person, read off each room link; blank when the server won't say."""
    emails: dict[str, str] = {r.who: r.email for r in rows if r.email}
    by_id = [r.person_id for r in rows if r.person_id]
    for i in range(0, len(by_id), 85):
        try:
            for person in client.people(ids=by_id[i : i + 85]):
                if person.emails:
                    emails[person.id] = person.emails[0]
        except WebexError:
            break
    found: dict[str, str] = {}
    for who, email in emails.items():
        try:
            room = client.personal_room(user_email=email, site_url=site_url).room_id
        except ApiError:
            continue
        if room:
            found[who] = room
    return found


def run_id_of(journal: Journal | None) -> str:
    """The run ID stored in the journal, or a new one written there first."""
    for record in journal.records() if journal else []:
        if record.get("kind") == "run" and record.get("runId"):
            return str(record["runId"])
    run_id = uuid.uuid4().hex
    if journal is not None:
        journal.append({"kind": "run", "runId": run_id})
    return run_id


def idempotency_key(run_id: str, site_url: str, batch: Sequence[PmrRow]) -> str:
    """Deterministic per (run, batch content): a retried or resumed batch sends the same key."""
    body = orjson.dumps(
        {"run": run_id, "site": site_url, "items": [c.change().model_dump(exclude_none=True) for c in batch]},
        option=orjson.OPT_SORT_KEYS,
    )
    return str(uuid.UUID(hashlib.sha256(body).hexdigest()[:32]))


def done_batches(journal: Journal | None) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Batches an earlier run finished: idempotency key -> ({person: new ID}, {person: old ID})."""
    out: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for record in journal.records() if journal else []:
        if record.get("kind") == "batch" and isinstance(record.get("result"), dict):
            new = {str(k): str(v) for k, v in record["result"].items()}
            old = {str(k): str(v) for k, v in (record.get("old") or {}).items()}
            out[str(record["key"])] = (new, old)
    return out


class PmrJob:
    def __init__(
        self,
        client: WebexClient,
        site_url: str,
        journal: Journal | None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.client = client
        self.site_url = site_url
        self.journal = journal
        self.on_batch = on_batch

    def run(self, rows: Sequence[PmrRow], old_ids: dict[str, str]) -> tuple[list[PmrOutcome], bool]:
        """Refresh every batch; returns the outcomes and whether the run was interrupted."""
        run_id = run_id_of(self.journal)
        done = done_batches(self.journal)
        outcomes: list[PmrOutcome] = []
        interrupted = False
        for start in range(0, len(rows), BATCH_SIZE):
            batch = list(rows[start : start + BATCH_SIZE])
            key = idempotency_key(run_id, self.site_url, batch)
            if interrupted:
                outcomes.extend(self._rows(batch, old_ids, {}, "failed", "not sent: the run was interrupted"))
                continue
            if key in done:
                new, old = done[key]
                outcomes.extend(self._rows(batch, old, new, "refreshed", "in an earlier run (journal)"))
                continue
            try:
                result = self.client.refresh_pmr_ids(
                    self.site_url, [r.change() for r in batch], idempotency_key=key
                )
            except TransportError as exc:
                interrupted = True
                outcomes.extend(self._rows(batch, old_ids, {}, "failed", f"not sent or unanswered: {exc}"))
                continue
            except ApiError as exc:
                outcomes.extend(self._rows(batch, old_ids, {}, "refused", exc.summary))
                if exc.status in (401, 403):
                    interrupted = True
                continue
            new_ids: dict[str, str] = {}
            for item in result.personal_meeting_room_ids:
                for ident in (item.email, item.person_id):
                    if ident and item.personal_meeting_room_id:
                        new_ids[ident.lower() if "@" in ident else ident] = item.personal_meeting_room_id
            mine = {r.who: new_ids.get(r.who.lower() if r.email else r.who, "") for r in batch}
            if self.journal is not None:
                old = {r.who: old_ids[r.who] for r in batch if r.who in old_ids}
                self.journal.append({"kind": "batch", "key": key, "result": mine, "old": old})
            outcomes.extend(self._rows(batch, old_ids, mine, "refreshed", ""))
            if self.on_batch:
                self.on_batch(len(batch))
        return outcomes, interrupted

    @staticmethod
    def _rows(
        batch: Sequence[PmrRow], old_ids: dict[str, str], new_ids: dict[str, str], result: str, reason: str
    ) -> list[PmrOutcome]:
        return [
            PmrOutcome(r.who, old_ids.get(r.who, ""), new_ids.get(r.who, ""), result, reason) for r in batch
        ]
