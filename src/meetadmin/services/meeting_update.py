"""Update a Meeting (PATCH and PUT): a whole series, or one scheduled meeting, which becomes an exception
of its series. Checked with Create a Meeting's rules; a series whose times, recurrence or time zone
change loses its exceptions (Webex's rule). Work for ``Writer.write``: all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from meetadmin.domain.meeting_changes import calendar_refusal, cancels_exceptions, changed_times
from meetadmin.domain.meeting_rules import RuleError, parse_instant, password_problem, text_problems, zone
from meetadmin.domain.occurrences import OccurrenceChange, RecurrenceError, parse_rule
from meetadmin.domain.people import TokenOwner
from meetadmin.services.common import utcnow
from meetadmin.services.meeting_create import invalid, session_type_for
from meetadmin.services.meeting_target import MeetingChange, Target, audit, find_target, refuse, reload
from meetadmin.store.meeting_exceptions import cancel_changes, save_change, update_series
from meetadmin.store.sites import new_host_on_site, site_by_id
from meetadmin.store.writer import orm

NULLABLE = frozenset({"agenda", "recurrence"})  # Webex: ``null`` clears these


@dataclass(frozen=True)
class MeetingPatch:
    """An update request, as given: ``given`` names the fields present (absent ones keep their value;
    ``null`` clears ``agenda`` and ``recurrence`` and means "absent" elsewhere). Times are text, read in
    the meeting's (or the given) time zone."""

    given: frozenset[str]
    title: str | None = None
    agenda: str | None = None
    password: str | None = None
    start: str | None = None
    end: str | None = None
    timezone: str | None = None
    recurrence: str | None = None
    session_type_id: str | None = None
    host_email: str | None = None

    def has(self, name: str) -> bool:
        return name in self.given and (name in NULLABLE or getattr(self, name) is not None)


def update_meeting(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    meeting_id: str,
    patch: MeetingPatch,
    tracking_id: str,
) -> MeetingChange:
    now = utcnow()
    host_email = patch.host_email if as_admin else None  # selects on whose behalf; never a new host
    target = find_target(conn, caller, as_admin, meeting_id, host_email, now)
    refusal = calendar_refusal(target.series.series.integration)
    if refusal is not None:
        raise refuse(refusal)
    if target.occurrence is None:
        changed, cancelled = _update_series(conn, caller, target, patch, now)
    else:
        changed, cancelled = _update_occurrence(conn, target, patch, now), 0
    after = reload(conn, target)
    if as_admin and changed:
        data = {"changed": list(changed), "cancelledExceptions": cancelled}
        audit(conn, caller, now, tracking_id, "updateMeeting", after, data)
    return MeetingChange("updated", target, after, caller, as_admin, cancelled, changed)


def _zone(name: str, problems: list[str]) -> ZoneInfo | None:
    try:
        return zone(name)
    except RuleError as exc:
        problems.append(f"'timezone': {exc}")
        return None


def _instant(text: str | None, field: str, tz: ZoneInfo | None, problems: list[str]) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text, field, tz)
    except RuleError as exc:
        problems.append(str(exc))
        return None


def _update_series(
    conn: Connection, caller: TokenOwner, target: Target, patch: MeetingPatch, now: datetime
) -> tuple[tuple[str, ...], int]:
    s = target.series.series
    problems: list[str] = []
    title = patch.title if patch.has("title") and patch.title is not None else s.title
    agenda = (patch.agenda or "") if patch.has("agenda") else s.agenda
    problems += text_problems(title, agenda)
    password = patch.password if patch.has("password") and patch.password is not None else s.password
    problems += [p for p in [password_problem(password)] if p]
    timezone = (patch.timezone or "").strip() or s.timezone if patch.has("timezone") else s.timezone
    tz = _zone(timezone, problems)
    start = _instant(patch.start, "start", tz, problems) if patch.has("start") else s.start
    end = _instant(patch.end, "end", tz, problems) if patch.has("end") else s.end
    rule = s.recurrence
    if patch.has("recurrence"):
        rule = patch.recurrence.strip() if patch.recurrence and patch.recurrence.strip() else None
    if problems or start is None or end is None:
        raise invalid(*problems)
    try:
        start, end = changed_times(s.start, s.end, start, end, now)
    except RuleError as exc:
        raise invalid(str(exc)) from exc
    if rule is not None and rule != s.recurrence:
        try:
            parse_rule(rule, start, timezone)
        except RecurrenceError as exc:
            raise invalid(f"'recurrence': {exc}") from exc
    type_id = s.session_type_id
    if patch.has("session_type_id") and patch.session_type_id != s.session_type_id:
        type_id = _session_type(conn, caller, target, patch.session_type_id)
    new: dict[str, Any] = {
        "title": title,
        "agenda": agenda,
        "password": password,
        "start": start,
        "end": end,
        "timezone": timezone,
        "recurrence": rule,
        "session_type_id": type_id,
    }
    changed = tuple(key for key, value in new.items() if getattr(s, key) != value)
    if not changed:
        return (), 0
    update_series(conn, s.id, new, now)
    cancelled = 0
    if cancels_exceptions((s.start, s.end, s.recurrence, s.timezone), (start, end, rule, timezone)):
        cancelled = cancel_changes(conn, s.id)
    return changed, cancelled


def _session_type(conn: Connection, caller: TokenOwner, target: Target, type_id: str | None) -> str:
    """The new session type, which the host must hold on the series' site (as Create checks it)."""
    s = target.series.series
    site = site_by_id(conn, s.site_id)
    rights = new_host_on_site(conn, caller.org_id, target.series.host.email, s.site_id)
    if site is None or rights is None:
        raise invalid(f"{target.series.host.email} may not host meetings on {target.series.site_url}.")
    with orm(conn) as session:
        return session_type_for(session, site, s.scheduled_type, type_id, rights.session_type_ids)


def _update_occurrence(
    conn: Connection, target: Target, patch: MeetingPatch, now: datetime
) -> tuple[str, ...]:
    """Make the scheduled meeting an exception of its series with the values given."""
    s = target.series.series
    occ = target.occurrence
    assert occ is not None
    problems = [
        f"'{wire}' belongs to the meeting series; change it with the series ID {s.id}."
        for name, wire, current in (
            ("recurrence", "recurrence", s.recurrence),
            ("timezone", "timezone", s.timezone),
            ("session_type_id", "sessionTypeId", s.session_type_id),
        )
        if patch.has(name) and (getattr(patch, name) or None) != (current or None)
    ]
    old = occ.change or OccurrenceChange(occ.original)
    title = patch.title if patch.has("title") and patch.title is not None else old.title or s.title
    agenda = old.agenda if old.agenda is not None else s.agenda
    if patch.has("agenda"):
        agenda = patch.agenda or ""
    password = patch.password if patch.has("password") and patch.password is not None else old.password
    problems += text_problems(title, agenda)
    problems += [p for p in [password_problem(password)] if p]
    tz = _zone(s.timezone, problems)
    start = _instant(patch.start, "start", tz, problems) if patch.has("start") else occ.start
    end = _instant(patch.end, "end", tz, problems) if patch.has("end") else occ.end
    if problems or start is None or end is None:
        raise invalid(*problems)
    try:
        start, end = changed_times(occ.start, occ.end, start, end, now)
    except RuleError as exc:
        raise invalid(str(exc)) from exc
    if start < s.start:
        raise invalid("A scheduled meeting can't move before its series begins; change the series' start.")
    change = OccurrenceChange(
        original=occ.original,
        start=start,
        end=end,
        title=title if title != s.title else None,
        agenda=agenda if agenda != s.agenda else None,
        password=password if password not in (None, s.password) else None,
    )
    before = {"title": target.title, "start": occ.start, "end": occ.end}
    before |= {"agenda": old.agenda, "password": old.password}
    after = {"title": title, "start": start, "end": end, "agenda": change.agenda, "password": change.password}
    changed = tuple(key for key in after if before[key] != after[key])
    if changed:
        save_change(conn, s.id, change, now)
    return changed
