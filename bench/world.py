"""Generated organisations for the benchmarks, loaded in bulk into a fresh database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from meetadmin.store.db import make_engine
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.fixtures import load_documents
from meetadmin.store.migrate import upgrade
from meetadmin.store.models import Org
from meetadmin.store.writer import Writer

SITE = "bench.webex.com"
TOKEN = "bench-admin-token"
SCOPES = ["meeting:admin_schedule_write", "meeting:admin_schedule_read", "meeting:admin_preferences_write"]


def person_email(i: int) -> str:
    return f"user{i:05d}@bench.example.com"


def series_id(i: int) -> str:
    return f"{i:032x}"


def build(series: int, people: int) -> dict[str, Any]:
    hosts = [
        {
            "email": person_email(i),
            "displayName": f"User {i}",
            "sites": {
                SITE: {
                    "host": True,
                    "licenses": ["meeting", "webinar"],
                    "sessionTypes": ["3", "9"],
                    "calling": True,
                }
            },
        }
        for i in range(people)
    ]
    meetings = [
        {
            "id": series_id(i),
            "siteUrl": SITE,
            "host": person_email(i % people),
            "title": f"Meeting {i}",
            "sessionTypeId": "3",
            "start": "2027-03-01T10:00:00Z",
            "end": "2027-03-01T11:00:00Z",
            "recurrence": "FREQ=WEEKLY;COUNT=10" if i % 3 == 0 else None,
        }
        for i in range(series)
    ]
    return {
        "org": {"id": "bench", "name": "Bench Inc."},
        "sites": [
            {
                "siteUrl": SITE,
                "pmrIdRule": {"prefix": "pr", "siteCode": "BNCH", "digits": 10},
                "sessionTypes": [
                    {"id": "3", "shortName": "PRO", "name": "Pro Meeting", "type": "meeting"},
                    {"id": "9", "shortName": "WBN", "name": "Webinar", "type": "webinar"},
                ],
            }
        ],
        "people": [
            {
                "email": "admin@bench.example.com",
                "displayName": "Admin",
                "admin": True,
                "preferredSite": SITE,
            },
            *hosts,
        ],
        "meetings": meetings,
        "tokens": [{"token": TOKEN, "person": "admin@bench.example.com", "scopes": SCOPES}],
    }


def loaded(url: str) -> bool:
    """Whether the database already holds the benchmark organisation (``run.py --reuse``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Org.id).where(Org.id == "bench")).first() is not None
    except DBAPIError:  # no schema yet
        return False
    finally:
        engine.dispose()


def create(url: str, series: int, people: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    doc = FixtureDoc.model_validate(build(series, people))
    with Writer(engine).writing() as session:
        load_documents(session, [("bench", doc)])
    engine.dispose()
