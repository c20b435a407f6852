"""personal room settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_room_settings",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("host_pin", sa.String(length=16), nullable=False),
        sa.Column("enabled_auto_lock", sa.Boolean(), nullable=False),
        sa.Column("auto_lock_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled_notify_host", sa.Boolean(), nullable=False),
        sa.Column("support_co_host", sa.Boolean(), nullable=False),
        sa.Column("support_anyone_as_co_host", sa.Boolean(), nullable=False),
        sa.Column("allow_first_user_to_be_co_host", sa.Boolean(), nullable=False),
        sa.Column("allow_authenticated_devices", sa.Boolean(), nullable=False),
        sa.Column("co_hosts", sa.JSON(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "site_id"),
    )
    with op.batch_alter_table("personal_room_settings", schema=None) as batch_op:
        batch_op.create_index("ix_personal_room_settings_site", ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("personal_room_settings", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_room_settings_site")
    op.drop_table("personal_room_settings")
