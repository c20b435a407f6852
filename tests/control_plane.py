"""The control plane in tests: an app with a control token, on the test's (seeded) database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from meetadmin.app import create_app
from meetadmin.settings import Settings
from tests import conformance

CONTROL = "test-control-token"
CONTROL_AUTH = {"Authorization": f"Bearer {CONTROL}"}


@contextmanager
def sandbox_client(engine: Engine, database_url: str, **settings: Any) -> Iterator[TestClient]:
    """A running app (lifespan entered: start-up snapshot taken, clock followed) with a control token."""
    app = create_app(Settings(database_url=database_url, control_token=CONTROL, **settings), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        conformance.install(client)
        yield client
