"""Notices as e-mails (contract-notes §8.3b): a real SMTP server (aiosmtpd on 127.0.0.1, started here)
receives what real reassignments and refreshes leave in the outbox; the mailbox API shows every notice,
with or without SMTP. SQLite and PostgreSQL."""

from __future__ import annotations

import email
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from meetadmin.app import create_app
from meetadmin.outbound.mail import body_text, meeting_time, message, message_id
from meetadmin.outbound.mail_sender import SmtpTarget, retry_delay
from meetadmin.services.common import utcnow
from meetadmin.settings import Settings
from meetadmin.store.db import make_engine
from meetadmin.store.notices import (
    MEETING_CANCELLED,
    ROOM_CHANGED,
    NoticeRow,
    RoomChange,
    add_room_notices,
    claim_due,
    prune,
)
from meetadmin.store.notices import mailbox as stored_notices
from meetadmin.store.writer import Writer
from tests import conformance
from tests.conftest import load_world
from tests.worlds import ADMIN, SITE, auth, example_world

CONTROL = "mail-control-token"
BUDGET = "cc000000000000000000000000000001"  # one meeting, Europe/Berlin, Marcus
STANDUP = "cc000000000000000000000000000002"  # weekly, America/New_York, Marcus
MARCUS = "marcus.hoffmann@example.com"
JOHN = "john.andersen@example.com"


def mail_world() -> dict[str, Any]:
    doc = example_world()
    doc["meetings"] += [
        {
            "id": BUDGET,
            "siteUrl": SITE,
            "host": MARCUS,
            "title": "Budget review",
            "sessionTypeId": "3",
            "start": "2027-03-10T09:30:00Z",
            "end": "2027-03-10T10:30:00Z",
            "timezone": "Europe/Berlin",
        },
        {
            "id": STANDUP,
            "siteUrl": SITE,
            "host": MARCUS,
            "title": "Stand-up",
            "sessionTypeId": "3",
            "start": "2027-04-05T13:00:00Z",
            "end": "2027-04-05T13:30:00Z",
            "timezone": "America/New_York",
            "recurrence": "FREQ=WEEKLY;COUNT=10",
        },
    ]
    return doc


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        with self._lock:
            return list(self.received)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    port = free_port()
    with smtp_server(port) as box:
        yield box, port


@contextmanager
def mail_client(
    engine: Engine, database_url: str, smtp_port: int | None, **options: Any
) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        control_token=CONTROL,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}" if smtp_port else None,
        mail_retry_base_seconds=options.pop("retry", 0.05),
        mail_poll_seconds=options.pop("poll", 0.2),
        **options,
    )
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        conformance.install(client)
        yield client


def wait_until(what: str, check: Callable[[], Any]) -> Any:
    """Wait for the sender, which runs in the app's event loop beside the test (not a timed check: the
    deadline only keeps a broken build from hanging)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def reassign(client: TestClient, host: str, ids: list[str]) -> None:
    answer = client.post(
        "/v1/meetings/reassignHost", headers=auth(ADMIN), json={"hostEmail": host, "meetingIds": ids}
    )
    assert answer.status_code == 204, answer.text  # all moved


def mailbox(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/_meetadmin/mail", headers=auth(CONTROL), params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def refresh_notices(engine: Engine, changes: list[RoomChange], days_ago: int = 0) -> None:
    now = utcnow() - timedelta(days=days_ago)
    Writer(engine).write_now(lambda conn: add_room_notices(conn, "example", now, changes))


# --- Through a real SMTP server ---------------------------------------------------------------------


def test_a_reassignment_mails_the_original_host_through_smtp(
    engine: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    load_world(engine, mail_world())
    with mail_client(engine, database_url, port) as client:
        reassign(client, JOHN, [BUDGET, STANDUP])
        got = wait_until(
            "two messages at the SMTP server", lambda: len(box.messages()) >= 2 and box.messages()
        )
        by_subject = {m["Subject"]: (rcpt, m) for rcpt, m in got}
        assert set(by_subject) == {"Cancelled: Budget review", "Cancelled: Stand-up"}

        rcpt, budget = by_subject["Cancelled: Budget review"]
        assert rcpt == [MARCUS]
        assert budget["To"].addresses[0].addr_spec == MARCUS
        assert budget["To"].addresses[0].display_name == "Marcus Hoffmann"
        assert budget["From"] == "meetadmin@localhost"
        assert budget["Date"] and budget["Message-ID"]
        text = budget.get_content()
        assert "Budget review" in text
        assert "Wednesday 10 March 2027, 10:30 CET (Europe/Berlin)" in text  # 09:30 UTC in Berlin
        assert JOHN in text and "admin@example.com" in text and BUDGET in text

        _rcpt, standup = by_subject["Cancelled: Stand-up"]
        # The series' first occurrence is still to come: 13:00 UTC is 09:00 in New York (EDT).
        assert "Monday 5 April 2027, 09:00 EDT (America/New_York)" in standup.get_content()

        sent = wait_until(
            "both marked sent",
            lambda: all(m["delivery"]["status"] == "sent" for m in mailbox(client)) and mailbox(client),
        )
        assert {m["subject"] for m in sent} == {"Cancelled: Budget review", "Cancelled: Stand-up"}
        for m in sent:
            assert (
                m["delivery"]["attempts"] == 1
                and m["delivery"]["sent"]
                and m["delivery"]["lastError"] is None
            )
            assert m["messageId"] in {msg["Message-ID"] for _r, msg in got}
    assert len(box.messages()) == 2  # each notice once


def test_room_notices_reach_each_refreshed_person_through_smtp(
    engine: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    load_world(engine, mail_world())
    with mail_client(engine, database_url, port) as client:
        refresh_notices(
            engine,
            [
                RoomChange(
                    JOHN, "John Andersen", SITE, "prABCD23670651", "prNEW0000001", "admin@example.com"
                ),
                RoomChange(MARCUS, "Marcus Hoffmann", SITE, None, "prNEW0000002", "admin@example.com"),
            ],
        )
        got = wait_until("two room notices", lambda: len(box.messages()) >= 2 and box.messages())
        by_rcpt = {rcpt[0]: m for rcpt, m in got}
        john = by_rcpt[JOHN]
        assert john["Subject"] == f"Your personal room on {SITE} has a new link"
        text = john.get_content()
        assert f"https://{SITE}/meet/prNEW0000001" in text
        assert "prABCD23670651" in text and SITE in text and "admin@example.com" in text
        marcus = by_rcpt[MARCUS].get_content()
        assert f"https://{SITE}/meet/prNEW0000002" in marcus and "no personal room ID" in marcus
        wait_until("marked sent", lambda: all(m["delivery"]["status"] == "sent" for m in mailbox(client)))


def test_while_smtp_is_down_notices_are_retried_then_delivered(engine: Engine, database_url: str) -> None:
    port = free_port()  # nothing listens there yet
    load_world(engine, mail_world())
    with mail_client(engine, database_url, port, mail_max_attempts=1000) as client:
        reassign(client, JOHN, [BUDGET])
        failing = wait_until(
            "two failed attempts",
            lambda: [m for m in mailbox(client) if m["delivery"]["attempts"] >= 2],
        )
        assert failing[0]["delivery"]["status"] == "pending"
        assert failing[0]["delivery"]["lastError"] and failing[0]["delivery"]["nextAttempt"]
        with smtp_server(port) as box:
            got = wait_until("the message once SMTP is up", box.messages)
            assert got[0][1]["Subject"] == "Cancelled: Budget review"
            done = wait_until(
                "marked sent", lambda: [m for m in mailbox(client) if m["delivery"]["status"] == "sent"]
            )
            assert done[0]["delivery"]["attempts"] >= 3 and done[0]["delivery"]["lastError"] is None


def test_a_notice_whose_attempts_run_out_is_failed(engine: Engine, database_url: str) -> None:
    load_world(engine, mail_world())
    with mail_client(engine, database_url, free_port(), mail_max_attempts=2) as client:
        reassign(client, JOHN, [BUDGET])
        failed = wait_until(
            "failed", lambda: [m for m in mailbox(client) if m["delivery"]["status"] == "failed"]
        )
        assert failed[0]["delivery"]["attempts"] == 2
        assert failed[0]["delivery"]["lastError"] and failed[0]["delivery"]["nextAttempt"] is None


# --- The mailbox ------------------------------------------------------------------------------------


def test_the_mailbox_keeps_every_notice_without_smtp(engine: Engine, database_url: str) -> None:
    load_world(engine, mail_world())
    with mail_client(engine, database_url, None) as client:
        reassign(client, JOHN, [BUDGET])
        refresh_notices(
            engine, [RoomChange(JOHN, "John Andersen", SITE, "prOLD1", "prNEW1", "admin@example.com")]
        )
        reassign(client, MARCUS, [BUDGET])  # back again: John is told

        items = mailbox(client)
        assert [m["subject"] for m in items] == [
            "Cancelled: Budget review",
            f"Your personal room on {SITE} has a new link",
            "Cancelled: Budget review",
        ]
        assert [m["to"] for m in items] == [JOHN, JOHN, MARCUS]
        ids = [int(m["id"]) for m in items]
        assert ids == sorted(ids, reverse=True)  # newest first
        assert [m["created"] for m in items] == sorted((m["created"] for m in items), reverse=True)
        assert all(m["delivery"]["status"] == "held" and m["delivery"]["attempts"] == 0 for m in items)
        assert all(m["from"] == "meetadmin@localhost" for m in items)
        assert "Wednesday 10 March 2027, 10:30 CET (Europe/Berlin)" in items[2]["text"]
        assert f"https://{SITE}/meet/prNEW1" in items[1]["text"]

        # filter: any case of the address
        assert [m["id"] for m in mailbox(client, to="John.Andersen@Example.com")] == [
            m["id"] for m in items[:2]
        ]
        assert [m["to"] for m in mailbox(client, to=MARCUS)] == [MARCUS]
        assert mailbox(client, to="nobody@example.com") == []

        # paging: one at a time through the Link header
        seen: list[str] = []
        url: str | None = "/_meetadmin/mail?max=1"
        while url:
            page = client.get(url, headers=auth(CONTROL))
            assert page.status_code == 200
            seen += [m["id"] for m in page.json()["items"]]
            url = page.links.get("next", {}).get("url")
        assert seen == [m["id"] for m in items]

        one = client.get(f"/_meetadmin/mail/{items[2]['id']}", headers=auth(CONTROL))
        assert one.status_code == 200 and one.json() == items[2]
        raw = client.get(f"/_meetadmin/mail/{items[2]['id']}/raw", headers=auth(CONTROL))
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("message/rfc822")
        parsed = email.message_from_bytes(raw.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        assert (
            parsed["Subject"] == "Cancelled: Budget review" and parsed["Message-ID"] == items[2]["messageId"]
        )
        assert parsed.get_content() == items[2]["text"]

        for missing in ("999999", "abc"):
            gone = client.get(f"/_meetadmin/mail/{missing}", headers=auth(CONTROL))
            assert gone.status_code == 404 and gone.json()["trackingId"]
        assert client.get("/_meetadmin/mail?max=0", headers=auth(CONTROL)).status_code == 400
        assert client.get("/_meetadmin/mail?cursor=nonsense", headers=auth(CONTROL)).status_code == 400
        assert client.get("/_meetadmin/mail").status_code == 401
        assert client.get("/_meetadmin/mail", headers=auth(ADMIN)).status_code == 401

        emptied = client.delete("/_meetadmin/mail", headers=auth(CONTROL))
        assert emptied.status_code == 204
        assert mailbox(client) == []


def test_notices_are_kept_seven_days(engine: Engine, database_url: str) -> None:
    load_world(engine, mail_world())
    refresh_notices(engine, [RoomChange(JOHN, "John Andersen", SITE, "prA", "prOLDNEWS", "a@example.com")], 8)
    refresh_notices(engine, [RoomChange(JOHN, "John Andersen", SITE, "prB", "prFRESH", "a@example.com")], 6)
    with mail_client(engine, database_url, None) as client:
        assert [m["text"].count("prFRESH") > 0 for m in mailbox(client)] == [True]
    assert Writer(engine).write_now(lambda conn: prune(conn, utcnow() - timedelta(days=7))) == 1


def test_a_commit_wakes_the_sender_without_polling(
    engine: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    load_world(engine, mail_world())
    with mail_client(engine, database_url, port, poll=3600) as client:  # it would not look again for an hour
        reassign(client, JOHN, [BUDGET])
        assert wait_until("the message", box.messages)[0][1]["Subject"] == "Cancelled: Budget review"
        refresh_notices(engine, [RoomChange(JOHN, "John Andersen", SITE, None, "prWOKEN", "a@example.com")])
        wait_until("the room notice too", lambda: len(box.messages()) == 2)


def test_two_processes_send_each_notice_once(
    engine: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    load_world(engine, mail_world())
    other = make_engine(database_url, pool_size=5)  # a second server process's engine
    try:
        with mail_client(engine, database_url, port), mail_client(other, database_url, port) as client:
            changes = [
                RoomChange(
                    f"user{n}@example.com", f"User {n}", SITE, f"prOLD{n}", f"prNEW{n}", "a@example.com"
                )
                for n in range(230)
            ]
            refresh_notices(engine, changes[:130])
            refresh_notices(other, changes[130:])
            wait_until("230 messages", lambda: len(box.messages()) >= 230)
            wait_until(
                "all marked sent",
                lambda: all(m["delivery"]["status"] == "sent" for m in mailbox(client, max=1000)),
            )
            assert all(m["delivery"]["attempts"] == 1 for m in mailbox(client, max=1000))
    finally:
        other.dispose()
    ids = [m["Message-ID"] for _rcpt, m in box.messages()]
    assert len(ids) == 230 and len(set(ids)) == 230
    assert sorted(r[0] for r, _m in box.messages()) == sorted(c.email for c in changes)


def test_a_claimed_notice_is_not_claimed_again(engine: Engine) -> None:
    load_world(engine, mail_world())
    changes = [RoomChange(f"u{n}@example.com", "U", SITE, None, f"pr{n}", "a@example.com") for n in range(3)]
    refresh_notices(engine, changes)
    now = utcnow()
    lease = now + timedelta(minutes=5)
    if engine.dialect.name != "sqlite":  # PostgreSQL: a claim in progress is skipped, not waited for
        with engine.connect() as first, first.begin():
            mine = claim_due(first, now, lease, 2)
            with engine.connect() as second, second.begin():
                theirs = claim_due(second, now, lease, 10)
                second.rollback()
            assert len(mine) == 2 and [n.id for n in theirs] == [max(n.id for n in claimed(engine))]
            first.rollback()
    writer = Writer(engine)
    first_claim = writer.write_now(lambda conn: claim_due(conn, now, lease, 10))
    assert [n.attempts for n in first_claim] == [1, 1, 1]
    assert writer.write_now(lambda conn: claim_due(conn, now, lease, 10)) == []  # leased
    again = writer.write_now(lambda conn: claim_due(conn, lease, lease + timedelta(minutes=5), 10))
    assert [n.id for n in again] == [n.id for n in first_claim]  # the lease ran out: sent again
    assert [n.attempts for n in again] == [2, 2, 2]


def claimed(engine: Engine) -> list[NoticeRow]:
    return Writer(engine).read_now(
        lambda conn: stored_notices(conn, utcnow() - timedelta(days=1), None, None, 100)
    )


def test_a_hundred_room_notices_are_one_insert(engine: Engine) -> None:
    load_world(engine, mail_world())
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if "notices" in sql:
            statements.append(sql)

    changes = [
        RoomChange(f"u{n}@example.com", "U", SITE, None, f"pr{n}", "a@example.com") for n in range(100)
    ]
    event.listen(engine, "before_cursor_execute", count)
    try:
        refresh_notices(engine, changes)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert len(claimed(engine)) == 100


# --- Rendering and settings (no I/O) ----------------------------------------------------------------


def _notice(kind: str, payload: dict[str, Any], created: datetime) -> NoticeRow:
    return NoticeRow(7, "example", kind, MARCUS, "Subject", payload, created, None, "pending", 0, None, None)


def test_the_meeting_time_is_the_next_occurrence_in_the_meetings_zone() -> None:
    weekly = {
        "start": "2026-10-01T16:00:00Z",
        "recurrence": "FREQ=WEEKLY;COUNT=26",
        "timezone": "Europe/Berlin",
    }
    assert (
        meeting_time(weekly, datetime(2026, 10, 2)) == "Thursday 8 October 2026, 18:00 CEST (Europe/Berlin)"
    )
    assert (
        meeting_time(weekly, datetime(2026, 12, 1, 12))
        == "Thursday 3 December 2026, 17:00 CET (Europe/Berlin)"
    )
    # none left: the start; no zone: UTC
    assert meeting_time(weekly, datetime(2028, 1, 1)) == "Thursday 1 October 2026, 18:00 CEST (Europe/Berlin)"
    once = {"start": "2027-03-10T09:30:00Z", "timezone": None}
    assert meeting_time(once, datetime(2026, 12, 1)) == "Wednesday 10 March 2027, 09:30 UTC"


def test_a_notice_written_before_the_new_payload_fields_still_reads() -> None:
    old = {"meetingId": BUDGET, "title": "Budget review", "siteUrl": SITE, "reason": "...", "trackingId": "t"}
    text = body_text(_notice(MEETING_CANCELLED, old, datetime(2026, 12, 1)))
    assert "Budget review" in text and "(time not recorded)" in text
    other = body_text(_notice("somethingElse", {"a": 1}, datetime(2026, 12, 1)))
    assert "Subject" in other and "a: 1" in other


def test_the_message_is_rfc_5322() -> None:
    notice = _notice(
        ROOM_CHANGED,
        {"displayName": "Mårcus Hoffmann", "siteUrl": SITE, "newRoomId": "prX", "oldRoomId": "prY"},
        datetime(2026, 12, 1, 9, 30),
    )
    raw = message(notice, "Sandbox <noreply@meetadmin.test>").as_bytes()
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"].addresses[0].display_name == "Mårcus Hoffmann"
    assert parsed["Date"].datetime == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert parsed["Message-ID"] == message_id(notice, "noreply@meetadmin.test")
    assert parsed["Message-ID"].endswith("@meetadmin.test>")
    assert f"https://{SITE}/meet/prX" in parsed.get_content()


def test_retries_double_from_the_base() -> None:
    assert [retry_delay(n, 30, 1.0) for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert retry_delay(2, 30, 0.75) == 45


def test_the_smtp_url() -> None:
    assert SmtpTarget.parse("smtp://127.0.0.1:1025") == SmtpTarget("127.0.0.1", 1025, False)
    assert SmtpTarget.parse("smtps://u%40x:p@mail.example.com") == SmtpTarget(
        "mail.example.com", 465, True, "u@x", "p"
    )
    assert SmtpTarget.parse("smtp://mailpit") == SmtpTarget("mailpit", 25, False)
    for bad in ("http://mail:25", "smtp://", "smtp://host:port", "localhost:1025"):
        with pytest.raises(ValueError):
            SmtpTarget.parse(bad)
