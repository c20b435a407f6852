"""People: look-ups within the caller's organisation, never beyond it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from meetadmin.domain.ids import FULL_ADMIN_ROLE, role_id
from meetadmin.domain.people import PersonRow, TokenOwner
from meetadmin.errors import BadRequest, NotFound
from meetadmin.store.people import list_people, people_by_ids, person_by_id
from meetadmin.store.tokens import find_token_owner
from meetadmin.store.writer import orm

MAX_IDS = 85


@dataclass
class PeoplePage:
    items: list[PersonRow] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    next_after: int | None = None


@dataclass(frozen=True)
class PeopleQuery:
    email: str | None = None
    display_name: str | None = None
    ids: list[str] | None = None
    roles: list[str] | None = None
    max: int = 100
    after: int | None = None


def find_people(conn: Connection, caller: TokenOwner, as_admin: bool, query: PeopleQuery) -> PeoplePage:
    """List People. Users must narrow by email, displayName or id; admins may list the organisation."""
    if not as_admin and not (query.email or query.display_name or query.ids):
        raise BadRequest("Give 'email', 'displayName' or 'id' (only admins may list the whole organisation).")
    if query.ids is not None and len(query.ids) > MAX_IDS:
        raise BadRequest(f"'id' may list at most {MAX_IDS} person IDs.")
    admins_only = False
    if query.roles:
        if not as_admin:
            raise BadRequest("Only admins may filter by 'roles'.")
        if any(role not in (FULL_ADMIN_ROLE, role_id(FULL_ADMIN_ROLE)) for role in query.roles):
            return PeoplePage()
        admins_only = True
    with orm(conn) as session:
        if query.ids is not None:
            wanted = list(dict.fromkeys(query.ids))
            found = people_by_ids(session, caller.org_id, wanted)
            known = {p.person_id for p in found}
            order = {pid: i for i, pid in enumerate(wanted)}
            found.sort(key=lambda p: order[p.person_id])
            return PeoplePage(found, [pid for pid in wanted if pid not in known])
        rows = list_people(
            session, caller.org_id, query.email, query.display_name, admins_only, query.after, query.max + 1
        )
    page = PeoplePage(rows[: query.max])
    if len(rows) > query.max:
        page.next_after = rows[query.max - 1].key
    return page


def get_person(conn: Connection, caller: TokenOwner, person_id: str) -> PersonRow:
    with orm(conn) as session:
        person = person_by_id(session, caller.org_id, person_id)
    if person is None:
        raise NotFound("The person is not found.")
    return person


def token_owner(conn: Connection, token: str) -> TokenOwner | None:
    """Who a bearer token belongs to (None for an unknown or revoked token)."""
    with orm(conn) as session:
        return find_token_owner(session, token)
