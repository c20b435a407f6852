"""Errors a client can cause, each owning its HTTP status.

``meetadmin.api.errors`` renders them in Webex's shape:
``{"message", "errors": [{"description"}], "trackingId"}``.

Exception tree::

    ApiError                 any error a client can cause; rendered by one handler
    ├── BadRequest           400
    ├── Unauthorized         401
    ├── Forbidden            403
    ├── NotFound             404
    ├── MethodNotAllowed     405
    ├── Conflict             409
    ├── PayloadTooLarge      413
    ├── UnsupportedMediaType 415
    └── TooManyRequests      429
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The request was invalid or cannot be otherwise served."

    def __init__(
        self,
        *descriptions: str,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        entries: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.descriptions = list(descriptions) or [self.message]
        self.headers = headers or {}
        # ``errors[]`` entries with more than a description (each has one); rendered instead of
        # ``descriptions`` when given.
        self.entries = entries or []
        super().__init__(self.message)


class BadRequest(ApiError):
    status = 400
    default_message = (
        "The request could not be understood by the server due to malformed syntax. "
        "See 'errors' for more details."
    )


class Unauthorized(ApiError):
    status = 401
    default_message = "The request requires a valid access token set in the Authorization request header."


class Forbidden(ApiError):
    status = 403
    default_message = "The request is understood, but it has been refused or access is not allowed."


class NotFound(ApiError):
    status = 404
    default_message = "The requested resource could not be found."


class MethodNotAllowed(ApiError):
    status = 405
    default_message = "The request was made to a resource using an HTTP request method that is not supported."


class Conflict(ApiError):
    status = 409
    default_message = (
        "The request could not be processed because it conflicts with some established rule of the system."
    )


class PayloadTooLarge(ApiError):
    status = 413
    default_message = "The request body is larger than the server accepts."


class UnsupportedMediaType(ApiError):
    status = 415
    default_message = (
        "The request was made to a resource without specifying a media type "
        "or used a media type that is not supported."
    )


class TooManyRequests(ApiError):
    status = 429
    default_message = "Too many requests have been sent in a given amount of time."
