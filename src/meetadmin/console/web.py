"""The console's plumbing: templates, the signed-in user, CSRF, and errors rendered as pages.

Every console route is a ``ConsoleRoute``: an ``ApiError`` raised anywhere below it (the same errors the
API answers in Webex's JSON) becomes an HTML page with the same status and words, and ``SignInNeeded``
becomes a redirect to the sign-in page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.console.sessions import COOKIE, SignedIn, find_session
from meetadmin.domain.people import TokenOwner
from meetadmin.errors import ApiError, BadRequest, Forbidden
from meetadmin.services.common import utcnow

HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PAGE_SIZE = 50


class SignInNeeded(Exception):
    """No live session: go to the sign-in page (and come back afterwards)."""


@dataclass(frozen=True)
class Can:
    """What the signed-in token may do, by the API's own scope tuples."""

    people: bool
    meetings: bool
    reassign: bool
    refresh: bool
    audit: bool


def can(owner: TokenOwner) -> Can:
    admin = owner.is_admin
    return Can(
        people=admin and auth.has_any(owner, auth.ADMIN_PEOPLE_READ),
        meetings=admin and auth.has_any(owner, auth.ADMIN_SCHEDULE_READ + auth.ADMIN_SCHEDULE_WRITE),
        reassign=admin and auth.has_any(owner, auth.REASSIGN),
        refresh=admin and auth.has_any(owner, auth.REFRESH_PMR),
        audit=admin and auth.has_any(owner, auth.AUDIT_READ),
    )


def lifetime(request: Request) -> timedelta:
    return timedelta(minutes=request.app.state.settings.console_session_minutes)


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


async def signed_in(request: Request) -> SignedIn:
    """The request's live session, or ``SignInNeeded``."""
    session_id = request.cookies.get(COOKIE, "")
    if not session_id:
        raise SignInNeeded
    now = utcnow()
    found = await writer(request).read(lambda conn: find_session(conn, session_id, now))
    if found is None or not found.owner.is_admin:
        raise SignInNeeded
    return found


async def posted(request: Request, session: SignedIn) -> FormData:
    """The form of a POST, after its CSRF token matched the session's (else 403, nothing done)."""
    form = await request.form()
    given = form.get("csrf_token")
    if not isinstance(given, str) or not secrets.compare_digest(given, session.csrf):
        raise Forbidden(
            "The form was missing its security token or it did not match your session. "
            "Reload the page and send the form again.",
            message="Refused: the form's security (CSRF) token is missing or wrong.",
        )
    return form


def need(allowed: bool, scopes: tuple[str, ...]) -> None:
    """403 with the scopes to ask for, as the API says it."""
    if not allowed:
        raise Forbidden(
            f"Your token lacks the scope this needs: one of {', '.join(scopes)}.",
            message="Your token does not allow this.",
        )


def text_field(form: FormData, name: str, limit: int = 320) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be text.")
    if len(value) > limit:
        raise BadRequest(f"'{name}' is longer than {limit} characters.")
    return value.strip()


def render(
    request: Request,
    template: str,
    session: SignedIn | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = TEMPLATES.get_template(template).render(
        request=request,
        me=session.owner if session else None,
        csrf=session.csrf if session else "",
        can=can(session.owner) if session else None,
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/console"
    location = "/console/login?next=" + quote(target, safe="")
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class ConsoleRoute(APIRoute):
    """Errors as pages: the API's errors keep their status and words; no session goes to sign-in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return sign_in_redirect(request)
            except ApiError as exc:
                return error_page(request, exc.status, exc.message, exc.descriptions)
            except RequestValidationError as exc:
                words = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
                return error_page(request, 400, "The request could not be read.", words)

        return route


def error_page(request: Request, status: int, message: str, descriptions: list[str]) -> HTMLResponse:
    return render(
        request,
        "error.html",
        None,
        status_code=status,
        status=status,
        message=message,
        descriptions=[d for d in descriptions if d and d != message],
    )
