"""personal room IDs: drop ix_personal_room_ids_site_person

Every lookup by site and person asks for the active row, which the partial unique index
ux_personal_room_ids_active_owner answers; the person's other rows are found by key, and a deleted
person's rows through ix_personal_room_ids_person. The dropped index cost an insert and an update on
every refresh of every person, for nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("personal_room_ids", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_room_ids_site_person")


def downgrade() -> None:
    with op.batch_alter_table("personal_room_ids", schema=None) as batch_op:
        batch_op.create_index(
            "ix_personal_room_ids_site_person", ["site_id", "person_id", "active"], unique=False
        )
