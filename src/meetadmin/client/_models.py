"""Typed results of the client (pydantic models over Webex's JSON; unknown fields are kept)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class ItemError(_Wire):
    description: str = ""


class ReassignItem(_Wire):
    """One meeting's verdict in a 207 (or preview) answer; ``http_status`` 200 means moved/movable."""

    meeting_id: str
    http_status: int
    message: str | None = None
    errors: list[ItemError] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.http_status == 200

    @property
    def reason(self) -> str:
        words = [e.description for e in self.errors if e.description]
        if words:
            return "; ".join(words)
        return self.message or ("" if self.ok else f"HTTP {self.http_status}")


class ReassignResult(_Wire):
    """The answer to a reassign or preview call: one item per requested ID (a 204 gives all 200s)."""

    items: list[ReassignItem] = Field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        return all(item.ok for item in self.items)


class Meeting(_Wire):
    id: str
    title: str = ""
    meeting_type: str | None = None
    meeting_series_id: str | None = None
    state: str | None = None
    scheduled_type: str | None = None
    host_email: str | None = None
    host_display_name: str | None = None
    site_url: str | None = None
    start: str | None = None
    end: str | None = None


class Site(_Wire):
    site_url: str
    default: bool = False


class Person(_Wire):
    id: str
    emails: list[str] = Field(default_factory=list)
    display_name: str | None = None
    org_id: str | None = None


class PersonalRoom(_Wire):
    topic: str | None = None
    personal_meeting_room_link: str | None = None
    sip_address: str | None = None

    @property
    def room_id(self) -> str | None:
        """The room ID, read off the room link (``https://site/meet/<id>``); GET has no ID field."""
        link = (self.personal_meeting_room_link or "").rstrip("/")
        if "/meet/" not in link:
            return None
        return link.rsplit("/", 1)[-1] or None


class PmrChange(_Wire):
    """One item of a refreshId request or answer."""

    email: str | None = None
    person_id: str | None = None
    system_generated: bool | None = None
    personal_meeting_room_id: str | None = None


class PmrRefreshResult(_Wire):
    site_url: str | None = None
    personal_meeting_room_ids: list[PmrChange] = Field(default_factory=list)
