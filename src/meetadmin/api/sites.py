"""GET /v1/meetingPreferences/sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from meetadmin.api.auth import (
    ADMIN_PREFERENCES_READ,
    USER_PREFERENCES_READ,
    Principal,
    acts_as_admin,
    authenticate,
)
from meetadmin.api.deps import writer
from meetadmin.api.responses import json_response
from meetadmin.services.sites import list_sites

router = APIRouter(tags=["Meeting Preferences"])


@router.get("/meetingPreferences/sites", summary="Get Site List")
async def get_site_list(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    userEmail: Annotated[str | None, Query(max_length=320)] = None,
    siteUrl: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    as_admin = acts_as_admin(principal, ADMIN_PREFERENCES_READ, USER_PREFERENCES_READ)
    sites = await writer(request).read(lambda conn: list_sites(conn, principal, as_admin, userEmail, siteUrl))
    return json_response({"sites": [{"siteUrl": url, "default": default} for url, default in sites]})
