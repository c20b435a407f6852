"""Runtime settings, read from the environment (prefix ``MEETADMIN_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
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
    # SQLite: every page cache of a server process together, in MiB (SQLite's soft heap limit); each
    # connection also stops at 32 MiB. 0: no limit beyond that.
    sqlite_cache_mib: int = Field(48, ge=0)
    # Answer successful reassignments and personal room refreshes without FastAPI's per-request
    # machinery (api/fast_path.py); anything else always goes through the routes.
    fast_lane: bool = True
    # The sandbox's control plane (/_meetadmin): the bearer token it answers to; none, no control plane.
    control_token: str | None = None
    # Save the state at start-up as the snapshot '__startup__' that POST /_meetadmin/reset goes back to.
    startup_snapshot: bool = True
    # How often each server process re-reads the sandbox clock (and the state generation) from the
    # database; the process that changes the clock follows it at once.
    clock_refresh_seconds: float = 1.0
    # A rate limit per token over every /v1 operation at start, "N/S" (N requests per S seconds); the
    # control plane changes it at run time (PUT /_meetadmin/rate-limits). None: no limit.
    rate_limit: str | None = None
    # Redis (redis://host:port/db): rate limits are counted, and the run-time limit kept, across every
    # server process. None: per process.
    redis_url: str | None = None
    # Prefix of meetadmin's Redis keys (sandboxes that share one Redis keep apart by it).
    redis_prefix: str = "meetadmin"
    # Seed for the fault rules' draws (probability), a random.Random per process; None: unseeded.
    fault_seed: int | None = None

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        from meetadmin.control.rate_limits import parse_limit

        limit = parse_limit(value)
        return limit.text() if limit else None

    # Notices (e-mails, outbound/mail.py): always kept in the mailbox (GET /_meetadmin/mail) for
    # ``mail_keep_days``; also sent through SMTP when ``smtp_url`` is set (``smtp://host:port``, or
    # ``smtps://`` for TLS from the start; ``user:password@`` logs in).
    smtp_url: str | None = None
    mail_from: str = "meetadmin@localhost"
    mail_timeout_seconds: float = 10.0
    # Attempts per notice; the first retry after about ``mail_retry_base_seconds``, doubling, with jitter.
    mail_max_attempts: int = 6
    mail_retry_base_seconds: float = 30.0
    # The sender wakes at once after a commit in its own process that added notices, and looks for
    # due notices (another process's, retries) at least this often.
    mail_poll_seconds: float = 5.0
    mail_keep_days: int = 7
    # How long a sign-in to the admin console (/console) lasts.
    console_session_minutes: int = 480
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
