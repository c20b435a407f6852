"""Where meetadmin knowingly departs from the official Webex schema: the ONE list of exceptions.

The official subset (``src/meetadmin/spec/webex-meeting-subset.json``) ships unmodified. The conformance
checker (``tests/conformance.py``) and the schemathesis run (``tests/test_schemathesis.py``) both load it
through ``tests.conformance.load_spec()``, which applies these patches to the in-memory copy. A patch sets
keys of the schema object at a JSON pointer (a value of ``None`` deletes the key), after checking that the
official text there is still what the patch was written against. See shared/spec/contract-notes.md §2.2,
§5 and §7 for the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SchemaPatch:
    pointer: str  # JSON pointer (RFC 6901) to a schema object in the spec document
    expected: dict[str, Any]  # keys the official spec has there now: the patch refuses to apply otherwise
    changes: dict[str, Any]  # keys to set; None deletes the key
    reason: str


_LINK = {"$ref": "#/components/schemas/LinksObjectForTelephony"}

# Fields developer.webex.com says an instance lacks in some states (contract-notes §2.2, "Availability by
# state"): ended instances have no meetingNumber, password, hostKey, sipAddress or telephony. The schema
# marks password, hostKey and telephony required for every meeting object. (The same page says lobby and
# inProgress instances have no end, but the schema requires end of every meeting object: meetadmin sends
# a running instance's scheduled end, so no exception is needed for it.)
_HIDDEN_WHEN_ENDED = {"password", "hostKey", "telephony"}


def _by_state(required: list[str]) -> dict[str, Any]:
    """Keep ``required`` for every object, except the documented per-state omissions of instances."""
    always = [name for name in required if name not in _HIDDEN_WHEN_ENDED]
    instance = {"meetingType": {"enum": ["meeting"]}}
    return {
        "required": always,
        "anyOf": [
            {"required": required},
            {
                "properties": {**instance, "state": {"enum": ["ended"]}},
                "required": [name for name in required if name not in _HIDDEN_WHEN_ENDED],
            },
        ],
    }


_SERIES_REQUIRED = [
    "id",
    "title",
    "password",
    "meetingType",
    "state",
    "timezone",
    "start",
    "end",
    "hostUserId",
    "hostDisplayName",
    "hostEmail",
    "hostKey",
    "siteUrl",
    "webLink",
    "telephony",
    "enabledBreakoutSessions",
]
_LIST_ITEM_REQUIRED = [*_SERIES_REQUIRED[:1], "meetingSeriesId", *_SERIES_REQUIRED[1:]]

EXCEPTIONS: list[SchemaPatch] = [
    SchemaPatch(
        pointer="/components/schemas/ReassignMeetingResponseObject/properties/httpStatus",
        expected={"type": "string"},
        changes={"type": "integer", "example": 404},
        reason=(
            "The schema types httpStatus as a string, but the spec's own 207 example and our seed document "
            "send integers (200, 404). We follow the seed (contract-notes §5 and §7.2)."
        ),
    ),
    SchemaPatch(
        pointer="/components/schemas/PMRObject/properties/telephony/properties/links",
        expected={"type": "object"},
        changes={"type": "array", "items": _LINK, "required": None, "properties": None},
        reason=(
            "PMRObject types telephony.links as one object, but the spec's GET/PUT personalMeetingRoom "
            "examples send an array of link objects, as MeetingSeriesObject's telephony.links does "
            "(contract-notes §3.7 and §5). We send the array."
        ),
    ),
    SchemaPatch(
        pointer="/components/schemas/MeetingSeriesObject",
        expected={"required": _SERIES_REQUIRED},
        changes=_by_state(_SERIES_REQUIRED),
        reason=(
            "Instances (meetingType=meeting) follow developer.webex.com's availability-by-state rules "
            "(contract-notes §2.2): an ended instance has no password, hostKey or telephony. The schema "
            "marks them required for every meeting object. "
            "Series and scheduled meetings keep the full required list."
        ),
    ),
    SchemaPatch(
        pointer="/components/schemas/MeetingObjectForListMeeting",
        expected={"required": _LIST_ITEM_REQUIRED},
        changes=_by_state(_LIST_ITEM_REQUIRED),
        reason="The same availability-by-state rules for the items of GET /meetings (contract-notes §2.2).",
    ),
    SchemaPatch(
        pointer="/components/schemas/Webhook/properties/event",
        expected={
            "type": "string",
            "enum": [
                "created",
                "updated",
                "deleted",
                "started",
                "ended",
                "joined",
                "left",
                "migrated",
                "authorized",
                "deauthorized",
                "statusChanged",
            ],
        },
        changes={
            "enum": [
                "created",
                "updated",
                "deleted",
                "started",
                "ended",
                "joined",
                "left",
                "migrated",
                "authorized",
                "deauthorized",
                "statusChanged",
                "all",
            ]
        },
        reason=(
            "Webex accepts and returns event 'all' (every event of the resource; its Webhooks guide and "
            "wxc-sdk's WebhookEventType list it), but the schema's enum leaves it out. contract-notes §8.1 "
            "allows 'all' for meetings."
        ),
    ),
]
