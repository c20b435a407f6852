"""Personal room IDs: what a valid one looks like and how a site's rule generates one."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

ROOM_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{2,63}")
ROOM_ID_RULE_TEXT = (
    "A personal room ID has 3 to 64 characters: letters, digits, '.', '-' and '_', "
    "starting with a letter or a digit."
)


@dataclass(frozen=True)
class RoomIdRule:
    """``prefix + site_code + digits`` random digits, e.g. ``prABCD23670651``."""

    prefix: str
    site_code: str
    digits: int

    def generate(self) -> str:
        number = "".join(secrets.choice("0123456789") for _ in range(self.digits))
        return f"{self.prefix}{self.site_code}{number}"


def is_valid_room_id(value: str) -> bool:
    return ROOM_ID_RE.fullmatch(value) is not None


def room_key(value: str) -> str:
    """Personal room IDs are unique per site regardless of case."""
    return value.lower()


def room_link(site_url: str, room_id: str) -> str:
    return f"https://{site_url}/meet/{room_id}"


def sip_address(site_url: str, room_id: str) -> str:
    return f"{room_id}@{site_url}"
