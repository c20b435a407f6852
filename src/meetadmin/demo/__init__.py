"""The demo organisation: the example organisation of the fixture docs, plus generated people and
meetings so that listing, paging, offboarding and every refusal can be tried at once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

BASE = Path(__file__).parent / "demo-org.yaml"
SITE = "example.webex.com"
FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam"]
LAST = ["Meyer", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Ueda", "Varga"]
TOPICS = [
    "Standup",
    "Roadmap review",
    "1:1",
    "Design crit",
    "Customer call",
    "Retro",
    "Hiring sync",
    "All hands",
]


def demo_document(seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    doc: dict[str, Any] = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    site = doc["sites"][0]
    site["sessionTypes"].append(
        {"id": "15", "shortName": "SC", "name": "Support Center", "type": "SupportCenter"}
    )
    people = doc["people"]
    for first, last in zip(FIRST, LAST, strict=False):
        people.append(
            {
                "email": f"{first.lower()}.{last.lower()}@example.com",
                "displayName": f"{first} {last}",
                "preferredSite": SITE,
                "sites": {
                    SITE: {
                        "host": True,
                        "licenses": ["meeting"] if rng.random() < 0.7 else ["meeting", "webinar"],
                        "sessionTypes": ["3", "9"],
                        "calling": rng.random() < 0.8,
                    }
                },
            }
        )
    hosts = ["marcus.hoffmann@example.com"] * 40 + [p["email"] for p in people[4:]]
    start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for i in range(120):
        begin = start + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(8, 17))
        meeting: dict[str, Any] = {
            "siteUrl": SITE,
            "host": hosts[i % len(hosts)],
            "title": f"{rng.choice(TOPICS)} #{i + 1}",
            "sessionTypeId": "3",
            "start": begin.isoformat().replace("+00:00", "Z"),
            "end": (begin + timedelta(minutes=rng.choice([30, 45, 60]))).isoformat().replace("+00:00", "Z"),
        }
        if i % 4 == 0:
            meeting["recurrence"] = rng.choice(
                ["FREQ=WEEKLY;COUNT=12", "FREQ=DAILY;COUNT=20;BYDAY=MO,TU,WE,TH,FR"]
            )
            meeting["endedInstances"] = rng.randrange(0, 4)
        if i % 17 == 5:
            meeting["callback"] = True
        if i % 19 == 7:
            meeting["state"] = "inProgress"
        if i % 23 == 11:
            meeting["integration"] = "google"
        doc["meetings"].append(meeting)
    return doc
