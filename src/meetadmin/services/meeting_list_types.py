"""List Meetings' values: the parsed query, the items of a page, and the opaque keyset cursor of its
``Link: rel="next"``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from meetadmin.domain.ids import MeetingIdKind, scheduled_meeting_id
from meetadmin.domain.occurrences import Occurrence
from meetadmin.errors import BadRequest
from meetadmin.store.meeting_reads import InstanceView, SeriesView

_FMT = "%Y-%m-%dT%H:%M:%S.%f"


@dataclass(frozen=True)
class ListQuery:
    """List Meetings' parameters, parsed (the API layer has already rejected malformed values)."""

    meeting_type: str | None = None
    state: str | None = None
    scheduled_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    series_id: str | None = None
    host_email: str | None = None
    site_url: str | None = None
    max: int = 10
    current: bool = True
    meeting_number: str | None = None
    never_matches: bool = False  # webLink, roomId or integrationTag: nothing of ours carries them
    is_modified: bool | None = None
    wants_content: bool = False  # a has* flag set to true: no instance here has chat, recordings, ...
    cursor: dict[str, Any] | None = None


@dataclass(frozen=True)
class Listed:
    """One item of the page: a series, an occurrence (scheduled meeting) or an instance."""

    kind: MeetingIdKind
    series: SeriesView
    start: datetime
    end: datetime | None
    state: str
    instance: InstanceView | None = None
    occurrence: Occurrence | None = None  # a scheduled meeting: its original start and exception

    @property
    def id(self) -> str:
        if self.instance is not None:
            return self.instance.id
        if self.kind is MeetingIdKind.SCHEDULED:
            original = self.occurrence.original if self.occurrence is not None else self.start
            return scheduled_meeting_id(self.series.series.id, original)
        return self.series.series.id


@dataclass
class ListPage:
    items: list[Listed] = field(default_factory=list)
    next: dict[str, Any] | None = None


@dataclass(frozen=True)
class Cursor:
    mode: str
    window: tuple[datetime, datetime]
    start: datetime
    id: str
    occurrence: datetime | None = None

    @staticmethod
    def read(raw: dict[str, Any] | None, mode: str) -> Cursor | None:
        if raw is None:
            return None
        try:
            if raw["m"] != mode:
                raise ValueError("mode")
            occ = raw.get("o")
            return Cursor(
                mode,
                (datetime.strptime(raw["f"], _FMT), datetime.strptime(raw["t"], _FMT)),
                datetime.strptime(raw["s"], _FMT),
                str(raw["i"]),
                datetime.strptime(occ, _FMT) if occ else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(
                "The 'cursor' parameter does not belong to this listing; "
                "follow the Link header's URL as given."
            ) from exc

    @staticmethod
    def write(
        mode: str, window: tuple[datetime, datetime], start: datetime, id_: str, occ: datetime | None = None
    ) -> dict[str, Any]:
        out = {"m": mode, "f": window[0].strftime(_FMT), "t": window[1].strftime(_FMT)}
        out |= {"s": start.strftime(_FMT), "i": id_}
        if occ is not None:
            out["o"] = occ.strftime(_FMT)
        return out
