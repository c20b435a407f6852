"""API tokens: stored as SHA-256 hashes, never in clear."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from meetadmin import clock
from meetadmin.store.models import ApiToken, Org, Person


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return "ma_" + secrets.token_urlsafe(48)


@dataclass(frozen=True)
class TokenOwner:
    person_key: int
    person_id: str
    email: str
    display_name: str
    org_id: str
    org_webex_id: str
    is_admin: bool
    preferred_site_id: int | None
    scopes: frozenset[str]


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
        person_key=row[0],
        person_id=row[1],
        email=row[2],
        display_name=row[3],
        org_id=row[4],
        org_webex_id=row[5],
        is_admin=row[6],
        preferred_site_id=row[7],
        scopes=frozenset(row[8].split()),
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
