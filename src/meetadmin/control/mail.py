"""The mailbox (contract-notes §8.3b): every notice meetadmin wrote in the last ``mail_keep_days``,
sent through SMTP or not, as the e-mail it is (or would be).

* ``GET /_meetadmin/mail`` newest first; ``to`` (an address, any case), ``max`` (default 100, at most
  1000); the next page through the ``Link: <...>; rel="next"`` header.
* ``GET /_meetadmin/mail/{id}``; ``GET /_meetadmin/mail/{id}/raw``, the RFC 5322 message itself.
* ``DELETE /_meetadmin/mail`` empties it (pending notices are then never sent).

Each message's ``delivery.status``: ``pending`` (SMTP attempts to come), ``sent``, ``failed`` (its
attempts ran out) or ``held`` (no SMTP server is configured: kept here only).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from meetadmin.api.deps import writer
from meetadmin.api.link_paging import decode_cursor, next_link, page_size
from meetadmin.api.responses import json_response
from meetadmin.errors import BadRequest, NotFound
from meetadmin.outbound.mail import body_text, message, message_id, recipient_name
from meetadmin.services.common import utcnow
from meetadmin.store.notices import NoticeRow, empty_mailbox, mailbox, notice_by_id

router = APIRouter()

MAX_PAGE = 1000


def _time(value: datetime | None) -> str | None:
    return (
        None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _since(request: Request) -> datetime:
    return utcnow() - timedelta(days=request.app.state.settings.mail_keep_days)


def _sender(request: Request) -> str:
    return str(request.app.state.settings.mail_from)


def _smtp_on(request: Request) -> bool:
    return request.app.state.mail.smtp is not None


def _shape(n: NoticeRow, sender: str, smtp_on: bool) -> dict[str, Any]:
    status = n.status if n.status != "pending" or smtp_on else "held"
    return {
        "id": str(n.id),
        "kind": n.kind,
        "orgId": n.org_id,
        "from": sender,
        "to": n.recipient,
        "toName": recipient_name(n) or None,
        "subject": n.subject,
        "text": body_text(n),
        "created": _time(n.created),
        "messageId": message_id(n, sender),
        "delivery": {
            "status": status,
            "attempts": n.attempts,
            "lastError": n.last_error,
            "nextAttempt": _time(n.next_attempt_at) if status == "pending" else None,
            "sent": _time(n.sent_at),
        },
    }


def _mail_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"No message {text[:64]!r} is in the mailbox.")
    return int(text)


@router.get("/mail")
async def list_mail(
    request: Request,
    to: Annotated[str | None, Query()] = None,
    max: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    limit = page_size(max, 100, MAX_PAGE)
    position = decode_cursor(cursor)
    before = position.get("before") if position else None
    if position is not None and not isinstance(before, int):
        raise BadRequest("The 'cursor' parameter is not valid; follow the Link header's URL as given.")
    if to is not None and not to.strip():
        raise BadRequest("'to' must be an e-mail address.")
    since = _since(request)
    rows = await writer(request).read(lambda conn: mailbox(conn, since, to, before, limit + 1))
    page, more = rows[:limit], len(rows) > limit
    sender, smtp_on = _sender(request), _smtp_on(request)
    return json_response(
        {"items": [_shape(n, sender, smtp_on) for n in page]},
        headers=next_link(request, {"before": page[-1].id} if more else None),
    )


async def _one(request: Request, mail_id: str) -> NoticeRow:
    wanted, since = _mail_id(mail_id), _since(request)
    found = await writer(request).read(lambda conn: notice_by_id(conn, wanted, since))
    if found is None:
        raise NotFound(f"No message {mail_id!r} is in the mailbox.")
    return found


@router.get("/mail/{mail_id}")
async def get_mail(request: Request, mail_id: str) -> Response:
    return json_response(_shape(await _one(request, mail_id), _sender(request), _smtp_on(request)))


@router.get("/mail/{mail_id}/raw")
async def get_raw_mail(request: Request, mail_id: str) -> Response:
    raw = message(await _one(request, mail_id), _sender(request)).as_bytes()
    return Response(content=raw, media_type="message/rfc822")


@router.delete("/mail", status_code=204)
async def delete_mail(request: Request) -> Response:
    await writer(request).write(empty_mailbox)
    return Response(status_code=204)
