"""A typed client for the Webex Meetings admin API (meetadmin or Webex itself), and bulk jobs on it.

    from meetadmin.client import WebexClient
    with WebexClient("https://webexapis.com/v1", token) as webex:
        result = webex.reassign("bob@example.com", ["870f51ff287b41be84648412901e0402"])

Every call retries 423, 429 and 503 answers (waiting ``Retry-After`` when given) and dropped
connections, a bounded number of times with jitter (``RetryPolicy``). Errors are typed:

    WebexError
     ├── TransportError            the server could not be reached (after the retries)
     ├── PreviewNotSupported       reassign preview asked of a server without it (Webex)
     └── ApiError                  an error answer: .status .message .descriptions .tracking_id
          ├── BadRequestError          400
          ├── UnauthorizedError        401
          ├── ForbiddenError           403
          ├── NotFoundError            404
          ├── MethodNotAllowedError    405
          ├── ConflictError            409
          ├── RetryableError           still failing after the retries; .retry_after
          │    ├── LockedError         423
          │    ├── RateLimitedError    429
          │    └── UnavailableError    503
          └── ServerError              other 5xx
"""

from meetadmin.client._client import DEFAULT_BASE_URL, WebexClient
from meetadmin.client._errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    LockedError,
    MethodNotAllowedError,
    NotFoundError,
    PreviewNotSupported,
    RateLimitedError,
    RetryableError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnavailableError,
    WebexError,
)
from meetadmin.client._models import (
    Meeting,
    Person,
    PersonalRoom,
    PmrChange,
    PmrRefreshResult,
    ReassignItem,
    ReassignResult,
    Site,
)
from meetadmin.client._retry import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiError",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "LockedError",
    "Meeting",
    "MethodNotAllowedError",
    "NotFoundError",
    "Person",
    "PersonalRoom",
    "PmrChange",
    "PmrRefreshResult",
    "PreviewNotSupported",
    "RateLimitedError",
    "ReassignItem",
    "ReassignResult",
    "RetryPolicy",
    "RetryableError",
    "ServerError",
    "Site",
    "TransportError",
    "UnauthorizedError",
    "UnavailableError",
    "WebexClient",
    "WebexError",
]
