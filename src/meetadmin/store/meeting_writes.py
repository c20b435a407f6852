"""Writing meeting series (Create a Meeting)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from meetadmin.store.models import MeetingSeries, SessionType


def site_session_kinds(session: Session, site_id: int) -> dict[str, str]:
    """The site's session types: ``{type id: kind}``."""
    rows = session.execute(
        select(SessionType.type_id, SessionType.kind).where(SessionType.site_id == site_id)
    )
    return {type_id: kind for type_id, kind in rows}


def insert_series(session: Session, values: dict[str, Any], now: datetime) -> None:
    session.execute(insert(MeetingSeries).values(**values, created=now, updated=now))
