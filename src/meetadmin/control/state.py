"""State: snapshots and reset (contract-notes §8.4).

- ``POST /_meetadmin/snapshots`` ``{"name": ..., "replace": false}``: 201 with the snapshot; 409 when the
  name is taken (unless ``replace`` is true); 400 for a bad name.
- ``GET /_meetadmin/snapshots``: ``{"items": [{"name", "created", "sizeBytes", "rows": {table: n}}]}``,
  oldest first, ``__startup__`` among them.
- ``POST /_meetadmin/snapshots/{name}/restore``: 204; ``DELETE /_meetadmin/snapshots/{name}``: 204;
  404 for an unknown name.
- ``POST /_meetadmin/reset``: 204, back to the state right after start-up (``__startup__``).

A restore raises the state generation: this process drops its cached tokens at once, the others at
their next clock refresh (within a second).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from meetadmin.api.auth import TokenCache
from meetadmin.api.deps import writer
from meetadmin.api.responses import json_response
from meetadmin.control.clock import iso, read_body
from meetadmin.errors import BadRequest
from meetadmin.services import snapshots
from meetadmin.store.snapshots import SnapshotInfo, snapshot_infos
from meetadmin.store.writer import Retry

router = APIRouter()
RACE = Retry(5, "The state changed under the snapshot too often; try again.")


def snapshot_json(info: SnapshotInfo) -> dict[str, Any]:
    return {"name": info.name, "created": iso(info.created), "sizeBytes": info.size, "rows": info.rows}


@router.post("/snapshots")
async def create_snapshot(request: Request) -> Response:
    body = await read_body(request)
    if not isinstance(body, dict):
        raise BadRequest('Send {"name": "<snapshot name>"} (and "replace": true to overwrite one).')
    unknown = sorted(set(body) - {"name", "replace"})
    if unknown:
        raise BadRequest(f"Unknown key '{unknown[0]}': a snapshot takes 'name' and 'replace'.")
    name = snapshots.snapshot_name(body.get("name"))
    replace = body.get("replace", False)
    if not isinstance(replace, bool):
        raise BadRequest("'replace' must be true or false.")
    info = await writer(request).write(lambda conn: snapshots.save(conn, name, replace), RACE)
    return json_response(snapshot_json(info), status_code=201)


@router.get("/snapshots")
async def list_snapshots(request: Request) -> Response:
    infos = await writer(request).read(snapshot_infos)
    return json_response({"items": [snapshot_json(i) for i in infos]})


@router.post("/snapshots/{name}/restore")
async def restore_snapshot(request: Request, name: str) -> Response:
    generation = await writer(request).write(lambda conn: snapshots.restore(conn, name), RACE)
    _forget_cached_state(request, generation)
    return Response(status_code=204)


@router.delete("/snapshots/{name}")
async def delete_snapshot(request: Request, name: str) -> Response:
    await writer(request).write(lambda conn: snapshots.delete(conn, name))
    return Response(status_code=204)


@router.post("/reset")
async def reset(request: Request) -> Response:
    generation = await writer(request).write(snapshots.reset, RACE)
    _forget_cached_state(request, generation)
    await request.app.state.chaos.reset()  # no fault rules, and the rate limit set at start
    return Response(status_code=204)


def _forget_cached_state(request: Request, generation: int) -> None:
    request.app.state.token_cache = TokenCache()
    request.app.state.state_generation = generation
