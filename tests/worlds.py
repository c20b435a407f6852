"""Organisations the tests build on, in the fixture format (docs/fixtures.md)."""

from __future__ import annotations

import copy
from typing import Any

SITE = "example.webex.com"
ADMIN = "example-admin-token"
JOHN = "example-john-token"
MARCUS = "example-marcus-token"
ADMIN_SCOPES = [
    "meeting:admin_schedule_write",
    "meeting:admin_schedule_read",
    "meeting:admin_preferences_write",
    "meeting:admin_preferences_read",
    "meeting:admin_config_write",
    "meeting:admin_config_read",
    "spark-admin:people_read",
    "audit:events_read",
]
USER_SCOPES = ["meeting:schedules_read", "meeting:schedules_write", "meeting:preferences_read"]

# Series IDs of the example world.
PLANNING = "870f51ff287b41be84648412901e0402"  # MC, weekly, 4 ended instances, Marcus
WEBINAR = "41be84640b711b8414a4a205042ebba9"  # webinar, Marcus
OUTLOOK = "5f1c0a2e9b8d4c7a8e6f3b2a1c0d9e8f"  # from Outlook, Marcus
LIVE = "aa000000000000000000000000000001"  # in progress, Marcus
CALLBACK = "aa000000000000000000000000000002"  # callback audio, Marcus
TRAINING = "aa000000000000000000000000000003"  # TrainCenter, Marcus
EVENT = "aa000000000000000000000000000004"  # EventCenter (EC 1.0), Marcus
SUPPORT = "aa000000000000000000000000000005"  # SupportCenter, Marcus
ON_BEHALF = "aa000000000000000000000000000006"  # scheduled by the admin on Marcus's behalf
PRIVATE_TYPE = "aa000000000000000000000000000007"  # session type 20, which only Marcus holds
PERSONAL = "aa000000000000000000000000000008"  # personal room meeting, Marcus
OTHER_SITE = "aa000000000000000000000000000009"  # on other.webex.com, Marcus
UNKNOWN = "1d824a4a205042eba9574e00b711b226"  # no such series

_BASE: dict[str, Any] = {
    "org": {"id": "example", "name": "Example Inc."},
    "sites": [
        {
            "siteUrl": SITE,
            "pmrIdRule": {"prefix": "pr", "siteCode": "ABCD", "digits": 8},
            "sessionTypes": [
                {"id": "3", "shortName": "PRO", "name": "Pro Meeting", "type": "meeting"},
                {"id": "9", "shortName": "WBN", "name": "Webinar", "type": "webinar"},
                {"id": "11", "shortName": "TRS", "name": "Training Session", "type": "TrainCenter"},
                {"id": "13", "shortName": "EC", "name": "Event Center", "type": "EventCenter"},
                {"id": "15", "shortName": "SC", "name": "Support Center", "type": "SupportCenter"},
                {"id": "20", "shortName": "PRV", "name": "Private Meeting", "type": "meeting"},
            ],
        },
        {
            "siteUrl": "other.webex.com",
            "pmrIdRule": {"prefix": "ot", "siteCode": "OTHR", "digits": 8},
            "sessionTypes": [{"id": "3", "shortName": "PRO", "name": "Pro Meeting", "type": "meeting"}],
        },
    ],
    "people": [
        {"email": "admin@example.com", "displayName": "Example Admin", "admin": True, "preferredSite": SITE},
        {
            "email": "john.andersen@example.com",
            "displayName": "John Andersen",
            "preferredSite": SITE,
            "sites": {
                SITE: {
                    "host": True,
                    "licenses": ["meeting", "webinar"],
                    "sessionTypes": ["3", "9"],
                    "calling": True,
                    "personalMeetingRoomId": "prABCD23670651",
                },
                "other.webex.com": {"host": True, "licenses": ["meeting"], "sessionTypes": ["3"]},
            },
        },
        {
            "email": "marcus.hoffmann@example.com",
            "displayName": "Marcus Hoffmann",
            "preferredSite": SITE,
            "sites": {
                SITE: {
                    "host": True,
                    "licenses": ["meeting", "webinar"],
                    "sessionTypes": ["3", "9", "11", "13", "15", "20"],
                    "calling": True,
                },
                "other.webex.com": {"host": True, "licenses": ["meeting"], "sessionTypes": ["3"]},
            },
        },
        {
            "email": "nolicence@example.com",
            "displayName": "No Licence",
            "sites": {SITE: {"host": True, "licenses": [], "sessionTypes": ["3", "9"], "calling": True}},
        },
        {
            "email": "nocalling@example.com",
            "displayName": "No Calling",
            "sites": {SITE: {"host": True, "licenses": ["meeting", "webinar"], "sessionTypes": ["3", "9"]}},
        },
        {
            "email": "mconly@example.com",
            "displayName": "MC Only",
            "sites": {
                SITE: {"host": True, "licenses": ["meeting"], "sessionTypes": ["3", "9"], "calling": True}
            },
        },
        {"email": "brenda.song@example.com", "displayName": "Brenda Song", "sites": {SITE: {"host": False}}},
    ],
    "meetings": [
        {
            "id": PLANNING,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Quarterly planning",
            "sessionTypeId": "3",
            "start": "2026-10-01T16:00:00Z",
            "end": "2026-10-01T17:00:00Z",
            "recurrence": "FREQ=WEEKLY;COUNT=26",
            "endedInstances": 4,
        },
        {
            "id": WEBINAR,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Customer webinar",
            "sessionTypeId": "9",
            "scheduledType": "webinar",
            "start": "2027-01-20T18:00:00Z",
            "end": "2027-01-20T19:30:00Z",
        },
        {
            "id": OUTLOOK,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Synced from Outlook",
            "sessionTypeId": "3",
            "start": "2027-01-21T09:00:00Z",
            "end": "2027-01-21T09:30:00Z",
            "integration": "outlook",
        },
        {
            "id": LIVE,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Happening now",
            "sessionTypeId": "3",
            "start": "2026-11-01T09:00:00Z",
            "end": "2026-11-01T10:00:00Z",
            "recurrence": "FREQ=DAILY;COUNT=100",
            "state": "inProgress",
        },
        {
            "id": CALLBACK,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Dial-out call",
            "sessionTypeId": "3",
            "start": "2027-02-01T09:00:00Z",
            "end": "2027-02-01T10:00:00Z",
            "callback": True,
        },
        {
            "id": TRAINING,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Training",
            "sessionTypeId": "11",
            "start": "2027-02-02T09:00:00Z",
            "end": "2027-02-02T10:00:00Z",
        },
        {
            "id": EVENT,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Event 1.0",
            "sessionTypeId": "13",
            "start": "2027-02-03T09:00:00Z",
            "end": "2027-02-03T10:00:00Z",
        },
        {
            "id": SUPPORT,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Support",
            "sessionTypeId": "15",
            "start": "2027-02-04T09:00:00Z",
            "end": "2027-02-04T10:00:00Z",
        },
        {
            "id": ON_BEHALF,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "On behalf",
            "sessionTypeId": "3",
            "start": "2027-02-05T09:00:00Z",
            "end": "2027-02-05T10:00:00Z",
            "scheduledBy": "admin@example.com",
        },
        {
            "id": PRIVATE_TYPE,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "Private type",
            "sessionTypeId": "20",
            "start": "2027-02-06T09:00:00Z",
            "end": "2027-02-06T10:00:00Z",
        },
        {
            "id": PERSONAL,
            "siteUrl": SITE,
            "host": "marcus.hoffmann@example.com",
            "title": "In my room",
            "sessionTypeId": "3",
            "scheduledType": "personalRoomMeeting",
            "start": "2027-02-07T09:00:00Z",
            "end": "2027-02-07T10:00:00Z",
        },
        {
            "id": OTHER_SITE,
            "siteUrl": "other.webex.com",
            "host": "marcus.hoffmann@example.com",
            "title": "Elsewhere",
            "sessionTypeId": "3",
            "start": "2027-02-08T09:00:00Z",
            "end": "2027-02-08T10:00:00Z",
        },
    ],
    "tokens": [
        {"token": ADMIN, "person": "admin@example.com", "scopes": ADMIN_SCOPES},
        {"token": JOHN, "person": "john.andersen@example.com", "scopes": USER_SCOPES},
        {"token": MARCUS, "person": "marcus.hoffmann@example.com", "scopes": USER_SCOPES},
        {
            "token": "example-admin-readonly",
            "person": "admin@example.com",
            "scopes": ["meeting:admin_schedule_read"],
        },
        {"token": "example-john-pretends", "person": "john.andersen@example.com", "scopes": ADMIN_SCOPES},
    ],
}

# A second organisation, to prove isolation.
OTHER_ORG_SERIES = "bb000000000000000000000000000001"
OTHER_ADMIN = "globex-admin-token"
_OTHER: dict[str, Any] = {
    "org": {"id": "globex", "name": "Globex"},
    "sites": [
        {
            "siteUrl": "globex.webex.com",
            "pmrIdRule": {"prefix": "gx", "siteCode": "GLBX", "digits": 8},
            "sessionTypes": [{"id": "3", "shortName": "PRO", "name": "Pro Meeting", "type": "meeting"}],
        }
    ],
    "people": [
        {
            "email": "admin@globex.com",
            "displayName": "Globex Admin",
            "admin": True,
            "preferredSite": "globex.webex.com",
        },
        {
            "email": "hank@globex.com",
            "displayName": "Hank Scorpio",
            "sites": {
                "globex.webex.com": {
                    "host": True,
                    "licenses": ["meeting"],
                    "sessionTypes": ["3"],
                    "calling": True,
                }
            },
        },
    ],
    "meetings": [
        {
            "id": OTHER_ORG_SERIES,
            "siteUrl": "globex.webex.com",
            "host": "hank@globex.com",
            "title": "Globex plan",
            "sessionTypeId": "3",
            "start": "2027-01-01T10:00:00Z",
            "end": "2027-01-01T11:00:00Z",
        },
    ],
    "tokens": [{"token": OTHER_ADMIN, "person": "admin@globex.com", "scopes": ADMIN_SCOPES}],
}


def example_world() -> dict[str, Any]:
    return copy.deepcopy(_BASE)


def other_world() -> dict[str, Any]:
    return copy.deepcopy(_OTHER)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
