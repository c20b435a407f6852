"""Webhook events, written into the outbox in the same transaction as the change that fires them
(contract-notes §8.2).

Webhooks are matched when the event is written: the active webhooks of the organisation are read (one
query; without any, an event costs nothing more), each event goes to those ``domain.webhooks.receives``
picks, and one queue row per event and webhook is owed from then on. So a webhook created or
reactivated later never gets an older event, and one that is inactive at the time never will. ``data`` is
the meeting as ``GET /v1/meetings/{meetingId}`` shows it to an admin, without ``password``, ``hostKey``
and ``telephony``, as it is at that moment (after the change; for a delete, call before deleting).

Callers: ``add_events`` from a service's transaction (Create a Meeting: ``created``; reassignHost: one
``updated`` per moved series with the host before the move; meeting update and delete: ``updated`` and
``deleted``), ``emit_started`` / ``emit_ended`` from the control plane's meeting start and end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import Connection

from meetadmin.api.meeting_shapes import instance_json, scheduled_json, series_json
from meetadmin.domain.ids import MeetingIdKind, parse_meeting_id
from meetadmin.domain.meeting_rules import series_state
from meetadmin.domain.webhooks import Change, Registration, receives
from meetadmin.services.common import utcnow
from meetadmin.services.meetings import scheduled_state
from meetadmin.store.db import from_db_time
from meetadmin.store.meeting_reads import HostView, SeriesView, instance_view
from meetadmin.store.models import MeetingSeries
from meetadmin.store.webhook_outbox import NewEvent, add_event_rows, add_queue_rows, event_series
from meetadmin.store.webhooks import active_registrations_later
from meetadmin.store.writer import orm

HIDDEN = ("password", "hostKey", "telephony")
WAKE = "meetadmin_webhook_events"  # set in the connection's info when events were queued (see dispatch)


class EventItem(NamedTuple):
    """A meeting an event is about: a series or scheduled meeting ID, and for a change of host the host
    (person key) it had before."""

    meeting_id: str
    host_before: int | None = None


def wall_clock() -> datetime:
    """The real time (naive UTC), for the delivery queue: deliveries go on whatever the sandbox's clock
    (``services.common.utcnow``) says."""
    return datetime.now(UTC).replace(tzinfo=None)


def add_events(
    conn: Connection,
    org_id: str,
    actor: str,
    event: str,
    resource: str,
    items: list[EventItem],
    hooks: list[Registration] | None = None,
) -> int:
    """Write ``event`` about each item for every webhook it goes to; how many deliveries are owed.
    ``actor`` is the Webex person ID of whoever made the change; ``hooks``, if given, are the webhooks
    listening (``listening_later``), read earlier in the transaction."""
    if hooks is None:
        hooks = _listening(conn, org_id, resource, event)
    if not hooks or not items:
        return 0
    views = _series_views(conn, org_id, sorted({parse_meeting_id(i.meeting_id).series_id for i in items}))
    now = utcnow()
    events: list[NewEvent] = []
    targets: list[list[str]] = []
    for item in items:
        parsed = parse_meeting_id(item.meeting_id)
        found = views.get(parsed.series_id)
        if found is None:
            continue
        view, site_id = found
        host = view.host.key
        change = Change(site_id, host if item.host_before is None else item.host_before, host)
        chosen = [h.id for h in hooks if receives(h, event, change)]
        if not chosen:
            continue
        data = _meeting_data(view, parsed.kind, parsed.occurrence_start, now)
        events.append(NewEvent(org_id, resource, event, data["id"], view.series.id, actor, _text(data), now))
        targets.append(chosen)
    return _owe(conn, events, targets)


def add_meeting_event(
    conn: Connection,
    org_id: str,
    actor: str,
    event: str,
    data: dict[str, Any],
    series_id: str,
    site_id: int,
    host_key: int,
) -> int:
    """Write ``event`` about a meeting whose ``data`` the caller has rendered (Update and Delete a
    Meeting: ``updated`` with the meeting after the change, ``deleted`` with it as it was)."""
    hooks = _listening(conn, org_id, "meetings", event)
    if not hooks:
        return 0
    chosen = [h.id for h in hooks if receives(h, event, Change(site_id, host_key, host_key))]
    if not chosen:
        return 0
    shown = {k: v for k, v in data.items() if k not in HIDDEN}
    new = NewEvent(org_id, "meetings", event, shown["id"], series_id, actor, _text(shown), utcnow())
    return _owe(conn, [new], [chosen])


def emit_started(conn: Connection, org_id: str, instance_id: str, actor: str | None = None) -> int:
    """``started`` for a meeting instance that has just begun (the control plane's meeting start)."""
    return _instance_event(conn, org_id, instance_id, "started", actor)


def emit_ended(conn: Connection, org_id: str, instance_id: str, actor: str | None = None) -> int:
    """``ended`` for a meeting instance that has just ended (the control plane's meeting end)."""
    return _instance_event(conn, org_id, instance_id, "ended", actor)


def _instance_event(conn: Connection, org_id: str, instance_id: str, event: str, actor: str | None) -> int:
    hooks = _listening(conn, org_id, "meetings", event)
    if not hooks:
        return 0
    with orm(conn) as session:
        view = instance_view(session, org_id, instance_id)
        site_id = None if view is None else view.series.series.site_id
    if view is None or site_id is None:
        return 0
    change = Change(site_id, view.host.key, view.host.key)
    chosen = [h.id for h in hooks if receives(h, event, change)]
    if not chosen:
        return 0
    data = instance_json(view)
    for hidden in HIDDEN:
        data.pop(hidden, None)
    now = utcnow()
    new = NewEvent(
        org_id,
        "meetings",
        event,
        view.id,
        view.series.series.id,
        actor or view.host.person_id,
        _text(data),
        now,
    )
    return _owe(conn, [new], [chosen])


def _listening(conn: Connection, org_id: str, resource: str, event: str) -> list[Registration]:
    return listening_later(conn, org_id, resource, event)()


def listening_later(
    conn: Connection, org_id: str, resource: str, event: str
) -> Callable[[], list[Registration]]:
    """The webhooks ``add_events`` will match, asked for now and read when called: on PostgreSQL the
    query goes out in the round trip of the next statement the transaction waits for, instead of one
    of its own when the events are written."""
    later = active_registrations_later(conn, org_id, resource)
    return lambda: [h for h in later() if h.event in (event, "all")]


def _owe(conn: Connection, events: list[NewEvent], targets: list[list[str]]) -> int:
    if not events:
        return 0
    ids = add_event_rows(conn, events)
    rows = [
        (hook, event_id, e.series_id)
        for e, event_id, chosen in zip(events, ids, targets, strict=True)
        for hook in chosen
    ]
    add_queue_rows(conn, rows, wall_clock())
    conn.info[WAKE] = True
    return len(rows)


def _text(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()


def _series_views(conn: Connection, org_id: str, series_ids: list[str]) -> dict[str, tuple[SeriesView, int]]:
    """The series with site and host, in one hand-written query (``webhook_outbox.event_series``); the
    rows stand in for ``MeetingSeries`` objects in the renderer, which is much cheaper than loading ORM
    objects (or SQLAlchemy rows) for a hundred series."""
    out: dict[str, tuple[SeriesView, int]] = {}
    for at in range(0, len(series_ids), 500):
        chunk = series_ids[at : at + 500]
        for r in event_series(conn, chunk):
            if r.org_id != org_id:
                continue
            # the store's row, with its times as datetimes, stands in for a MeetingSeries (its extra
            # columns are not read)
            series = r._replace(
                start=from_db_time(r.start),
                end=from_db_time(r.end),
                deleted_at=r.deleted_at and from_db_time(r.deleted_at),
            )
            host = HostView(r.host_id, r.person_id, r.email, r.display_name)
            out[r.id] = (SeriesView(cast(MeetingSeries, series), r.site_url, host), r.site_id)
    return out


def _meeting_data(
    view: SeriesView, kind: MeetingIdKind, occurrence: datetime | None, now: datetime
) -> dict[str, Any]:
    s = view.series
    if kind is MeetingIdKind.SCHEDULED and occurrence is not None:
        end = occurrence + (s.end - s.start)
        data = scheduled_json(view, occurrence, end, scheduled_state(occurrence, end, now))
    else:
        data = series_json(view)
        data["state"] = series_state(s.state, s.start, s.end, s.recurrence, now)
    for hidden in HIDDEN:
        data.pop(hidden, None)
    return data
