"""RFC 5988 ``Link: <url>; rel="next"`` paging with opaque keyset cursors.

A cursor is base64url of a small JSON object (the position after the last item sent, plus whatever
the listing must keep fixed between pages, such as a resolved time window). Clients follow the URL as
given; a cursor that does not decode is a 400.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import orjson
from fastapi import Request

from meetadmin.errors import BadRequest

CURSOR_PARAM = "cursor"
_MAX_CURSOR = 2048


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(text: str | None) -> dict[str, Any] | None:
    """The position a cursor names, None without one; 400 for anything we did not hand out."""
    if text is None:
        return None
    bad = BadRequest("The 'cursor' parameter is not valid; follow the Link header's URL as given.")
    if not text or len(text) > _MAX_CURSOR:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise bad from exc
    if not isinstance(value, dict):
        raise bad
    return value


def next_link(request: Request, position: dict[str, Any] | None) -> dict[str, str]:
    """The ``Link`` header for the next page (absolute URL, same query plus the cursor), or none."""
    if position is None:
        return {}
    url = request.url.include_query_params(**{CURSOR_PARAM: encode_cursor(position)})
    return {"Link": f'<{url}>; rel="next"'}


def whole_number(name: str, value: str | None, default: int, low: int) -> int:
    """A query parameter Webex types as ``number`` that must be a whole number of at least ``low``."""
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number != int(number):
        raise BadRequest(f"'{name}' must be a whole number (got '{value[:32]}').")
    if number < low:
        raise BadRequest(f"'{name}' must be at least {low}.")
    return int(number)


def page_size(value: str | None, default: int, cap: int) -> int:
    """``max``: a whole number, at least 1; above the cap it is clamped to the cap (as Webex does)."""
    return min(whole_number("max", value, default, 1), cap)
