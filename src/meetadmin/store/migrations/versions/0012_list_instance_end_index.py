"""meeting list index: instances by (end, start)

List Meetings of the whole organisation walks instances in (start, id) order; with a window it now
starts that walk at the earliest instance still running or ending after the window's start (found in
this index), not at the first instance ever (at a million series: seconds per page before).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_instances", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_instances_end_start", ["end", "start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_instances_end_start")
