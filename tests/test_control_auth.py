"""The control plane answers only to its token, and not at all without one (contract-notes §8.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from meetadmin.app import create_app
from meetadmin.control.routers import ROUTERS
from meetadmin.settings import Settings

probe = APIRouter()


@probe.get("/probe")
def _probe() -> dict[str, Any]:
    return {"ok": True}


def _client(engine: Engine, database_url: str, token: str | None) -> TestClient:
    ROUTERS.append(probe)
    try:
        app = create_app(Settings(database_url=database_url, control_token=token), engine=engine)
    finally:
        ROUTERS.remove(probe)
    return TestClient(app, raise_server_exceptions=False)


def test_without_a_control_token_there_is_no_control_plane(engine: Engine, database_url: str) -> None:
    with _client(engine, database_url, None) as client:
        answer = client.get("/_meetadmin/probe", headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 404
    assert answer.json()["trackingId"] == answer.headers["TrackingID"]


def test_the_control_plane_answers_only_to_its_token(engine: Engine, database_url: str) -> None:
    with _client(engine, database_url, "s3cret-control") as client:
        assert client.get("/_meetadmin/probe").status_code == 401
        wrong = client.get("/_meetadmin/probe", headers={"Authorization": "Bearer example-admin-token"})
        assert wrong.status_code == 401 and wrong.json()["errors"][0]["description"]
        right = client.get("/_meetadmin/probe", headers={"Authorization": "Bearer s3cret-control"})
        assert right.status_code == 200 and right.json() == {"ok": True}
