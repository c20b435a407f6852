"""sandbox control plane: snapshots and the sandbox settings row (clock, state generation)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 14:30:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("startup_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    settings = op.create_table(
        "sandbox_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("clock_frozen_at", sa.DateTime(), nullable=True),
        sa.Column("clock_offset_seconds", sa.Float(), nullable=False),
        sa.Column("state_generation", sa.Integer(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "clock_frozen_at": None,
                "clock_offset_seconds": 0.0,
                "state_generation": 0,
                "updated": now,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("sandbox_settings")
    op.drop_table("snapshots")
