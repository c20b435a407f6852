"""Bulk writing of a fixture's rows: a large load into an empty series table drops the table's secondary
indexes (and, on PostgreSQL, its foreign keys) and makes them again; the random texts of new rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from meetadmin.store import fixture_rows, fixtures
from meetadmin.store.fixture_rows import RandomText
from meetadmin.store.fixtures import load_files
from meetadmin.store.writer import Writer

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "meetadmin" / "demo" / "demo-org.yaml"


def schema(engine: Engine) -> list[Any]:
    """The series table's indexes and constraints, as the database reports them."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'meeting_series' ORDER BY name")
            )
            return [tuple(r) for r in found]
        indexes = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'meeting_series'")
        )
        keys = conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST('meeting_series' AS regclass)"
            )
        )
        return sorted(tuple(r) for r in [*indexes, *keys])


def series_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM meeting_series")).scalar_one())


def test_a_load_into_an_empty_table_keeps_its_indexes_and_keys(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema(engine)
    assert any("host_list" in str(r) for r in before)
    monkeypatch.setattr(fixture_rows, "REBUILD_ROWS", 1)
    with Writer(engine).writing() as session:
        [result] = load_files(session, [EXAMPLE])
    assert result.meetings == series_count(engine) > 0
    assert schema(engine) == before
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the site's foreign key holds again
        conn.execute(
            text("UPDATE meeting_series SET site_id = 999999 WHERE id = (SELECT min(id) FROM meeting_series)")
        )


def test_a_failed_load_leaves_the_indexes_and_keys_as_they_were(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema(engine)
    monkeypatch.setattr(fixture_rows, "REBUILD_ROWS", 1)

    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("after the series")

    monkeypatch.setattr(fixtures, "add_token", failing)
    with pytest.raises(RuntimeError, match="after the series"), Writer(engine).writing() as session:
        load_files(session, [EXAMPLE])
    assert schema(engine) == before
    assert series_count(engine) == 0


def test_random_texts_use_the_whole_alphabet_evenly() -> None:
    draw = RandomText("abc")
    texts = [draw.take(7) for _ in range(30_000)]  # several 64 KiB blocks
    assert all(len(t) == 7 for t in texts)
    counts = Counter("".join(texts))
    assert set(counts) == {"a", "b", "c"}
    assert max(counts.values()) / min(counts.values()) < 1.02
    passwords = RandomText(fixture_rows.PASSWORD_ALPHABET)
    assert len({passwords.take(11) for _ in range(30_000)}) == 30_000
