"""The console tests' organisation and a signed-in client (tests/test_console_*.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.worlds import SITE, example_world

XSS_TITLE = "<img src=x onerror=alert(1)>"
XSS_SERIES = "cc000000000000000000000000000001"
READONLY = "console-readonly-token"
READ_SCOPES = [
    "meeting:admin_schedule_read",
    "meeting:admin_preferences_read",
    "meeting:admin_config_read",
    "spark-admin:people_read",
    "audit:events_read",
]
LEAVER = "leaver@example.com"


def console_world(bulk: int = 0) -> dict[str, Any]:
    """The example organisation, plus: a meeting of Marcus's whose title is HTML, a read-only admin token
    (every read scope, no write scope), and ``bulk`` plain series hosted by leaver@example.com."""
    doc = example_world()
    doc["meetings"].append(
        {
            "id": XSS_SERIES,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": XSS_TITLE,
            "sessionTypeId": "3",
            "start": "2027-03-01T09:00:00Z",
            "end": "2027-03-01T10:00:00Z",
        }
    )
    doc["tokens"].append({"token": READONLY, "person": "admin@example.com", "scopes": READ_SCOPES})
    if bulk:
        doc["people"].append(
            {
                "email": LEAVER,
                "displayName": "Lee Leaver",
                "sites": {
                    SITE: {"host": True, "licenses": ["meeting"], "sessionTypes": ["3"], "calling": True}
                },
            }
        )
        first = datetime(2027, 4, 1, 9, 0)
        for n in range(bulk):
            start = first + timedelta(hours=n)
            doc["meetings"].append(
                {
                    "id": f"dd{n:030x}",
                    "siteUrl": SITE,
                    "host": LEAVER,
                    "title": f"Bulk meeting {n + 1}",
                    "sessionTypeId": "3",
                    "start": start.strftime("%Y-%m-%dT%H:%M:00Z"),
                    "end": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00Z"),
                }
            )
    return doc


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; the session's CSRF token."""
    form = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"csrf_token": csrf_of(form.text), "token": token, "next": "/console"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console").text)
