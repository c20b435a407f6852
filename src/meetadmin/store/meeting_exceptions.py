"""Update and Delete a Meeting in the store: series values, exceptions (occurrences changed or deleted on
their own), deleted series. SQLAlchemy Core on the work's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, or_, select, update

from meetadmin.domain.occurrences import OccurrenceChange
from meetadmin.store.models import MeetingException, MeetingInstance, MeetingSeries

_CHUNK = 500


def _change(row: Any) -> OccurrenceChange:
    return OccurrenceChange(
        original=row.original_start,
        deleted=bool(row.deleted),
        start=row.start,
        end=row.end,
        title=row.title,
        agenda=row.agenda,
        password=row.password,
    )


def changes_of(conn: Connection, series_ids: Sequence[str]) -> dict[str, tuple[OccurrenceChange, ...]]:
    """Each series' exceptions, by original start (series without any are absent)."""
    found: dict[str, list[OccurrenceChange]] = defaultdict(list)
    ids = sorted(set(series_ids))
    for i in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(MeetingException)
            .where(MeetingException.series_id.in_(ids[i : i + _CHUNK]))
            .order_by(MeetingException.series_id, MeetingException.original_start)
        )
        for row in rows:
            found[row.series_id].append(_change(row))
    return {key: tuple(value) for key, value in found.items()}


def save_change(conn: Connection, series_id: str, change: OccurrenceChange, now: datetime) -> None:
    """Create or replace the exception of one occurrence."""
    values = {
        "deleted": change.deleted,
        "start": change.start,
        "end": change.end,
        "title": change.title,
        "agenda": change.agenda,
        "password": change.password,
        "updated": now,
    }
    done = conn.execute(
        update(MeetingException)
        .where(MeetingException.series_id == series_id, MeetingException.original_start == change.original)
        .values(**values)
    )
    if done.rowcount == 0:
        conn.execute(
            insert(MeetingException).values(series_id=series_id, original_start=change.original, **values)
        )
    if change.end is not None and not change.deleted:  # List Meetings' bound on where it may end now
        conn.execute(
            update(MeetingSeries)
            .where(
                MeetingSeries.id == series_id,
                or_(MeetingSeries.exceptions_end.is_(None), MeetingSeries.exceptions_end < change.end),
            )
            .values(exceptions_end=change.end)
        )


def cancel_changes(conn: Connection, series_id: str) -> int:
    """Drop every exception of the series (its times or recurrence changed); how many there were."""
    done = conn.execute(delete(MeetingException).where(MeetingException.series_id == series_id))
    conn.execute(update(MeetingSeries).where(MeetingSeries.id == series_id).values(exceptions_end=None))
    return int(done.rowcount or 0)


def lock_series(conn: Connection, org_id: str, series_id: str) -> None:
    """Serialise concurrent changes of one series (PostgreSQL; SQLite writers are serial already)."""
    if conn.dialect.name != "sqlite":
        conn.execute(
            select(MeetingSeries.id)
            .where(MeetingSeries.id == series_id, MeetingSeries.org_id == org_id)
            .with_for_update()
        )


def update_series(conn: Connection, series_id: str, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(MeetingSeries).where(MeetingSeries.id == series_id).values(**values, updated=now))


def delete_series(conn: Connection, series_id: str, now: datetime) -> bool:
    """Delete the series. One whose meetings ran keeps its row, marked deleted, for the instances that
    stay with their hosts (True); one that never ran goes with everything hanging off it (False)."""
    cancel_changes(conn, series_id)
    ran = conn.execute(select(exists().where(MeetingInstance.series_id == series_id))).scalar()
    if ran:
        update_series(conn, series_id, {"deleted_at": now}, now)
        return True
    conn.execute(delete(MeetingSeries).where(MeetingSeries.id == series_id))
    return False
