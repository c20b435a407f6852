"""The schema is built only by migrations: they must match the models exactly, on both databases."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from meetadmin.store.migrate import alembic_config, upgrade
from meetadmin.store.models import Base
from meetadmin.store.notices import NewNotice, add_notices


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_every_table_is_built(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_0005_drops_the_audit_seq_column_and_keeps_the_events(engine: Engine, world: object) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        actor = conn.execute(text("SELECT id FROM people WHERE email_key = 'admin@example.com'")).scalar_one()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert "seq" in {c["name"] for c in inspect(engine).get_columns("audit_events")}
    with engine.begin() as conn:  # an event written by the old code, seq and all
        conn.execute(
            text(
                "INSERT INTO audit_events (id, seq, org_id, created, actor_id, category, action, "
                "target_type, target_id, target_name, tracking_id, data) VALUES ('e1', 0, 'example', "
                ":created, :actor, 'MEETINGS', 'reassign', 'MEETING', 'm1', 'Planning', 'T_1', '{}')"
            ),
            {"created": datetime(2026, 12, 1, 12, 0, 0), "actor": actor},
        )
    upgrade(engine)
    assert "seq" not in {c["name"] for c in inspect(engine).get_columns("audit_events")}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, target_name, actor_id FROM audit_events")).all()
    assert [(r.id, r.target_name, r.actor_id) for r in rows] == [("e1", "Planning", actor)]


def _series_indexes(engine: Engine) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes("meeting_series") if i["name"]}


def test_0013_adds_the_host_listing_index_and_takes_it_away_again(engine: Engine, world: object) -> None:
    """0013 replaces the host index with the listing's covering one (one host index for writes to keep)."""
    assert "ix_meeting_series_host_list" in _series_indexes(engine)
    assert "ix_meeting_series_host_site_start" not in _series_indexes(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    assert "ix_meeting_series_host_list" not in _series_indexes(engine)
    assert "ix_meeting_series_host_site_start" in _series_indexes(engine)
    upgrade(engine)
    assert "ix_meeting_series_host_list" in _series_indexes(engine)
    assert "ix_meeting_series_host_site_start" not in _series_indexes(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM meeting_series")).scalar_one() > 0


NOW = datetime(2026, 12, 7, 12, 0)
ANNA = "anna@example.com"


def test_0014_swaps_the_recipient_index_and_back(engine: Engine, world: object) -> None:
    def indexes() -> set[str]:
        return {i["name"] for i in inspect(engine).get_indexes("notices") if i["name"]}

    with engine.begin() as conn:
        add_notices(conn, NOW, [NewNotice("example", "test", ANNA, "s", {})])
    assert {"ix_notices_recent_recipient"} <= indexes() and "ix_notices_recipient" not in indexes()
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013")
    assert "ix_notices_recipient" in indexes() and "ix_notices_recent_recipient" not in indexes()
    upgrade(engine)
    assert {"ix_notices_recent_recipient"} <= indexes() and "ix_notices_recipient" not in indexes()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT recipient FROM notices")).scalars().all() == [ANNA]


def test_0015_drops_the_org_keys_of_audit_events_and_notices_and_back(engine: Engine, world: object) -> None:
    def org_keys() -> list[str]:
        return [
            table
            for table in ("audit_events", "notices")
            for key in inspect(engine).get_foreign_keys(table)
            if key["referred_table"] == "orgs"
        ]

    with engine.begin() as conn:
        add_notices(conn, NOW, [NewNotice("example", "test", ANNA, "s", {})])
    assert org_keys() == []
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
    assert org_keys() == ["audit_events", "notices"]
    upgrade(engine)
    assert org_keys() == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT recipient FROM notices")).scalars().all() == [ANNA]
