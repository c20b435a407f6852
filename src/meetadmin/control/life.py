"""Meetings' life (contract-notes §8.4): ``POST /_meetadmin/meetings/{meetingId}/start`` (201, the new
in-progress instance as ``GET /v1/meetings/{instanceId}`` shows it to an admin) and ``.../end`` (200, the
ended instance). 404 for an unknown meeting; 409 saying why when it cannot start or end; 400 for an
instance ID given to ``start``. The time is the sandbox clock's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection

from meetadmin import clock
from meetadmin.api.deps import writer
from meetadmin.api.meeting_shapes import instance_json
from meetadmin.api.responses import json_response
from meetadmin.services.meeting_life import LifeEvent, end_meeting, start_meeting
from meetadmin.store.meeting_reads import InstanceView, instance_view
from meetadmin.store.writer import orm

router = APIRouter()


def _with_view(
    change: Callable[[Connection, str, datetime], LifeEvent], meeting_id: str
) -> Callable[[Connection], tuple[LifeEvent, InstanceView]]:
    def work(conn: Connection) -> tuple[LifeEvent, InstanceView]:
        event = change(conn, meeting_id, clock.now())
        with orm(conn) as session:
            view = instance_view(session, event.org_id, event.instance_id)
        assert view is not None  # written just now, in this transaction
        return event, view

    return work


@router.post("/meetings/{meetingId}/start")
async def start(request: Request, meetingId: str) -> Response:
    _event, view = await writer(request).write(_with_view(start_meeting, meetingId))
    return json_response(instance_json(view), status_code=201)


@router.post("/meetings/{meetingId}/end")
async def end(request: Request, meetingId: str) -> Response:
    _event, view = await writer(request).write(_with_view(end_meeting, meetingId))
    return json_response(instance_json(view))
