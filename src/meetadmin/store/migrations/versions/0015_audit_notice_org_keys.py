"""audit events and notices: no foreign key to orgs

Both tables are append-only logs, written only by a transaction that has just read the caller's
organisation; ``store.fixtures.delete_org`` (``load --replace``) deletes their rows before the
organisation, so the keys' ``ON DELETE CASCADE`` never had anything left to do. On PostgreSQL each
inserted row's key check took a share lock on the one organisation row, which every concurrent writer
locks too (a MultiXact per row): a 100-series reassignment writes 200 such rows, and without the two
keys it ran about 14% faster (167-170 -> 187-197 requests/s, 100,000 series, 16 connections, two
interleaved pairs).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("audit_events", "notices")
# SQLite's foreign keys have no names: batch mode names them by this convention to drop them.
NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _org_key(table: str) -> str | None:
    for key in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if key["referred_table"] == "orgs" and key["constrained_columns"] == ["org_id"]:
            return key["name"] or f"fk_{table}_org_id_orgs"
    return None


def upgrade() -> None:
    for table in TABLES:
        name = _org_key(table)
        if name is None:
            continue
        with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
            batch_op.create_foreign_key(
                f"{table}_org_id_fkey", "orgs", ["org_id"], ["id"], ondelete="CASCADE"
            )
