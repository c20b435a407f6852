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
    # Webhook delivery (contract-notes §8.3; outbound/dispatch.py). Fractions of a second are allowed.
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 6  # per event and webhook
    webhook_retry_base_seconds: float = 30.0  # first retry after about this long, doubling
    webhook_deactivate_after: int = 20  # consecutive failed attempts
    webhook_poll_seconds: float = 0.2  # how often to look for other processes' events
    webhook_dispatch: bool = True  # run a dispatcher in each server process


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
