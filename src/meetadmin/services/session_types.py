"""Session types: the site's list, what each user holds (admin view and change), the host's own view."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from meetadmin.domain.people import PersonRow, TokenOwner
from meetadmin.domain.session_types import SessionTypeRow
from meetadmin.errors import BadRequest, NotFound
from meetadmin.services.common import audit_batch, target_site, utcnow
from meetadmin.store.audit import AuditBatch, add_audit_batch
from meetadmin.store.people import person_by_email, person_by_id
from meetadmin.store.session_types import held_types, replace_held_types, site_members, site_types
from meetadmin.store.sites import SiteRow, site_by_id, site_by_url
from meetadmin.store.writer import orm

MAX_USERS = 1000
HOST_KINDS = (
    "meeting",
    "webinar",
    "privateMeeting",
)  # the kinds a host's view (MeetingSessionTypeObject) shows


@dataclass(frozen=True)
class UserTypes:
    person_id: str
    email: str
    site_url: str
    types: list[SessionTypeRow]


def list_site_types(
    conn: Connection, caller: TokenOwner, site_url: str | None
) -> tuple[str, list[SessionTypeRow]]:
    with orm(conn) as session:
        site = target_site(session.connection(), caller, site_url)
        return site.site_url, site_types(session, site.id)


def _person(session: Session, caller: TokenOwner, person_id: str | None, email: str | None) -> PersonRow:
    person = None
    if person_id:
        person = person_by_id(session, caller.org_id, person_id.strip())
        if person is not None and email and person.email.lower() != email.strip().lower():
            raise BadRequest("'personId' and 'email' name two different people.")
    elif email:
        person = person_by_email(session, caller.org_id, email)
    if person is None:
        raise NotFound("The user is not found in your organisation.")
    return person


def list_user_types(
    conn: Connection,
    caller: TokenOwner,
    site_url: str | None,
    person_id: str | None,
    email: str | None,
) -> list[UserTypes]:
    """One user's types (by personId or email), or every user of the site's without either."""
    with orm(conn) as session:
        site = target_site(session.connection(), caller, site_url)
        if person_id or email:
            p = _person(session, caller, person_id, email)
            people = [(p.key, p.person_id, p.email)]
        else:
            people = site_members(session, caller.org_id, site.id, MAX_USERS)
        held = held_types(session, site.id, [key for key, _, _ in people])
    return [UserTypes(pid, mail, site.site_url, held.get(key, [])) for key, pid, mail in people]


def update_user_types(
    conn: Connection,
    caller: TokenOwner,
    site_url: str,
    person_id: str | None,
    email: str | None,
    type_ids: list[str],
    tracking_id: str,
) -> UserTypes:
    """Replace the person's session types on the site; unknown type IDs are a 400 and change nothing."""
    with orm(conn) as session:
        site = site_by_url(session.connection(), caller.org_id, site_url)
        if site is None:
            raise BadRequest(f"The site '{site_url.strip()[:255]}' is not a site of your organisation.")
        person = _person(session, caller, person_id, email)
        known = {t.id for t in site_types(session, site.id)}
        unknown = [t for t in type_ids if t not in known]
        if unknown:
            raise BadRequest(
                *(f"'{t[:32]}' is not a session type of {site.site_url}." for t in unknown[:20]),
            )
        before = [t.id for t in held_types(session, site.id, [person.key]).get(person.key, [])]
        replace_held_types(session, person.key, site.id, type_ids)
        after = held_types(session, site.id, [person.key]).get(person.key, [])
        add_audit_batch(
            session.connection(), _audit(caller, site, person, before, [t.id for t in after], tracking_id)
        )
    return UserTypes(person.person_id, person.email, site.site_url, after)


def _audit(
    caller: TokenOwner,
    site: SiteRow,
    person: PersonRow,
    before: list[str],
    after: list[str],
    tracking_id: str,
) -> AuditBatch:
    return audit_batch(
        caller,
        utcnow(),
        tracking_id,
        category="USERS",
        action="updateUserSessionTypes",
        target_type="PERSON",
        targets=[
            (
                person.person_id,
                person.email,
                {"siteUrl": site.site_url, "email": person.email, "before": before, "after": after},
            )
        ],
    )


def host_types(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    host_email: str | None,
    site_url: str | None,
) -> list[SessionTypeRow]:
    """The types the host (the caller, or ``hostEmail`` for an admin) may schedule with on the site."""
    with orm(conn) as session:
        if as_admin and host_email and host_email.strip():
            host = person_by_email(session, caller.org_id, host_email)
            if host is None:
                raise NotFound(
                    f"No user with the email '{host_email.strip()[:320]}' is in your organisation."
                )
            key, preferred = host.key, host.preferred_site_id
        else:
            key, preferred = caller.person_key, caller.preferred_site_id
        site = _host_site(session, caller, site_url, preferred)
        types = held_types(session, site.id, [key]).get(key, [])
    return [t for t in types if t.kind in HOST_KINDS]


def _host_site(session: Session, caller: TokenOwner, site_url: str | None, preferred: int | None) -> SiteRow:
    if not (site_url and site_url.strip()) and preferred is not None:
        site = site_by_id(session.connection(), preferred)
        if site is not None:
            return site
    return target_site(session.connection(), caller, site_url)
