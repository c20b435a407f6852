"""The exception tree of the client (drawn in the package docstring)."""

from __future__ import annotations

from typing import Any

import httpx


class WebexError(Exception):
    """Base of every error the client raises."""


class TransportError(WebexError):
    """The server could not be reached, or the connection broke (after the retries)."""


class PreviewNotSupported(WebexError):
    """The server has no reassign preview (Webex itself); only meetadmin offers one."""

    def __init__(self) -> None:
        super().__init__("preview not supported by this server")


class ApiError(WebexError):
    """An error answer; carries Webex's ``message``, ``errors[].description`` and ``trackingId``."""

    def __init__(
        self,
        status: int,
        message: str,
        descriptions: list[str] | None = None,
        tracking_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.descriptions = list(descriptions or [])
        self.tracking_id = tracking_id
        self.retry_after = retry_after
        super().__init__(self.summary)

    @property
    def reason(self) -> str:
        """The most specific words the server gave: the descriptions, else the message."""
        return "; ".join(self.descriptions) if self.descriptions else self.message

    @property
    def summary(self) -> str:
        text = f"HTTP {self.status}: {self.message}"
        extra = [d for d in self.descriptions if d != self.message]
        if extra:
            text += " (" + "; ".join(extra) + ")"
        if self.tracking_id:
            text += f" [trackingId {self.tracking_id}]"
        return text


class BadRequestError(ApiError):
    """400."""


class UnauthorizedError(ApiError):
    """401: no token, or a token the server does not know."""


class ForbiddenError(ApiError):
    """403: the token lacks a scope or role, or the request breaks a rule for this caller."""


class NotFoundError(ApiError):
    """404."""


class MethodNotAllowedError(ApiError):
    """405."""


class ConflictError(ApiError):
    """409."""


class RetryableError(ApiError):
    """423, 429 or 503: try again later (``retry_after`` seconds when the server said)."""


class LockedError(RetryableError):
    """423."""


class RateLimitedError(RetryableError):
    """429."""


class UnavailableError(RetryableError):
    """503."""


class ServerError(ApiError):
    """Any other 5xx."""


RETRYABLE_STATUSES = frozenset({423, 429, 503})
_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    423: LockedError,
    429: RateLimitedError,
    503: UnavailableError,
}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date: let the backoff decide


def error_from_response(response: httpx.Response) -> ApiError:
    """Turn an error response into the matching exception, keeping the server's own words."""
    message = ""
    descriptions: list[str] = []
    tracking = response.headers.get("TrackingID")
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        for err in body.get("errors") or []:
            if isinstance(err, dict) and err.get("description"):
                descriptions.append(str(err["description"]))
        tracking = str(body.get("trackingId") or tracking or "") or None
    if not message:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, message, descriptions, tracking, _retry_after(response))
