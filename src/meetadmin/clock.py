"""The sandbox's clock: the one ``now()`` everything that reads the time for business calls (meeting
states and lists, quarantine expiry, Idempotency-Key expiry, audit and notice times).

Real time by default. The control plane (``PUT /_meetadmin/clock``) can freeze it at an instant or run
it shifted by an offset. The setting lives in the database (``sandbox_settings``, one row), so that every
server process follows it: each process keeps a copy here and refreshes it in the background, at most
once a second (``control/clock.py``), and at once in the process that changed it. ``now()`` itself never
touches the database: it is a read of this module's setting and of the system clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class ClockSetting:
    """``frozen_at`` set: time stands there; else real time plus ``offset_seconds``."""

    frozen_at: datetime | None = None
    offset_seconds: float = 0.0

    @property
    def mode(self) -> str:
        if self.frozen_at is not None:
            return "frozen"
        return "offset" if self.offset_seconds else "real"


REAL = ClockSetting()
_setting = REAL


def system_now() -> datetime:
    """The machine's time, naive UTC (only for the clock and for what is not business time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def now() -> datetime:
    """The sandbox's current time, as the naive UTC datetime the store keeps."""
    setting = _setting
    if setting.frozen_at is not None:
        return setting.frozen_at
    real = datetime.now(UTC).replace(tzinfo=None)
    if setting.offset_seconds:
        return real + timedelta(seconds=setting.offset_seconds)
    return real


def current() -> ClockSetting:
    return _setting


def follow(setting: ClockSetting) -> None:
    """Make this process's clock follow ``setting`` (read from the database or just written there)."""
    global _setting
    _setting = setting
