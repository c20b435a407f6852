"""The sandbox settings row (``sandbox_settings``, id 1): the clock every server process follows and the
state generation, which a restore raises so that every process drops what it cached of the old state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from meetadmin.clock import ClockSetting
from meetadmin.store.models import SandboxSettings

ROW = 1


@dataclass(frozen=True)
class SandboxRow:
    clock: ClockSetting
    state_generation: int


def read_sandbox(conn: Connection) -> SandboxRow:
    row = conn.execute(
        select(
            SandboxSettings.clock_frozen_at,
            SandboxSettings.clock_offset_seconds,
            SandboxSettings.state_generation,
        ).where(SandboxSettings.id == ROW)
    ).one_or_none()
    if row is None:  # the migration writes the row; a database emptied by hand answers real time
        return SandboxRow(ClockSetting(), 0)
    return SandboxRow(
        ClockSetting(row.clock_frozen_at, float(row.clock_offset_seconds or 0.0)), row.state_generation
    )


def write_clock(conn: Connection, setting: ClockSetting, updated: datetime) -> None:
    conn.execute(
        update(SandboxSettings)
        .where(SandboxSettings.id == ROW)
        .values(
            clock_frozen_at=setting.frozen_at,
            clock_offset_seconds=setting.offset_seconds,
            updated=updated,
        )
    )


def next_state_generation(conn: Connection, updated: datetime) -> int:
    """Raise the state generation (after a restore); the new value."""
    conn.execute(
        update(SandboxSettings)
        .where(SandboxSettings.id == ROW)
        .values(state_generation=SandboxSettings.state_generation + 1, updated=updated)
    )
    return read_sandbox(conn).state_generation
