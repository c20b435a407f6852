"""audit events: drop the seq column

Every writer stored 0 in it, so ordering on it (created, seq, id) ordered by (created, id): the listing
now says so and the column, written on every audit row, is gone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("seq")


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default=sa.text("0")))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), existing_nullable=False, server_default=None)
