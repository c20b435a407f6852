"""Reading meetings: a series with its host, and instances with the host they ran under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetadmin.domain.occurrences import OccurrenceChange
from meetadmin.store.driver import run_sql, sql
from meetadmin.store.meeting_exceptions import changes_of
from meetadmin.store.models import MeetingInstance, MeetingSeries, Person, Site


@dataclass(frozen=True)
class HostView:
    key: int
    person_id: str
    email: str
    display_name: str


@dataclass(frozen=True)
class SeriesView:
    series: MeetingSeries
    site_url: str
    host: HostView
    changes: tuple[OccurrenceChange, ...] = ()  # its exceptions, by original start

    @property
    def deleted(self) -> bool:
        return self.series.deleted_at is not None


@dataclass(frozen=True)
class InstanceView:
    id: str
    series: SeriesView
    host: HostView
    start: datetime
    end: datetime | None
    state: str


def _host(person: Person) -> HostView:
    return HostView(person.id, person.person_id, person.email, person.display_name)


def series_view(
    session: Session, org_id: str, series_id: str, include_deleted: bool = False
) -> SeriesView | None:
    """The organisation's series with its host and exceptions; a deleted one only with
    ``include_deleted`` (the series an ended instance ran under)."""
    stmt = (
        select(MeetingSeries, Site.site_url, Person)
        .join(Site, Site.id == MeetingSeries.site_id)
        .join(Person, Person.id == MeetingSeries.host_id)
        .where(MeetingSeries.id == series_id, MeetingSeries.org_id == org_id)
    )
    if not include_deleted:
        stmt = stmt.where(MeetingSeries.deleted_at.is_(None))
    row = session.execute(stmt).one_or_none()
    if row is None:
        return None
    changes = changes_of(session.connection(), [series_id]).get(series_id, ())
    return SeriesView(row[0], row[1], _host(row[2]), changes)


def instance_view(session: Session, org_id: str, instance_id: str) -> InstanceView | None:
    row = session.execute(
        select(MeetingInstance, Person)
        .join(Person, Person.id == MeetingInstance.host_id)
        .where(MeetingInstance.id == instance_id)
    ).one_or_none()
    if row is None:
        return None
    instance, person = row
    series = series_view(session, org_id, instance.series_id, include_deleted=True)
    if series is None:
        return None
    return InstanceView(instance.id, series, _host(person), instance.start, instance.end, instance.state)


class _PersonKey(NamedTuple):
    id: int


# Written out: List Meetings with ``hostEmail`` runs it on every request (building and compiling it
# with SQLAlchemy cost more than running it).
_PERSON_BY_EMAIL = sql("SELECT id FROM people WHERE org_id = ? AND email_key = ?", row=_PersonKey)


def person_key_by_email(session: Session, org_id: str, email: str) -> int | None:
    rows = run_sql(session.connection(), _PERSON_BY_EMAIL, [org_id, email.strip().lower()])
    return _PersonKey._make(rows[0]).id if rows else None
