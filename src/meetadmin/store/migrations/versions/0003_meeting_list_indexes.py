"""meeting list index: instances in keyset order by start

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 01:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_instances", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_instances_start", ["start", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_instances_start")
