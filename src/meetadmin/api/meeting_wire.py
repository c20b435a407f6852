"""Create and Update a Meeting's request bodies (``CreateMeetingObject``, ``PatchMeetingObject`` /
``UpdateMeetingObject``) and their translation into service commands.

Fields meetadmin does not model (invitees, meeting options, registration, ...) are accepted and ignored;
ad-hoc meetings, spaces (``roomId``) and templates are refused with a 400 that says so.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from meetadmin.domain.meeting_rules import RuleError, parse_instant, password_problem, text_problems, zone
from meetadmin.services.meeting_create import NewMeeting, invalid
from meetadmin.services.meeting_update import MeetingPatch


class CreateMeetingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: StrictStr = Field(max_length=128)
    agenda: StrictStr | None = Field(default=None, max_length=1300)
    password: StrictStr | None = Field(default=None, max_length=64)
    start: StrictStr = Field(max_length=64)
    end: StrictStr = Field(max_length=64)
    timezone: StrictStr | None = Field(default=None, max_length=64)
    recurrence: StrictStr | None = Field(default=None, max_length=512)
    scheduledType: Literal["meeting", "webinar", "personalRoomMeeting"] | None = None
    sessionTypeId: StrictInt | StrictFloat | None = None
    hostEmail: StrictStr | None = Field(default=None, max_length=320)
    siteUrl: StrictStr | None = Field(default=None, max_length=255)
    adhoc: StrictBool | None = None
    roomId: StrictStr | None = Field(default=None, max_length=512)
    templateId: StrictStr | None = Field(default=None, max_length=512)
    invitees: list[Any] | None = Field(default=None, max_length=1000)
    integrationTags: list[StrictStr] | None = Field(default=None, max_length=3)


def create_command(body: CreateMeetingRequest) -> NewMeeting:
    """The parsed command, or a 400 listing every problem found."""
    problems = text_problems(body.title, body.agenda)
    if body.adhoc:
        problems.append("'adhoc' meetings need a Webex space; meetadmin has none.")
    if body.roomId:
        problems.append("'roomId' is not supported: meetadmin has no Webex spaces.")
    if body.templateId:
        problems.append("'templateId' is not supported: meetadmin has no meeting templates.")
    password = password_problem(body.password)
    if password is not None:
        problems.append(password)
    type_id: str | None = None
    if body.sessionTypeId is not None:
        number = body.sessionTypeId
        if (isinstance(number, float) and not number.is_integer()) or number < 1:
            problems.append("'sessionTypeId' must be a positive whole number.")
        else:
            type_id = str(int(number))
    tz_name = (body.timezone or "UTC").strip() or "UTC"
    try:
        tz = zone(tz_name)
    except RuleError as exc:
        problems.append(f"'timezone': {exc}")
        tz = None
    times = []
    for field, text in (("start", body.start), ("end", body.end)):
        try:
            times.append(parse_instant(text, field, tz))
        except RuleError as exc:
            problems.append(str(exc))
    recurrence = body.recurrence.strip() if body.recurrence and body.recurrence.strip() else None
    if problems:
        raise invalid(*problems)
    return NewMeeting(
        title=body.title.strip(),
        agenda=body.agenda or "",
        password=body.password,
        start=times[0],
        end=times[1],
        timezone=tz_name,
        recurrence=recurrence,
        scheduled_type=body.scheduledType or "meeting",
        session_type_id=type_id,
        site_url=body.siteUrl,
        host_email=body.hostEmail,
    )


class UpdateMeetingRequest(BaseModel):
    """PATCH and PUT /meetings/{meetingId}. Fields meetadmin does not model (meeting options, audio,
    watermarks, tracking codes, ...) are accepted and ignored, as Create does."""

    model_config = ConfigDict(extra="ignore")

    title: StrictStr | None = Field(default=None, max_length=128)
    agenda: StrictStr | None = Field(default=None, max_length=1300)
    password: StrictStr | None = Field(default=None, max_length=64)
    start: StrictStr | None = Field(default=None, max_length=64)
    end: StrictStr | None = Field(default=None, max_length=64)
    timezone: StrictStr | None = Field(default=None, max_length=64)
    recurrence: StrictStr | None = Field(default=None, max_length=512)
    sessionTypeId: StrictInt | StrictFloat | None = None
    hostEmail: StrictStr | None = Field(default=None, max_length=320)
    sendEmail: StrictBool | None = None


_PATCH_NAMES = {"sessionTypeId": "session_type_id", "hostEmail": "host_email"}


def patch_command(body: UpdateMeetingRequest) -> MeetingPatch:
    """The update as given (which fields were present matters: absent ones keep their value)."""
    type_id: str | None = None
    if body.sessionTypeId is not None:
        number = body.sessionTypeId
        if (isinstance(number, float) and not number.is_integer()) or number < 1:
            raise invalid("'sessionTypeId' must be a positive whole number.")
        type_id = str(int(number))
    given = frozenset(_PATCH_NAMES.get(name, name) for name in body.model_fields_set)
    return MeetingPatch(
        given=given,
        title=body.title,
        agenda=body.agenda,
        password=body.password,
        start=body.start,
        end=body.end,
        timezone=body.timezone,
        recurrence=body.recurrence,
        session_type_id=type_id,
        host_email=body.hostEmail.strip() if body.hostEmail and body.hostEmail.strip() else None,
    )
