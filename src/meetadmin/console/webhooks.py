"""Webhooks: the organisation's webhooks as ``GET /v1/webhooks`` lists them for the signed-in token, a
webhook's delivery log (the control plane's ``/_meetadmin/webhooks/deliveries``, only of a webhook the
token can see), **Redeliver** (as ``POST .../deliveries/{id}/redeliver``) and reactivation (as
``PUT /v1/webhooks/{id}`` with ``status: active``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.console.sessions import SignedIn
from meetadmin.console.web import PAGE_SIZE, ConsoleRoute, need, posted, render, signed_in
from meetadmin.domain.people import TokenOwner
from meetadmin.domain.webhooks import WebhookRow
from meetadmin.errors import Conflict, NotFound
from meetadmin.outbound.events import wall_clock
from meetadmin.services import webhooks as service
from meetadmin.store.webhook_outbox import LoggedAttempt, add_queue_rows, attempt_by_id, logged_attempts

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
Before = Annotated[int | None, Query(ge=1, le=10**17)]
WRITE = auth.ADMIN_SCHEDULE_WRITE


def may_change(owner: TokenOwner) -> bool:
    """A read-only admin sees webhooks but changes none: changing one takes a meetings write scope."""
    return owner.is_admin and auth.has_any(owner, WRITE)


def _all_visible(conn: Connection, owner: TokenOwner) -> list[WebhookRow]:
    rows: list[WebhookRow] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = service.list_webhooks(conn, owner, False, after, 500)
        rows.extend(page)
        if len(page) < 500:
            return rows
        after = (page[-1].created, page[-1].id)


@router.get("/webhooks")
async def webhooks(request: Request, session: Session) -> Response:
    owner = session.owner
    rows = await writer(request).read(lambda conn: _all_visible(conn, owner))
    return render(request, "webhooks.html", session, nav="webhooks", rows=rows, may_change=may_change(owner))


@router.get("/webhooks/{webhook_id}")
async def deliveries(request: Request, session: Session, webhook_id: str, before: Before = None) -> Response:
    owner = session.owner
    wanted = webhook_id[:128]

    def read(conn: Connection) -> tuple[WebhookRow, list[LoggedAttempt]]:
        hook = service.get_webhook(conn, owner, wanted)
        return hook, logged_attempts(conn, hook.id, None, before, None, PAGE_SIZE + 1)

    hook, attempts = await writer(request).read(read)
    older = attempts[PAGE_SIZE - 1].id if len(attempts) > PAGE_SIZE else None
    return render(
        request,
        "webhook.html",
        session,
        nav="webhooks",
        hook=hook,
        attempts=attempts[:PAGE_SIZE],
        older=older,
        first=before is None,
        may_change=may_change(owner),
    )


@router.post("/webhooks/{webhook_id}/reactivate")
async def reactivate(request: Request, session: Session, webhook_id: str) -> Response:
    await posted(request, session)
    owner = session.owner
    need(may_change(owner), WRITE)
    wanted = webhook_id[:128]

    def work(conn: Connection) -> str:
        hook = service.get_webhook(conn, owner, wanted)
        change = service.WebhookChange(hook.name, hook.target_url, None, "active")
        return service.update_webhook(conn, owner, hook.id, change).id

    done = await writer(request).write(work)
    return RedirectResponse(f"/console/webhooks/{done}", status_code=303)


@router.post("/webhooks/deliveries/{attempt_id}/redeliver")
async def redeliver(request: Request, session: Session, attempt_id: str) -> Response:
    """Owe that attempt's event to its webhook once more, as the control plane's redeliver does; only for
    a webhook this token can see."""
    await posted(request, session)
    owner = session.owner
    need(may_change(owner), WRITE)
    number = int(attempt_id) if attempt_id.isdigit() and len(attempt_id) < 18 else None

    def work(conn: Connection) -> str:
        found = attempt_by_id(conn, number) if number is not None else None
        if found is None:
            raise NotFound("No delivery of your organisation's webhooks has this ID.")
        webhook_id, event_id, series_id = found
        try:
            hook = service.get_webhook(conn, owner, webhook_id)
        except NotFound:
            raise NotFound("No delivery of your organisation's webhooks has this ID.") from None
        if hook.status != "active":
            raise Conflict("The webhook is inactive; reactivate it first.")
        add_queue_rows(conn, [(webhook_id, event_id, series_id)], wall_clock())
        return webhook_id

    webhook_id = await writer(request).write(work)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
    return RedirectResponse(f"/console/webhooks/{webhook_id}?redelivered={number}", status_code=303)
