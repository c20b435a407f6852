"""Create a Meeting: a new meeting series, checked against the host's privileges on the site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from meetadmin.domain import ids
from meetadmin.domain.meeting_rules import RuleError, meeting_times, new_password
from meetadmin.domain.occurrences import RecurrenceError, parse_rule
from meetadmin.domain.people import PersonRow, TokenOwner
from meetadmin.errors import BadRequest, Forbidden
from meetadmin.outbound.events import EventItem, add_events
from meetadmin.services.common import utcnow
from meetadmin.store.meeting_reads import SeriesView, series_view
from meetadmin.store.meeting_writes import insert_series, site_session_kinds
from meetadmin.store.people import person_by_email
from meetadmin.store.sites import SiteRow, new_host_on_site, site_by_id, site_by_url
from meetadmin.store.writer import orm

INVALID = "The input parameters contain invalid items."
MEETING_KINDS = ("meeting", "privateMeeting")


@dataclass(frozen=True)
class NewMeeting:
    """A create request, parsed: times are naive UTC, ``session_type_id`` is the type's text ID."""

    title: str
    agenda: str
    password: str | None
    start: datetime
    end: datetime
    timezone: str
    recurrence: str | None
    scheduled_type: str
    session_type_id: str | None
    site_url: str | None
    host_email: str | None


def invalid(*descriptions: str) -> BadRequest:
    return BadRequest(*descriptions, message=INVALID)


def create_meeting(conn: Connection, caller: TokenOwner, as_admin: bool, new: NewMeeting) -> SeriesView:
    """Insert the series and return it. Admins may name the host (``hostEmail``); users host themselves."""
    now = utcnow()
    try:
        times = meeting_times(new.start, new.end, now)
    except RuleError as exc:
        raise invalid(str(exc)) from exc
    if new.recurrence is not None:
        try:
            parse_rule(new.recurrence, times.start)
        except RecurrenceError as exc:
            raise invalid(f"'recurrence': {exc}") from exc
    with orm(conn) as session:
        host = _host(session, caller, as_admin, new.host_email)
        site = _site(session, caller, host, new.site_url)
        rights = new_host_on_site(session.connection(), caller.org_id, host.email, site.id)
        if rights is None or not rights.host:
            raise Forbidden(f"{host.email} may not host meetings on {site.site_url}.")
        type_id = session_type_for(
            session, site, new.scheduled_type, new.session_type_id, rights.session_type_ids
        )
        if new.scheduled_type == "webinar" and not rights.license_webinar:
            raise Forbidden(f"{host.email} has no Webinar licence on {site.site_url}.")
        if new.scheduled_type != "webinar" and not rights.license_meeting:
            raise Forbidden(f"{host.email} has no Meeting licence on {site.site_url}.")
        series_id = ids.new_series_id()
        insert_series(
            session,
            {
                "id": series_id,
                "org_id": caller.org_id,
                "site_id": site.id,
                "host_id": host.key,
                "title": new.title,
                "agenda": new.agenda,
                "start": times.start,
                "end": times.end,
                "timezone": new.timezone,
                "recurrence": new.recurrence,
                "session_type_id": type_id,
                "scheduled_type": new.scheduled_type,
                "state": "active",
                "callback": False,
                "integration": None,
                "scheduled_by_id": caller.person_key if host.key != caller.person_key else None,
                "meeting_number": ids.new_meeting_number(),
                "password": new.password or new_password(),
            },
            now,
        )
        view = series_view(session, caller.org_id, series_id)
        add_events(
            session.connection(),
            caller.org_id,
            caller.person_id,
            "created",
            "meetings",
            [EventItem(series_id)],
        )
    assert view is not None
    return view


def _host(session: Session, caller: TokenOwner, as_admin: bool, host_email: str | None) -> PersonRow:
    email = host_email.strip() if as_admin and host_email and host_email.strip() else caller.email
    person = person_by_email(session, caller.org_id, email)
    if person is None:
        raise invalid(f"'hostEmail': no user with the email '{email[:320]}' is in your organisation.")
    return person


def _site(session: Session, caller: TokenOwner, host: PersonRow, site_url: str | None) -> SiteRow:
    if site_url is not None and site_url.strip():
        site = site_by_url(session.connection(), caller.org_id, site_url)
        if site is None:
            raise invalid(f"'siteUrl': '{site_url.strip()[:255]}' is not a site of your organisation.")
        return site
    if host.preferred_site_id is not None:
        site = site_by_id(session.connection(), host.preferred_site_id)
        if site is not None:
            return site
    for access in sorted(host.sites, key=lambda a: not a.host):  # a site they host on, else any of theirs
        found = site_by_url(session.connection(), caller.org_id, access.site_url)
        if found is not None:
            return found
    raise invalid(f"'siteUrl' is required: {host.email} has no preferred site.")


def session_type_for(
    session: Session, site: SiteRow, scheduled_type: str, session_type_id: str | None, held: frozenset[str]
) -> str:
    """The session type a meeting of ``scheduled_type`` gets on ``site``: the one named (which the host
    must hold and which must fit the type) or, without one, the host's first meeting type; 400 else."""
    kinds = site_session_kinds(session, site.id)
    if session_type_id is None:
        if scheduled_type == "webinar":
            raise invalid("'sessionTypeId' is required for a webinar.")
        usable = sorted((t for t in held if kinds.get(t) in MEETING_KINDS), key=_numeric)
        if not usable:
            raise invalid(
                f"The host holds no meeting session type on {site.site_url}; name one in 'sessionTypeId'."
            )
        return usable[0]
    type_id = session_type_id
    kind = kinds.get(type_id)
    if kind is None:
        raise invalid(f"'sessionTypeId' {type_id} is not a session type of {site.site_url}.")
    if type_id not in held:
        raise invalid(f"The host does not hold session type {type_id} on {site.site_url}.")
    if (scheduled_type == "webinar") != (kind == "webinar"):
        raise invalid(
            f"'sessionTypeId' {type_id} is a {kind} session type; it does not fit scheduledType "
            f"{scheduled_type}."
        )
    return type_id


def _numeric(type_id: str) -> tuple[int, str]:
    return (int(type_id), type_id) if type_id.isdigit() else (1 << 62, type_id)
