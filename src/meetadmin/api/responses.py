"""JSON responses in Webex's media type, serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

JSON_MEDIA_TYPE = "application/json;charset=UTF-8"


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=orjson.dumps(content),
        status_code=status_code,
        headers=headers,
        media_type=JSON_MEDIA_TYPE,
    )
