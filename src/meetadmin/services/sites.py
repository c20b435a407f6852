"""The sites a person can use, with their default (preferred) site."""

from __future__ import annotations

from sqlalchemy import Connection, select

from meetadmin.domain.people import TokenOwner
from meetadmin.errors import BadRequest, NotFound
from meetadmin.store.models import Person
from meetadmin.store.sites import org_sites, person_site_ids, site_by_url
from meetadmin.store.writer import orm


def list_sites(
    conn: Connection,
    caller: TokenOwner,
    as_admin: bool,
    user_email: str | None,
    site_url: str | None = None,
) -> list[tuple[str, bool]]:
    """``(siteUrl, default)`` pairs. Admins may ask for a user of their organisation (``userEmail``).

    ``site_url`` (the site the user is looked up on) must be a site of the organisation: people are
    organisation-wide here, so it changes nothing else.
    """
    with orm(conn) as session:
        if (
            site_url is not None
            and site_url.strip()
            and site_by_url(session.connection(), caller.org_id, site_url) is None
        ):
            raise BadRequest(f"The site '{site_url.strip()[:255]}' is not a site of your organisation.")
        person_key, preferred = caller.person_key, caller.preferred_site_id
        if as_admin and user_email:
            row = session.execute(
                select(Person.id, Person.preferred_site_id).where(
                    Person.org_id == caller.org_id, Person.email_key == user_email.strip().lower()
                )
            ).one_or_none()
            if row is None:
                raise NotFound(f"No user with the email '{user_email[:320]}' is in your organisation.")
            person_key, preferred = row[0], row[1]
        sites = {s.id: s.site_url for s in org_sites(session, caller.org_id)}
        usable = [sid for sid in person_site_ids(session, person_key) if sid in sites]
        if as_admin and not user_email:
            usable = list(sites)
        if preferred in sites and preferred not in usable:
            usable.insert(0, preferred)
    default = preferred if preferred in usable else (usable[0] if usable else None)
    return [(sites[sid], sid == default) for sid in usable]
