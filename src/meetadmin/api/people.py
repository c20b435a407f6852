"""GET /v1/people and GET /v1/people/{personId}: people of the caller's organisation only.

Admins (``spark-admin:people_read`` and the admin role) may list the whole organisation and see the
admin-only fields (roles, licences, invitePending, loginEnabled). Any other valid token of the
organisation may look people up by email, displayName prefix or id, as Webex lets every user do.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from meetadmin.api.auth import ADMIN_PEOPLE_READ, Principal, authenticate, has_any
from meetadmin.api.deps import writer
from meetadmin.api.link_paging import decode_cursor, next_link, page_size
from meetadmin.domain.ids import FULL_ADMIN_ROLE, licence_id, role_id
from meetadmin.domain.people import PersonRow
from meetadmin.errors import BadRequest, Forbidden
from meetadmin.services.people import PeopleQuery, find_people, get_person

router = APIRouter(tags=["People"])

MEDIA = "application/json"  # people and audit answer plain application/json
MAX_PEOPLE = 1000


def plain_json(content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=200, headers=headers, media_type=MEDIA)


def _stamp(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z")


def person_json(p: PersonRow, admin_view: bool) -> dict[str, Any]:
    first, _, last = p.display_name.partition(" ")
    out: dict[str, Any] = {
        "id": p.person_id,
        "emails": [p.email],
        "displayName": p.display_name,
        "nickName": first,
        "firstName": first,
        "lastName": last,
        "orgId": p.org_webex_id,
        "created": _stamp(p.created),
        "lastModified": _stamp(p.created),
        "siteUrls": [f"{s.site_url}#{'host' if s.host else 'attendee'}" for s in p.sites],
        "type": "person",
    }
    rooms = [s for s in p.sites if s.room_id]
    if rooms:
        out["sipAddresses"] = [
            {"type": "personal-room", "value": f"{s.room_id}@{s.site_url}", "primary": False} for s in rooms
        ]
    if admin_view:
        out["roles"] = [role_id(FULL_ADMIN_ROLE)] if p.is_admin else []
        out["licenses"] = [
            licence_id(p.org_id, s.site_url, kind)
            for s in p.sites
            for kind, held in (("meeting", s.license_meeting), ("webinar", s.license_webinar))
            if held
        ]
        out["invitePending"] = "false"
        out["loginEnabled"] = "true"
    return out


def _admin_view(principal: Principal) -> bool:
    return principal.is_admin and has_any(principal, ADMIN_PEOPLE_READ)


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


@router.get("/people", summary="List People")
async def list_people_route(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    email: Annotated[str | None, Query(max_length=320)] = None,
    displayName: Annotated[str | None, Query(max_length=256)] = None,
    id: Annotated[str | None, Query(max_length=30_000)] = None,
    orgId: Annotated[str | None, Query(max_length=255)] = None,
    roles: Annotated[str | None, Query(max_length=4096)] = None,
    callingData: Annotated[bool, Query()] = False,
    locationId: Annotated[str | None, Query(max_length=255)] = None,
    max: Annotated[str | None, Query(max_length=32)] = None,
    excludeStatus: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    admin_view = _admin_view(principal)
    if orgId is not None and orgId.strip() and orgId.strip() != principal.org_webex_id:
        raise Forbidden("You may only list people of your own organisation.")
    cap = 50 if locationId else (100 if callingData else MAX_PEOPLE)
    size = page_size(max, min(100, cap), cap)
    position = decode_cursor(cursor)
    after = position.get("after") if position else None
    if position is not None and not isinstance(after, int):
        raise BadRequest("The 'cursor' parameter is not valid; follow the Link header's URL as given.")
    if locationId:
        return plain_json({"items": [], "notFoundIds": []})  # meetadmin has no locations
    query = PeopleQuery(
        email=email.strip() if email and email.strip() else None,
        display_name=displayName if displayName and displayName.strip() else None,
        ids=_csv(id),
        roles=_csv(roles),
        max=size,
        after=after,
    )
    page = await writer(request).read(lambda conn: find_people(conn, principal, admin_view, query))
    enriched = admin_view and query.ids is None
    body = {"items": [person_json(p, enriched) for p in page.items], "notFoundIds": page.not_found}
    headers = next_link(request, {"after": page.next_after} if page.next_after is not None else None)
    return plain_json(body, headers)


@router.get("/people/{personId}", summary="Get Person Details")
async def get_person_route(
    request: Request,
    personId: str,
    principal: Annotated[Principal, Depends(authenticate)],
    callingData: Annotated[bool, Query()] = False,
) -> Response:
    wanted = principal.person_id if personId == "me" else personId  # GET /people/me, as SDKs use
    person = await writer(request).read(lambda conn: get_person(conn, principal, wanted))
    return plain_json(person_json(person, _admin_view(principal)))
