"""Bearer tokens and scopes (contract-notes §7.7).

No token or an unknown one: 401. A known token without the scope, or without the admin role an admin
operation needs: 403.
"""

from __future__ import annotations

import time

from fastapi import Request
from starlette.types import Scope

from meetadmin.domain.people import TokenOwner, hash_token
from meetadmin.errors import Forbidden, Unauthorized
from meetadmin.services.people import token_owner

Principal = TokenOwner

REASSIGN = ("meeting:admin_schedule_write",)
REFRESH_PMR = ("meeting:admin_preferences_write", "meeting:admin_config_write")
ADMIN_SCHEDULE_READ = ("meeting:admin_schedule_read",)
USER_SCHEDULE_READ = ("meeting:schedules_read",)
ADMIN_SCHEDULE_WRITE = ("meeting:admin_schedule_write",)
USER_SCHEDULE_WRITE = ("meeting:schedules_write",)
ADMIN_PREFERENCES_READ = ("meeting:admin_preferences_read",)
USER_PREFERENCES_READ = ("meeting:preferences_read",)
ADMIN_PREFERENCES_WRITE = ("meeting:admin_preferences_write",)
USER_PREFERENCES_WRITE = ("meeting:preferences_write",)
ADMIN_CONFIG_READ = ("meeting:admin_config_read", "meeting:admin_schedule_read")
ADMIN_CONFIG_WRITE = ("meeting:admin_config_write", "meeting:admin_schedule_write")
ADMIN_PEOPLE_READ = ("spark-admin:people_read",)
USER_PEOPLE_READ = ("spark:people_read", "spark:all")
AUDIT_READ = ("audit:events_read",)

_MISSING_SCOPE = "The token lacks the scope this operation needs: one of {scopes}."


class TokenCache:
    """Known tokens for a few seconds, so a busy client does not cost a token lookup per request."""

    def __init__(self, ttl_seconds: float = 5.0, size: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.size = size
        self._entries: dict[str, tuple[float, TokenOwner]] = {}

    def get(self, key: str) -> TokenOwner | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, owner: TokenOwner) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, owner)


def cached_principal(scope: Scope) -> Principal | None:
    """The owner of the request's bearer token (parsed by the gate) if it is cached; None otherwise."""
    token = scope["state"]["bearer"]
    if token is None:
        return None
    cache: TokenCache = scope["app"].state.token_cache
    return cache.get(hash_token(token))


async def principal_of(scope: Scope) -> Principal:
    """The owner of the request's bearer token (parsed by the gate), or 401. Owners are cached for a few
    seconds, so a busy client does not cost a lookup per request."""
    token = scope["state"]["bearer"]
    if token is None:
        raise Unauthorized("Send 'Authorization: Bearer <token>'.")
    app_state = scope["app"].state
    cache: TokenCache = app_state.token_cache
    key = hash_token(token)
    owner = cache.get(key)
    if owner is None:
        owner = await app_state.writer.read(lambda conn: token_owner(conn, token))
        if owner is None:
            raise Unauthorized("The access token is not valid.")
        cache.put(key, owner)
    return owner


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the owner of the bearer token, or 401."""
    return await principal_of(request.scope)


def has_any(principal: Principal, scopes: tuple[str, ...]) -> bool:
    return not principal.scopes.isdisjoint(scopes)


def require_admin(principal: Principal, scopes: tuple[str, ...]) -> None:
    """403 unless the caller is an admin holding one of ``scopes``."""
    if not has_any(principal, scopes):
        raise Forbidden(_MISSING_SCOPE.format(scopes=", ".join(scopes)))
    if not principal.is_admin:
        raise Forbidden("This operation is for administrators of the organisation.")


def acts_as_admin(principal: Principal, admin_scopes: tuple[str, ...], user_scopes: tuple[str, ...]) -> bool:
    """For operations open to users and admins: True when the caller reads as an admin, 403 if neither."""
    if principal.is_admin and has_any(principal, admin_scopes):
        return True
    if has_any(principal, user_scopes):
        return False
    raise Forbidden(_MISSING_SCOPE.format(scopes=", ".join(admin_scopes + user_scopes)))
