"""API tokens: stored as SHA-256 hashes, never in clear."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from meetadmin import clock
from meetadmin.domain.people import TokenOwner, hash_token
from meetadmin.store.models import ApiToken, Org, Person


def new_token() -> str:
    return "ma_" + secrets.token_urlsafe(48)


def find_token_owner(session: Session, token: str) -> TokenOwner | None:
    row = session.execute(
        select(
            Person.id,
            Person.person_id,
            Person.email,
            Person.display_name,
            Person.org_id,
            Org.webex_id,
            Person.is_admin,
            Person.preferred_site_id,
            ApiToken.scopes,
        )
        .join(Person, Person.id == ApiToken.person_id)
        .join(Org, Org.id == Person.org_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None:
        return None
    return TokenOwner(
        person_key=row.id,
        person_id=row.person_id,
        email=row.email,
        display_name=row.display_name,
        org_id=row.org_id,
        org_webex_id=row.webex_id,
        is_admin=row.is_admin,
        preferred_site_id=row.preferred_site_id,
        scopes=frozenset(row.scopes.split()),
    )


def add_token(session: Session, person_key: int, token: str, scopes: list[str], label: str = "") -> None:
    session.execute(
        insert(ApiToken).values(
            token_hash=hash_token(token),
            person_id=person_key,
            scopes=" ".join(sorted(set(scopes))),
            label=label,
            created=clock.now(),
        )
    )
