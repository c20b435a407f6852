"""``/_meetadmin/rate-limits`` and ``/_meetadmin/faults``: what the ``Chaos`` middleware applies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from meetadmin.api.responses import json_response
from meetadmin.control.chaos import ChaosState
from meetadmin.control.faults import FaultIn
from meetadmin.control.rate_limits import Limit
from meetadmin.errors import BadRequest, NotFound

router = APIRouter()


def chaos_of(request: Request) -> ChaosState:
    state: ChaosState = request.app.state.chaos
    return state


class RateLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: StrictInt | None = Field(..., ge=1, le=1_000_000_000)
    per_seconds: StrictInt | None = Field(None, alias="perSeconds", ge=1, le=10_000_000)

    @model_validator(mode="after")
    def _both(self) -> RateLimitIn:
        if self.requests is not None and self.per_seconds is None:
            raise ValueError("'perSeconds' is required with 'requests'")
        return self


def _limit_wire(state: ChaosState) -> dict[str, Any]:
    limit = state.limit
    return {
        "requests": limit.requests if limit else None,
        "perSeconds": limit.per_seconds if limit else None,
        "sharedAcrossProcesses": state.shared_across_processes,
    }


def _invalid(exc: ValidationError) -> BadRequest:
    descriptions = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        descriptions.append(f"'{where}': {msg}." if where else f"{msg}.")
    return BadRequest(*descriptions)


@router.get("/rate-limits")
async def get_rate_limits(request: Request) -> Response:
    state = chaos_of(request)
    if state.shared is not None:
        await state.sync()
    return json_response(_limit_wire(state))


@router.put("/rate-limits")
async def put_rate_limits(request: Request, body: Any = Body(None)) -> Response:
    try:
        given = RateLimitIn.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    state = chaos_of(request)
    limit = None if given.requests is None else Limit(given.requests, given.per_seconds or 1)
    await state.set_limit(limit)
    return json_response(_limit_wire(state))


@router.post("/faults")
async def add_fault(request: Request, body: Any = Body(None)) -> Response:
    try:
        spec = FaultIn.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    state = chaos_of(request)
    rule = state.faults.add(spec)
    state.rules_changed()
    return json_response(rule.wire(), status_code=201)


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    return json_response({"items": [rule.wire() for rule in chaos_of(request).faults.rules]})


@router.delete("/faults/{rule_id}")
async def delete_fault(request: Request, rule_id: str) -> Response:
    state = chaos_of(request)
    if not state.faults.remove(rule_id):
        raise NotFound(f"No fault rule has the id '{rule_id}'.")
    state.rules_changed()
    return Response(status_code=204)


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    state = chaos_of(request)
    state.faults.clear()
    state.rules_changed()
    return Response(status_code=204)
