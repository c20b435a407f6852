"""Console sign-in sessions, kept server-side in ``console_sessions``.

The browser holds a random session ID in an HttpOnly, SameSite=Strict cookie; the table holds its
SHA-256 hash, the hash of the API token the session acts with, the session's CSRF token and when it
expires. Every server process sees the same sessions, signing out deletes the row (so the cookie is
dead everywhere at once), and deleting the API token ends its sessions (the foreign key cascades).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, insert, select

from meetadmin.domain.people import TokenOwner, hash_token
from meetadmin.store.models import ApiToken, ConsoleSession, Org, Person

COOKIE = "meetadmin_console"
LOGIN_COOKIE = "meetadmin_console_login"  # double-submit CSRF token of the sign-in form


@dataclass(frozen=True)
class SignedIn:
    owner: TokenOwner
    csrf: str
    expires: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _owner_query() -> Select[*tuple[Any, ...]]:
    stmt: Select[*tuple[Any, ...]] = (
        select(
            Person.id.label("person_key"),
            Person.person_id,
            Person.email,
            Person.display_name,
            Person.org_id,
            Org.webex_id.label("org_webex_id"),
            Person.is_admin,
            Person.preferred_site_id,
            ApiToken.scopes,
        )
        .join(Person, Person.id == ApiToken.person_id)
        .join(Org, Org.id == Person.org_id)
    )
    return stmt


def _owner(row: Row[Any]) -> TokenOwner:
    m = row._mapping
    return TokenOwner(
        person_key=m["person_key"],
        person_id=m["person_id"],
        email=m["email"],
        display_name=m["display_name"],
        org_id=m["org_id"],
        org_webex_id=m["org_webex_id"],
        is_admin=bool(m["is_admin"]),
        preferred_site_id=m["preferred_site_id"],
        scopes=frozenset(m["scopes"].split()),
    )


def token_owner(conn: Connection, token: str) -> TokenOwner | None:
    """The owner of an API token (as ``api.auth`` finds it), or None for an unknown token."""
    row = conn.execute(_owner_query().where(ApiToken.token_hash == hash_token(token))).one_or_none()
    return None if row is None else _owner(row)


def open_session(conn: Connection, token: str, now: datetime, lifetime: timedelta) -> tuple[str, str]:
    """Start a session for a known token: ``(session ID for the cookie, CSRF token)``. Expired sessions
    of every user are swept on the way (an indexed range delete)."""
    conn.execute(delete(ConsoleSession).where(ConsoleSession.expires <= now))
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        insert(ConsoleSession).values(
            id_hash=_hash(session_id),
            token_hash=hash_token(token),
            csrf=csrf,
            created=now,
            expires=now + lifetime,
        )
    )
    return session_id, csrf


def find_session(conn: Connection, session_id: str, now: datetime) -> SignedIn | None:
    """The live session with this ID and the token owner it acts as; None when unknown or expired."""
    if not session_id or len(session_id) > 128:
        return None
    row = conn.execute(
        _owner_query()
        .add_columns(ConsoleSession.csrf, ConsoleSession.expires)
        .join(ConsoleSession, ConsoleSession.token_hash == ApiToken.token_hash)
        .where(ConsoleSession.id_hash == _hash(session_id), ConsoleSession.expires > now)
    ).one_or_none()
    if row is None:
        return None
    return SignedIn(_owner(row), row.csrf, row.expires)


def close_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(session_id)))
