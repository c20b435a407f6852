"""Render every error in Webex's shape: ``{"message", "errors": [{"description"}], "trackingId"}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from meetadmin.api.gate import error_payload
from meetadmin.api.responses import JSON_MEDIA_TYPE, json_response
from meetadmin.api.tracking import tracking_id_of
from meetadmin.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)


def error_body(message: str, descriptions: list[str], tracking_id: str) -> dict[str, Any]:
    return {
        "message": message,
        "errors": [{"description": d} for d in descriptions],
        "trackingId": tracking_id,
    }


def error_response(request: Request, error: ApiError) -> Response:
    return rendered_error(error, tracking_id_of(request))


def rendered_error(error: ApiError, tracking_id: str) -> Response:
    """The one rendering of an error a client caused, for the routes and the fast path alike."""
    return Response(
        content=error_payload(error, tracking_id),
        status_code=error.status,
        headers=error.headers,
        media_type=JSON_MEDIA_TYPE,
    )


_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: TooManyRequests,
}


def _describe_validation(err: dict[str, Any]) -> str:
    loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "header", "path")]
    where = ".".join(loc)
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "missing":
        return f"'{where}' is required." if where else "A request body is required."
    msg = str(err.get("msg", "is invalid"))
    return f"'{where}': {msg}." if where else f"The request body is invalid: {msg}."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        descriptions = [_describe_validation(dict(e)) for e in exc.errors()][:100]
        return error_response(request, BadRequest(*descriptions))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        cls = _HTTP_ERRORS.get(exc.status_code)
        if cls is None:
            body = error_body(str(exc.detail), [str(exc.detail)], tracking_id_of(request))
            return json_response(body, status_code=exc.status_code, headers=dict(exc.headers or {}))
        error = cls(headers=dict(exc.headers or {}))
        if exc.status_code == 404:
            error = NotFound(f"No resource is at {request.url.path}.")
        elif exc.status_code == 405:
            error = MethodNotAllowed(
                f"{request.method} is not supported on {request.url.path}.", headers=dict(exc.headers or {})
            )
        return error_response(request, error)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # PostgreSQL refuses NUL (0x00) in text (the driver raises before sending); that is bad input, and
        # the transaction has rolled back. Any other DataError stays a server error.
        if "NUL" in str(exc.orig):
            return error_response(request, BadRequest("Text values must not contain NUL (0x00) characters."))
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        body = error_body(
            "Something went wrong on the server.",
            ["An unexpected error occurred; quote the trackingId when reporting it."],
            tracking_id_of(request),
        )
        return json_response(body, status_code=500)
