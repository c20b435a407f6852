"""``/_meetadmin/webhooks/deliveries``: the delivery log (every attempt, kept 7 days, newest first) and
``.../{id}/redeliver`` (send that attempt's event to its webhook again)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from meetadmin.api.deps import writer
from meetadmin.api.link_paging import page_size, whole_number
from meetadmin.api.responses import json_response
from meetadmin.api.webhooks import stamp
from meetadmin.errors import BadRequest, Conflict, NotFound
from meetadmin.outbound.events import wall_clock
from meetadmin.store.webhook_outbox import LoggedAttempt, add_queue_rows, attempt_by_id, logged_attempts
from meetadmin.store.webhooks import webhook_by_id

router = APIRouter(prefix="/webhooks", tags=["Webhooks (control plane)"])

STATUSES = ("delivered", "retrying", "failed")
MAX_PAGE = 1000


def attempt_json(a: LoggedAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "webhookId": a.webhook_id,
        "eventId": a.event_id,
        "resource": a.resource,
        "event": a.event,
        "meetingId": a.meeting_id,
        "attempt": a.attempt,
        "status": a.status,
        "httpStatus": a.response_status,
        "error": a.error,
        "elapsedMs": a.elapsed_ms,
        "created": stamp(a.created),
        "eventCreated": stamp(a.event_created),
    }


@router.get("/deliveries")
async def deliveries(
    request: Request,
    webhook_id: Annotated[str | None, Query(alias="webhookId", max_length=128)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    max_: Annotated[str | None, Query(alias="max", max_length=32)] = None,
    before: Annotated[str | None, Query(max_length=32)] = None,
    after: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Attempts, newest first; ``before``/``after`` (attempt IDs) page back or poll for new ones."""
    if status is not None and status not in STATUSES:
        raise BadRequest(f"'status' must be one of {', '.join(STATUSES)}.")
    limit = page_size(max_, 100, MAX_PAGE)
    before_id = whole_number("before", before, 0, 0) if before is not None else None
    after_id = whole_number("after", after, 0, 0) if after is not None else None
    rows = await writer(request).read(
        lambda conn: logged_attempts(conn, webhook_id, status, before_id, after_id, limit)
    )
    return json_response({"items": [attempt_json(r) for r in rows]})


@router.post("/deliveries/{attempt_id}/redeliver", status_code=202)
async def redeliver(request: Request, attempt_id: str) -> Response:
    """Owe that attempt's event to its webhook once more (now, after what the webhook is owed already for
    that series)."""
    number = int(attempt_id) if attempt_id.isdigit() and len(attempt_id) < 18 else None
    if number is None:
        raise NotFound(f"No delivery has the ID '{attempt_id[:64]}'.")

    def work(conn: Any) -> dict[str, Any]:
        found = attempt_by_id(conn, number)
        if found is None:
            raise NotFound(f"No delivery has the ID '{number}'.")
        webhook_id, event_id, series_id = found
        hook = webhook_by_id(conn, webhook_id)
        if hook is None or hook.status != "active":
            raise Conflict("The webhook is inactive; reactivate it (PUT status 'active') first.")
        add_queue_rows(conn, [(webhook_id, event_id, series_id)], wall_clock())
        return {"webhookId": webhook_id, "eventId": event_id, "queued": True}

    body = await writer(request).write(work)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
    return json_response(body, status_code=202)
