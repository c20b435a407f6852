"""The mailbox: the notices meetadmin wrote to people of the signed-in admin's organisation in the last
``mail_keep_days`` (as ``GET /_meetadmin/mail`` has them, but only this organisation's), newest first,
by recipient, a message with its plain-text body and its delivery status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection, select

from meetadmin.api import auth
from meetadmin.api.deps import writer
from meetadmin.console.sessions import SignedIn
from meetadmin.console.web import PAGE_SIZE, ConsoleRoute, can, need, render, signed_in
from meetadmin.errors import NotFound
from meetadmin.outbound.mail import body_text, recipient_name
from meetadmin.services.common import utcnow
from meetadmin.store.models import Notice
from meetadmin.store.notices import NOTICE_COLUMNS, NoticeRow, mailbox, notice_row

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[SignedIn, Depends(signed_in)]
Before = Annotated[int | None, Query(ge=1, le=10**17)]


def org_notice(conn: Connection, org_id: str, notice_id: int, since: datetime) -> NoticeRow | None:
    found = conn.execute(
        select(*NOTICE_COLUMNS).where(
            Notice.id == notice_id, Notice.org_id == org_id, Notice.created >= since
        )
    ).first()
    return None if found is None else notice_row(found)


def delivery_status(request: Request, n: NoticeRow) -> str:
    """As the control plane says it: ``held`` for a pending notice when no SMTP server is configured."""
    smtp_on = getattr(getattr(request.app.state, "mail", None), "smtp", None) is not None
    return n.status if n.status != "pending" or smtp_on else "held"


def _since(request: Request) -> datetime:
    return utcnow() - timedelta(days=request.app.state.settings.mail_keep_days)


@router.get("/mail")
async def mail(
    request: Request,
    session: Session,
    to: Annotated[str, Query(max_length=320)] = "",
    before: Before = None,
) -> Response:
    owner = session.owner
    need(can(owner).people, auth.ADMIN_PEOPLE_READ)
    to, since = to.strip(), _since(request)
    rows = await writer(request).read(
        lambda conn: mailbox(conn, since, to or None, before, PAGE_SIZE + 1, owner.org_id)
    )
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "mailbox.html",
        session,
        nav="mail",
        rows=[(n, delivery_status(request, n)) for n in rows[:PAGE_SIZE]],
        to=to,
        older=older,
        first=before is None,
        keep_days=request.app.state.settings.mail_keep_days,
    )


@router.get("/mail/{mail_id}")
async def message(request: Request, session: Session, mail_id: str) -> Response:
    owner = session.owner
    need(can(owner).people, auth.ADMIN_PEOPLE_READ)
    number = int(mail_id) if mail_id.isdigit() and len(mail_id) < 18 else None
    since = _since(request)
    found = (
        await writer(request).read(lambda conn: org_notice(conn, owner.org_id, number, since))
        if number is not None
        else None
    )
    if found is None:
        raise NotFound("No message with this ID is in your organisation's mailbox.")
    return render(
        request,
        "message.html",
        session,
        nav="mail",
        n=found,
        to_name=recipient_name(found),
        body=body_text(found),
        status=delivery_status(request, found),
        sender=str(request.app.state.settings.mail_from),
    )
