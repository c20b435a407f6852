"""The organisation the Update / Delete a Meeting tests build on: the example world plus series placed
relative to now (so their occurrences lie ahead, or ran, whenever the suite runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from meetadmin.store.models import AuditEvent, MeetingException, Notice
from tests.conftest import load_world
from tests.worlds import SITE, auth, example_world, other_world

NOW = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"
INVALID = "The input parameters contain invalid items."

WEEKLY = "dd000000000000000000000000000001"  # John, weekly x6 from tomorrow 10:00
RAN = "dd000000000000000000000000000002"  # Marcus, weekly x10 from 30 days ago, 3 ended instances
SOLO = "dd000000000000000000000000000003"  # Marcus, once, in 3 days
MARCUS_WEEKLY = "dd000000000000000000000000000004"  # Marcus, weekly x5 from the day after tomorrow

WEEKLY_START = (NOW + timedelta(days=1)).replace(hour=10, minute=0)
RAN_START = NOW - timedelta(days=30)
MARCUS_WEEKLY_START = (NOW + timedelta(days=2)).replace(hour=15, minute=0)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def occurrence_id(series_id: str, start: datetime) -> str:
    return f"{series_id}_{start.strftime('%Y%m%dT%H%M%SZ')}"


def weekly(n: int, first: datetime = WEEKLY_START) -> datetime:
    """The start of occurrence ``n`` (0-based) of a weekly series."""
    return first + timedelta(days=7 * n)


def _meeting(id_: str, host: str, start: datetime, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "siteUrl": SITE,
        "host": host,
        "title": extra.pop("title", f"Meeting {id_[-1]}"),
        "sessionTypeId": "3",
        "start": iso(start),
        "end": iso(start + timedelta(minutes=minutes)),
        **extra,
    }


def change_world(engine: Engine) -> dict[str, Any]:
    doc = example_world()
    doc["meetings"] += [
        _meeting(WEEKLY, JOHN_EMAIL, WEEKLY_START, recurrence="FREQ=WEEKLY;COUNT=6", title="Weekly 1:1"),
        _meeting(
            RAN,
            MARCUS_EMAIL,
            RAN_START,
            recurrence="FREQ=WEEKLY;COUNT=10",
            endedInstances=3,
            title="Ran before",
        ),
        _meeting(SOLO, MARCUS_EMAIL, NOW + timedelta(days=3), title="Once"),
        _meeting(
            MARCUS_WEEKLY,
            MARCUS_EMAIL,
            MARCUS_WEEKLY_START,
            recurrence="FREQ=WEEKLY;COUNT=5",
            title="Marcus weekly",
        ),
    ]
    load_world(engine, doc, other_world())
    return doc


def occurrences(client: TestClient, token: str, series_id: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(
        "/v1/meetings",
        headers=auth(token),
        params={"meetingSeriesId": series_id, "meetingType": "scheduledMeeting", "max": 100, **params},
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def listed_ids(client: TestClient, token: str, **params: Any) -> list[str]:
    r = client.get("/v1/meetings", headers=auth(token), params={"max": 100, **params})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def exception_count(engine: Engine, series_id: str) -> int:
    with engine.connect() as conn:
        query = (
            select(func.count()).select_from(MeetingException).where(MeetingException.series_id == series_id)
        )
        return int(conn.execute(query).scalar_one())


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.action, AuditEvent.target_type, AuditEvent.target_id))
        return [(r.action, r.target_type, r.target_id) for r in rows]


def notices(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Notice).order_by(Notice.id)))
