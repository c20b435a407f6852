"""The organisation fixture format (docs/fixtures.md), as pydantic models.

Unknown keys are errors, so that a typo never silently means something else. Extensions beyond the
shared format are marked (meetadmin) below and listed in the README.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SESSION_KINDS = Literal["meeting", "webinar", "privateMeeting", "EventCenter", "SupportCenter", "TrainCenter"]
STATES = Literal["active", "scheduled", "ready", "lobby", "inProgress", "ended", "missed", "expired"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OrgDoc(Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
    name: str = Field(min_length=1, max_length=256)


class PmrIdRuleDoc(Strict):
    prefix: str = Field(default="", max_length=16, pattern=r"^[A-Za-z0-9]*$")
    siteCode: str = Field(default="", max_length=16, pattern=r"^[A-Za-z0-9]*$")
    digits: int = Field(default=8, ge=4, le=20)


class SessionTypeDoc(Strict):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")
    shortName: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    type: SESSION_KINDS

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SiteDoc(Strict):
    siteUrl: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]$")
    pmrIdRule: PmrIdRuleDoc = Field(default_factory=PmrIdRuleDoc)
    sessionTypes: list[SessionTypeDoc] = Field(default_factory=list)
    allowThirdPartyReassign: bool = False  # (meetadmin)
    pmrQuarantineDays: int = Field(default=90, ge=0, le=3650)  # (meetadmin)


class QuarantinedRoomDoc(Strict):
    """(meetadmin) A personal room ID the person gave up, reserved to them until ``reservedUntil``."""

    id: str = Field(min_length=1, max_length=64)
    releasedAt: datetime
    reservedUntil: datetime


class CoHostDoc(Strict):
    email: str = Field(min_length=3, max_length=320)
    displayName: str = Field(max_length=256)


class PersonalRoomDoc(Strict):
    """(meetadmin) The personal room's options once set (as GET /meetingPreferences/personalMeetingRoom)."""

    topic: str = Field(min_length=1, max_length=128)
    hostPin: str = Field(max_length=16)
    enabledAutoLock: bool = False
    autoLockMinutes: int = Field(default=0, ge=0, le=1440)
    enabledNotifyHost: bool = False
    supportCoHost: bool = False
    supportAnyoneAsCoHost: bool = False
    allowFirstUserToBeCoHost: bool = False
    allowAuthenticatedDevices: bool = False
    coHosts: list[CoHostDoc] = Field(default_factory=list)


class PersonSiteDoc(Strict):
    host: bool = False
    licenses: list[Literal["meeting", "webinar"]] = Field(default_factory=list)
    sessionTypes: list[str] = Field(default_factory=list)
    calling: bool = False
    personalMeetingRoomId: str | None = None
    quarantinedRoomIds: list[QuarantinedRoomDoc] = Field(default_factory=list)  # (meetadmin)
    personalRoom: PersonalRoomDoc | None = None  # (meetadmin)

    @field_validator("sessionTypes", mode="before")
    @classmethod
    def _ids_as_text(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value


class PersonDoc(Strict):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    displayName: str = Field(min_length=1, max_length=256)
    personId: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_\-=]+$")
    admin: bool = False
    preferredSite: str | None = None
    sites: dict[str, PersonSiteDoc] = Field(default_factory=dict)


class InstanceDoc(Strict):
    """(meetadmin) A meeting that ran or runs, with the host it ran under."""

    id: str = Field(pattern=r"^[0-9a-f]{32}_I_[0-9]{1,30}$")
    host: str
    start: datetime
    end: datetime | None = None
    state: Literal["ended", "inProgress", "lobby"] = "ended"


class MeetingDoc(Strict):
    id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    siteUrl: str
    host: str
    title: str = Field(min_length=1, max_length=128)
    agenda: str = Field(default="", max_length=1300)  # (meetadmin)
    timezone: str = "UTC"  # (meetadmin)
    start: datetime
    end: datetime
    recurrence: str | None = None
    sessionTypeId: str
    scheduledType: Literal["meeting", "webinar", "personalRoomMeeting"] = "meeting"
    state: STATES = "active"
    callback: bool = False
    integration: Literal["outlook", "google"] | None = None
    scheduledBy: str | None = None
    endedInstances: int = Field(default=0, ge=0, le=1000)
    instances: list[InstanceDoc] | None = None  # (meetadmin) instead of endedInstances: exactly these
    meetingNumber: str | None = Field(default=None, pattern=r"^[0-9]{6,20}$")  # (meetadmin)
    password: str | None = Field(default=None, min_length=1, max_length=64)  # (meetadmin)

    @field_validator("sessionTypeId", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class TokenDoc(Strict):
    token: str = Field(min_length=8, max_length=4096)
    person: str
    scopes: list[str] = Field(default_factory=list)


class FixtureDoc(Strict):
    org: OrgDoc
    sites: list[SiteDoc] = Field(default_factory=list)
    people: list[PersonDoc] = Field(default_factory=list)
    meetings: list[MeetingDoc] = Field(default_factory=list)
    tokens: list[TokenDoc] = Field(default_factory=list)
