"""People as the store reads them and the services return them: the caller behind a token
(``TokenOwner``), a person with the sites they use (``PersonRow``, ``SiteAccess``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SiteAccess:
    site_url: str
    host: bool
    license_meeting: bool
    license_webinar: bool
    room_id: str | None


@dataclass(frozen=True)
class PersonRow:
    key: int
    person_id: str
    email: str
    display_name: str
    org_id: str
    org_webex_id: str
    org_name: str
    is_admin: bool
    preferred_site_id: int | None
    created: datetime
    sites: list[SiteAccess] = field(default_factory=list)


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


def hash_token(token: str) -> str:
    """How a token is stored and looked up: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
