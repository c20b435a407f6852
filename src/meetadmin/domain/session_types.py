"""A session type (meeting, webinar, training, ...) as the store reads it and the services return it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionTypeRow:
    id: str
    short_name: str
    name: str
    kind: str
