"""Test harness: every test gets a fresh, migrated database of its own, on SQLite and on PostgreSQL.

PostgreSQL runs when ``MEETADMIN_TEST_POSTGRES_URL`` names a server (e.g.
``postgresql://postgres@127.0.0.1:5432/test``); each test then gets a database cloned from a migrated
template. SQLite tests copy a migrated template file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from meetadmin.app import create_app
from meetadmin.settings import Settings
from meetadmin.store.db import make_engine, normalise_url
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.fixtures import load_documents
from meetadmin.store.migrate import upgrade
from meetadmin.store.writer import Writer
from tests import conformance
from tests.conformance import (  # noqa: F401  (pytest hooks: conformance counts in the summary)
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_testnodedown,
)
from tests.worlds import example_world

PG_URL = os.environ.get("MEETADMIN_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _admin_engine() -> Engine:
    return create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """The example world on a SQLite file of its own, whatever backends the suite runs on (for what
    serves SQLite only: group commit, checkpoints)."""
    path = tmp_path / "sqlite-only.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    load_world(engine, example_world())
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"meetadmin_tpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "meetadmin.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"meetadmin_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def app(engine: Engine, database_url: str) -> Any:
    return create_app(Settings(database_url=database_url), engine=engine)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        conformance.install(c)  # every response is checked against the official Webex schema
        yield c


def load_world(engine: Engine, *docs: dict[str, Any]) -> None:
    """Load fixture documents (dicts in the fixture format) into the test database."""
    parsed = [(f"world{i}", FixtureDoc.model_validate(doc)) for i, doc in enumerate(docs)]
    with Writer(engine).writing() as session:
        load_documents(session, parsed)


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    """The example organisation (see tests/worlds.py), loaded."""
    doc = example_world()
    load_world(engine, doc)
    return doc
