"""The sandbox page, for the holder of the control token: fault rules, the rate limit, snapshots and
reset, as the control plane (``/_meetadmin/faults``, ``/rate-limits``, ``/snapshots``, ``/reset``) does
them, by the same state and services.

It exists only on a server with a control token, and only for a console session whose user has entered
it: the token is checked with ``hmac.compare_digest`` and remembered in a cookie holding an HMAC (keyed
by the control token) of the session's CSRF secret, so it dies with the session or a changed control
token, and means nothing in another session. Without it every ``/console/sandbox`` page is 404. The
control token, not the API token's scopes, is what allows these actions (as on the control plane).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import Connection, insert, select
from starlette.datastructures import FormData

from meetadmin.api.auth import TokenCache
from meetadmin.api.deps import writer
from meetadmin.console.sessions import SignedIn
from meetadmin.console.web import ConsoleRoute, posted, render, secure_cookies, signed_in, text_field
from meetadmin.control.chaos import ChaosState
from meetadmin.control.chaos_api import RateLimitIn
from meetadmin.control.faults import FaultIn
from meetadmin.control.rate_limits import Limit
from meetadmin.control.state import RACE
from meetadmin.errors import BadRequest, NotFound
from meetadmin.services import snapshots
from meetadmin.store.models import ApiToken, ConsoleSession
from meetadmin.store.snapshots import snapshot_infos

router = APIRouter(prefix="/console/sandbox", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
COOKIE = "meetadmin_console_control"
DONE = {
    "unlocked": "The control token is accepted for this session.",
    "fault-added": "The fault rule is added.",
    "fault-deleted": "The fault rule is deleted.",
    "faults-cleared": "Every fault rule is deleted.",
    "limit-set": "The rate limit is set.",
    "limit-off": "The rate limit is off.",
    "saved": "The snapshot is saved.",
    "restored": "The snapshot is restored.",
    "deleted": "The snapshot is deleted.",
    "reset": "The sandbox is back to its start-up state.",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _control_token(request: Request) -> str:
    token: str | None = request.app.state.settings.control_token
    if not token:
        raise NotFound(f"No page is at {request.url.path}.")
    return token


def _proof(control_token: str, session: SignedIn) -> str:
    message = b"meetadmin-console-sandbox:" + session.csrf.encode()
    return hmac.new(control_token.encode(), message, hashlib.sha256).hexdigest()


def unlocked(request: Request, session: SignedIn) -> bool:
    token: str | None = request.app.state.settings.control_token
    given = request.cookies.get(COOKIE, "")
    return bool(token) and hmac.compare_digest(given.encode(), _proof(str(token), session).encode())


async def holder(request: Request, session: Session) -> SignedIn:
    """The session, when the server has a control token and this session entered it; else 404."""
    _control_token(request)
    if not unlocked(request, session):
        raise NotFound(f"No page is at {request.url.path}.")
    return session


Holder = Annotated[SignedIn, Depends(holder)]


def _chaos(request: Request) -> ChaosState:
    state: ChaosState = request.app.state.chaos
    return state


def _done(what: str) -> Response:
    return RedirectResponse(f"/console/sandbox?done={what}", status_code=303)


def _invalid(exc: ValidationError) -> BadRequest:
    words = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        words.append(f"'{where}': {msg}." if where else f"{msg}.")
    return BadRequest(*words)


@router.get("/unlock")
async def unlock_form(request: Request, session: Session) -> Response:
    _control_token(request)
    if unlocked(request, session):
        return RedirectResponse("/console/sandbox", status_code=303)
    return render(request, "sandbox_unlock.html", session, nav="sandbox", problem="")


@router.post("/unlock")
async def unlock(request: Request, session: Session) -> Response:
    form = await posted(request, session)
    expected = _control_token(request)
    given = text_field(form, "controlToken", 4096)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return render(
            request,
            "sandbox_unlock.html",
            session,
            status_code=401,
            nav="sandbox",
            problem="That is not this server's control token.",
        )
    response = _done("unlocked")
    response.set_cookie(
        COOKIE,
        _proof(expected, session),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/console",
    )
    return response


@router.post("/lock")
async def lock(request: Request, session: Holder) -> Response:
    await posted(request, session)
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
async def sandbox(request: Request, session: Holder, done: str = "") -> Response:
    chaos = _chaos(request)
    if chaos.shared is not None:
        await chaos.sync()
    infos = await writer(request).read(snapshot_infos)
    return render(
        request,
        "sandbox.html",
        session,
        nav="sandbox",
        done=DONE.get(done, ""),
        rules=[rule.wire() for rule in chaos.faults.rules],
        limit=chaos.limit,
        shared=chaos.shared_across_processes,
        snapshots=infos,
        startup=snapshots.STARTUP,
        methods=METHODS,
    )


def _number(form: FormData, name: str, kind: type = int) -> Any:
    text = text_field(form, name, 40)
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise BadRequest(f"'{name}' must be a number.") from None


@router.post("/faults")
async def add_fault(request: Request, session: Holder) -> Response:
    form = await posted(request, session)
    body: dict[str, Any] = {"path": text_field(form, "path", 1000), "phase": text_field(form, "phase", 10)}
    method = text_field(form, "method", 16)
    if method:
        body["method"] = method
    if not body["phase"]:
        del body["phase"]
    for name in ("status", "count", "latencyMs"):
        value = _number(form, name)
        if value is not None:
            body[name] = value
    probability = _number(form, "probability", float)
    if probability is not None:
        body["probability"] = probability
    retry_after = text_field(form, "retryAfter", 200)
    if retry_after:
        body["retryAfter"] = int(retry_after) if retry_after.isdigit() else retry_after
    try:
        spec = FaultIn.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    chaos = _chaos(request)
    chaos.faults.add(spec)
    chaos.rules_changed()
    return _done("fault-added")


@router.post("/faults/{rule_id}/delete")
async def delete_fault(request: Request, session: Holder, rule_id: str) -> Response:
    await posted(request, session)
    chaos = _chaos(request)
    if not chaos.faults.remove(rule_id[:64]):
        raise NotFound("No fault rule has this ID (it may have been deleted already).")
    chaos.rules_changed()
    return _done("fault-deleted")


@router.post("/faults/clear")
async def clear_faults(request: Request, session: Holder) -> Response:
    await posted(request, session)
    chaos = _chaos(request)
    chaos.faults.clear()
    chaos.rules_changed()
    return _done("faults-cleared")


@router.post("/rate-limit")
async def set_rate_limit(request: Request, session: Holder) -> Response:
    form = await posted(request, session)
    if text_field(form, "off", 10):
        await _chaos(request).set_limit(None)
        return _done("limit-off")
    body = {"requests": _number(form, "requests"), "perSeconds": _number(form, "perSeconds")}
    if body["requests"] is None:
        raise BadRequest("'requests' is required: how many requests a token may make per period.")
    try:
        given = RateLimitIn.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    assert given.requests is not None and given.per_seconds is not None
    await _chaos(request).set_limit(Limit(given.requests, given.per_seconds))
    return _done("limit-set")


@router.post("/snapshots")
async def save_snapshot(request: Request, session: Holder) -> Response:
    form = await posted(request, session)
    name = snapshots.snapshot_name(text_field(form, "name", 64))
    replace = text_field(form, "replace", 10) == "yes"
    await writer(request).write(lambda conn: snapshots.save(conn, name, replace), RACE)
    return _done("saved")


def _keeping_session(session: SignedIn, change: Any) -> Any:
    """A work that restores state, then puts this console session back when the restored state lacks it
    and still has its API token (so restoring does not sign out whoever restored)."""

    def work(conn: Connection) -> int:
        kept = conn.execute(select(ConsoleSession).where(ConsoleSession.csrf == session.csrf)).first()
        generation: int = change(conn)
        if kept is not None:
            there = conn.execute(
                select(ConsoleSession.id_hash).where(ConsoleSession.id_hash == kept.id_hash)
            ).first()
            token = conn.execute(
                select(ApiToken.token_hash).where(ApiToken.token_hash == kept.token_hash)
            ).first()
            if there is None and token is not None:
                conn.execute(insert(ConsoleSession).values(**kept._mapping))
        return generation

    return work


def _forget_cached_state(request: Request, generation: int) -> None:
    """As the control plane's restore: this process's cached tokens go at once."""
    request.app.state.token_cache = TokenCache()
    request.app.state.state_generation = generation


@router.post("/snapshots/{name}/restore")
async def restore_snapshot(request: Request, session: Holder, name: str) -> Response:
    await posted(request, session)
    wanted = name[:64]
    work = _keeping_session(session, lambda conn: snapshots.restore(conn, wanted))
    generation = await writer(request).write(work, RACE)
    _forget_cached_state(request, generation)
    return _done("restored")


@router.post("/snapshots/{name}/delete")
async def delete_snapshot(request: Request, session: Holder, name: str) -> Response:
    await posted(request, session)
    wanted = name[:64]
    await writer(request).write(lambda conn: snapshots.delete(conn, wanted))
    return _done("deleted")


@router.post("/reset")
async def reset(request: Request, session: Holder) -> Response:
    await posted(request, session)
    generation = await writer(request).write(_keeping_session(session, snapshots.reset), RACE)
    _forget_cached_state(request, generation)
    await _chaos(request).reset()
    return _done("reset")
