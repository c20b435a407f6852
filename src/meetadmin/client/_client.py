"""``WebexClient``: a small typed httpx client for the Webex Meetings admin calls meetadmin serves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from meetadmin.client._errors import (
    MethodNotAllowedError,
    NotFoundError,
    PreviewNotSupported,
    TransportError,
    error_from_response,
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

DEFAULT_BASE_URL = "https://webexapis.com/v1"
DEFAULT_TIMEOUT = 30.0
QueryValue = str | int | bool | None


class WebexClient:
    """Talks to meetadmin or Webex itself. Every call retries 423/429/503 and transport errors.

    Give ``http_client`` to reuse (or inject, in tests) an ``httpx.Client``; it is then not closed by
    ``close()``. Otherwise one is made with ``transport`` and ``timeout``, and connections are reused.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str = "",
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    # -- plumbing ---------------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WebexClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, QueryValue] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method,
                url,
                params=query or None,
                json=body,
                headers={**self._headers, **(headers or {})},
            )
        except httpx.TransportError as exc:
            raise TransportError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request (retried per the policy); a 4xx/5xx raises the matching ``ApiError``."""
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        for attempt in self.retry.retrying():
            with attempt:
                return self._send_once(method, url, params, json, headers)
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    def paginate(self, path: str, params: Mapping[str, QueryValue] | None = None) -> Iterator[dict[str, Any]]:
        """Yield the ``items`` of every page, following ``Link: <url>; rel="next"`` as given."""
        response = self.request("GET", path, params=params)
        while True:
            body = response.json()
            yield from body.get("items") or []
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            response = self.request("GET", next_url)

    # -- meetings ---------------------------------------------------------------------------------

    def reassign(
        self, host_email: str, meeting_ids: Sequence[str], site_url: str | None = None
    ) -> ReassignResult:
        """POST /meetings/reassignHost; a 204 comes back as every item with ``http_status`` 200."""
        response = self.request(
            "POST",
            "meetings/reassignHost",
            json={"hostEmail": host_email, "meetingIds": list(meeting_ids)},
            headers={"siteUrl": site_url} if site_url else None,
        )
        if response.status_code == 204 or not response.content:
            return ReassignResult(items=[ReassignItem(meeting_id=m, http_status=200) for m in meeting_ids])
        return ReassignResult.model_validate(response.json())

    def preview_reassign(
        self, host_email: str, meeting_ids: Sequence[str], site_url: str | None = None
    ) -> ReassignResult:
        """meetadmin's POST /meetings/reassignHost/preview; raises ``PreviewNotSupported`` elsewhere."""
        try:
            response = self.request(
                "POST",
                "meetings/reassignHost/preview",
                json={"hostEmail": host_email, "meetingIds": list(meeting_ids)},
                headers={"siteUrl": site_url} if site_url else None,
            )
        except (NotFoundError, MethodNotAllowedError) as exc:
            raise PreviewNotSupported() from exc
        return ReassignResult.model_validate(response.json())

    def list_meetings(
        self,
        *,
        host_email: str | None = None,
        site_url: str | None = None,
        meeting_type: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        max: int | None = 100,
        **extra: QueryValue,
    ) -> Iterator[Meeting]:
        """GET /meetings across every page (lazy)."""
        params: dict[str, QueryValue] = {
            "hostEmail": host_email,
            "siteUrl": site_url,
            "meetingType": meeting_type,
            "from": from_,
            "to": to,
            "max": max,
            **extra,
        }
        for item in self.paginate("meetings", params):
            yield Meeting.model_validate(item)

    def get_meeting(self, meeting_id: str, *, host_email: str | None = None) -> Meeting:
        response = self.request("GET", f"meetings/{meeting_id}", params={"hostEmail": host_email})
        return Meeting.model_validate(response.json())

    # -- sites, people, personal rooms ------------------------------------------------------------

    def sites(self, *, user_email: str | None = None) -> list[Site]:
        response = self.request("GET", "meetingPreferences/sites", params={"userEmail": user_email})
        return [Site.model_validate(s) for s in response.json().get("sites") or []]

    def people(self, *, email: str | None = None, ids: Sequence[str] | None = None) -> list[Person]:
        """GET /people?email= (or ?id=a,b,c, up to 85 IDs), every page."""
        params: dict[str, QueryValue] = {"email": email, "id": ",".join(ids) if ids else None}
        return [Person.model_validate(p) for p in self.paginate("people", params)]

    def personal_room(self, *, user_email: str | None = None, site_url: str | None = None) -> PersonalRoom:
        response = self.request(
            "GET",
            "meetingPreferences/personalMeetingRoom",
            params={"userEmail": user_email, "siteUrl": site_url},
        )
        return PersonalRoom.model_validate(response.json())

    def refresh_pmr_ids(
        self, site_url: str, changes: Sequence[PmrChange], *, idempotency_key: str
    ) -> PmrRefreshResult:
        """POST /admin/meetingPreferences/personalMeetingRoom/refreshId (all-or-nothing, 1..100 people).

        The same ``idempotency_key`` with the same body is answered from the server's record, so a retry
        never generates a second set of IDs.
        """
        body = {
            "siteUrl": site_url,
            "personalMeetingRoomIds": [c.model_dump(by_alias=True, exclude_none=True) for c in changes],
        }
        response = self.request(
            "POST",
            "admin/meetingPreferences/personalMeetingRoom/refreshId",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return PmrRefreshResult.model_validate(response.json())


def _query_value(value: QueryValue) -> str | int:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, int) else str(value)
