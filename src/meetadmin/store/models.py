"""Tables. The schema is only ever built by the Alembic migrations in ``migrations/``.

Times are stored as naive UTC datetimes. Emails and personal room IDs keep the case they were given in
and are matched through a lower-cased key column with a unique index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    webex_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(256))


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    site_url: Mapped[str] = mapped_column(String(255), unique=True)
    pmr_prefix: Mapped[str] = mapped_column(String(16), default="")
    pmr_site_code: Mapped[str] = mapped_column(String(16), default="")
    pmr_digits: Mapped[int] = mapped_column(Integer, default=8)
    pmr_quarantine_days: Mapped[int] = mapped_column(Integer, default=90)
    allow_third_party_reassign: Mapped[bool] = mapped_column(Boolean, default=False)


class SessionType(Base):
    __tablename__ = "session_types"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    type_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    short_name: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    created: Mapped[datetime] = mapped_column(DateTime)


class HostPrivilege(Base):
    """What a person may do on one site."""

    __tablename__ = "host_privileges"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[bool] = mapped_column(Boolean, default=False)
    license_meeting: Mapped[bool] = mapped_column(Boolean, default=False)
    license_webinar: Mapped[bool] = mapped_column(Boolean, default=False)
    calling: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_host_privileges_site", "site_id"),)


class PersonSessionType(Base):
    __tablename__ = "person_session_types"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["site_id", "type_id"], ["session_types.site_id", "session_types.type_id"], ondelete="CASCADE"
        ),
    )


class PersonalRoomId(Base):
    """Personal room IDs, current and quarantined.

    ``(site_id, room_key)`` is unique across both, so the database itself refuses to hand one ID to two
    people, and an ID given up stays reserved to its former owner until ``reserved_until``.
    """

    __tablename__ = "personal_room_ids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(Integer)  # no foreign keys: see MeetingSeries.host_id
    person_id: Mapped[int] = mapped_column(Integer)
    room_id: Mapped[str] = mapped_column(String(64))
    room_key: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime)
    reserved_until: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ux_personal_room_ids_site_key", "site_id", "room_key", unique=True),
        Index(
            "ux_personal_room_ids_active_owner",
            "site_id",
            "person_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        # A person's rows (a deleted person's, a person's history), and their current ones by ``active``
        # (migration 0016): with ``person_id`` alone, PostgreSQL planning on statistics taken before a
        # history built up released a refresh's current rooms by reading every quarantined row too.
        Index("ix_personal_room_ids_person_active", "person_id", "active"),
    )


class MeetingSeries(Base):
    __tablename__ = "meeting_series"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # No foreign key to people (migration 0017), nor on the audit events' actor and the rooms' person
    # and site: each row's check was a query of its own in a reassignment or refresh. People and sites
    # go only with their organisation (``fixtures.delete_org``), and every writer of these columns has
    # just read the person or site it names, in the same transaction.
    host_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(128))
    agenda: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    recurrence: Mapped[str | None] = mapped_column(String(512))
    session_type_id: Mapped[str] = mapped_column(String(32))
    scheduled_type: Mapped[str] = mapped_column(String(32), default="meeting")
    state: Mapped[str] = mapped_column(String(32), default="active")
    callback: Mapped[bool] = mapped_column(Boolean, default=False)
    integration: Mapped[str | None] = mapped_column(String(32))
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    meeting_number: Mapped[str] = mapped_column(String(32))
    password: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime] = mapped_column(DateTime)
    # Set when the series was deleted but keeps its row for the ended instances that ran under it.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # No changed occurrence of the series ends after this (None: it has none); kept by the store.
    exceptions_end: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    __table_args__ = (
        Index("ix_meeting_series_org_start", "org_id", "start"),
        # One host's listing (``store.meeting_list.series_keys``) reads only this index: every column it
        # filters on or returns, in the host's (start, id) order (migration 0013). It also serves a host's
        # series by site and start (the console), so it is the only host index: each is rewritten for
        # every moved series of a reassignment.
        Index(
            "ix_meeting_series_host_list",
            "host_id",
            "start",
            "id",
            "end",
            "exceptions_end",
            "deleted_at",
            "scheduled_type",
            "site_id",
            "org_id",
            "timezone",
            "recurrence",
        ),
    )


class MeetingInstance(Base):
    """A meeting that ran (or runs): it keeps the host it ran under, whatever the series' host is now."""

    __tablename__ = "meeting_instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    series_id: Mapped[str] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime | None] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_meeting_instances_start", "start", "id"),  # List Meetings' keyset order
        # Where that walk starts: the earliest instance still running or ending after a window's start.
        Index("ix_meeting_instances_end_start", "end", "start"),
    )


class MeetingException(Base):
    """A scheduled meeting of a series changed or deleted on its own (an exception of the series).

    ``original_start`` is when the occurrence was due by the series' rule (its scheduled-meeting ID keeps
    that time); the other columns, when set, replace the series' values. It hangs off the series row, so
    it moves with the series to a new host, and goes when the series' times or recurrence change.
    """

    __tablename__ = "meeting_exceptions"

    series_id: Mapped[str] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), primary_key=True
    )
    original_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    start: Mapped[datetime | None] = mapped_column(DateTime)
    end: Mapped[datetime | None] = mapped_column(DateTime)
    title: Mapped[str | None] = mapped_column(String(128))
    agenda: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(String(64))
    updated: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(128), default="")
    created: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # No foreign key to orgs (migration 0015): audit events and notices are written only by a transaction
    # that has just read the caller's organisation, and ``fixtures.delete_org`` removes them with it. On
    # PostgreSQL each row's key check share-locked the one organisation row that every concurrent writer
    # locks too (a MultiXact per row): about 12% of a 100-series reassignment's throughput.
    org_id: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see MeetingSeries.host_id
    category: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(255))
    target_name: Mapped[str] = mapped_column(String(255), default="")
    tracking_id: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_events_org_created", "org_id", "created"),)


class Notice(Base):
    """Outbox of notices (e-mails) owed to people, and the mailbox that keeps them for 7 days: the mail
    sender (``outbound/mail_sender.py``) sends pending ones through SMTP when one is configured."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)  # no foreign key: see AuditEvent.org_id
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_key: Mapped[str] = mapped_column(String(320), server_default="")  # lower-cased
    subject: Mapped[str] = mapped_column(String(512))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # SMTP delivery: pending (not yet sent), sent, or failed (its attempts ran out).
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_notices_pending",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # One address's mail is found by scanning this index over the kept window (migration 0014): an
        # index keyed by recipient first takes each notice's entry at a random place, which on a
        # 100-series reassignment (100 old hosts) rewrote about 100 index pages per request.
        Index("ix_notices_recent_recipient", "created", "recipient_key"),
    )


class IdempotencyRecord(Base):
    """The first answer to a request sent with an ``Idempotency-Key``."""

    __tablename__ = "idempotency_records"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)


class PersonalRoomSettings(Base):
    """The options of a person's personal room on one site, once the owner (or an admin) has set them.

    Until then the room shows defaults derived from the person; the room ID itself lives in
    ``personal_room_ids``.
    """

    __tablename__ = "personal_room_settings"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(128))
    host_pin: Mapped[str] = mapped_column(String(16))
    enabled_auto_lock: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_lock_minutes: Mapped[int] = mapped_column(Integer, default=0)
    enabled_notify_host: Mapped[bool] = mapped_column(Boolean, default=False)
    support_co_host: Mapped[bool] = mapped_column(Boolean, default=False)
    support_anyone_as_co_host: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_first_user_to_be_co_host: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_authenticated_devices: Mapped[bool] = mapped_column(Boolean, default=False)
    co_hosts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_personal_room_settings_site", "site_id"),)


class Snapshot(Base):
    """A saved copy of every organisation (the control plane's snapshots): each state table's rows,
    as compressed JSON. ``startup_id`` marks the start-up snapshot ``__startup__`` with the server
    start that took it."""

    __tablename__ = "snapshots"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    rows: Mapped[dict[str, Any]] = mapped_column(JSON)
    startup_id: Mapped[str | None] = mapped_column(String(64))


class SandboxSettings(Base):
    """One row (``id`` 1): the sandbox clock every server process follows, and a counter that a restore
    raises so that every process drops what it cached of the old state."""

    __tablename__ = "sandbox_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    clock_frozen_at: Mapped[datetime | None] = mapped_column(DateTime)
    clock_offset_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    state_generation: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[datetime] = mapped_column(DateTime)


class ConsoleSession(Base):
    """A sign-in to the admin console: the cookie holds a random ID, this table its hash and the token
    it acts with, so every server process knows it and signing out ends it everywhere."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(ForeignKey("api_tokens.token_hash", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime)
    expires: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_console_sessions_expires", "expires"),
        Index("ix_console_sessions_token", "token_hash"),
    )


class ConsoleJob(Base):
    """A bulk change started in the console (``offboard`` or ``rooms``), run a batch of 100 at a time."""

    __tablename__ = "console_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    site_url: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_console_jobs_org_created", "org_id", "created"),)


class ConsoleJobItem(Base):
    """One meeting or person of a console job; ``result`` is ``pending`` until its batch has run."""

    __tablename__ = "console_job_items"

    job_id: Mapped[str] = mapped_column(ForeignKey("console_jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(320))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_console_job_items_pending", "job_id", "result", "seq"),)


class Webhook(Base):
    """A registered webhook (``/v1/webhooks``). ``filter`` is kept as given; its host and site are also
    kept resolved (``filter_host_id``, ``filter_site_id``) so events are matched without parsing it."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    target_url: Mapped[str] = mapped_column(String(2048))
    resource: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(16))
    filter: Mapped[str | None] = mapped_column(String(1024))
    filter_host_id: Mapped[int | None] = mapped_column(Integer)
    filter_site_id: Mapped[int | None] = mapped_column(Integer)
    secret: Mapped[str | None] = mapped_column(String(256))
    owned_by: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed attempts
    created: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_webhooks_org_status", "org_id", "status"),)


class WebhookEvent(Base):
    """The outbox: an event, written in the same transaction as the change that fired it. ``data`` is the
    JSON text of the envelope's ``data``, sent as it is."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    resource: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(16))
    meeting_id: Mapped[str] = mapped_column(String(64))
    series_id: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(255))
    data: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)


class WebhookQueue(Base):
    """What is still owed: one row per event and webhook until it is delivered or given up. A process
    claims rows with a lease (``lease_until``); a row whose lease has run out is anyone's again."""

    __tablename__ = "webhook_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due: Mapped[datetime] = mapped_column(DateTime, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # No index on (webhook_id, series_id): see migration 0011 and ``store.webhook_outbox.claim``.


class WebhookDelivery(Base):
    """The delivery log: one row per attempt, kept for 7 days."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # delivered, retrying, failed
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(512))
    elapsed_ms: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)

    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)
