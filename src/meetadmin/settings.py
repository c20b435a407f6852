"""Runtime settings, read from the environment (prefix ``MEETADMIN_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./meetadmin.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEETADMIN_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Largest request body accepted, in bytes; larger ones get 413 before any parsing.
    max_body_bytes: int = 1_000_000
    # How long an Idempotency-Key is remembered.
    idempotency_ttl_hours: int = 24
    # Pool size per server process (PostgreSQL); SQLite uses one connection per thread.
    pool_size: int = 10
    # Answer successful reassignments and personal room refreshes without FastAPI's per-request
    # machinery (api/fast_lane.py); anything else always goes through the routes.
    fast_lane: bool = True
    # The sandbox's control plane (/_meetadmin): the bearer token it answers to; none, no control plane.
    control_token: str | None = None
    # How long a sign-in to the admin console (/console) lasts.
    console_session_minutes: int = 480


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
