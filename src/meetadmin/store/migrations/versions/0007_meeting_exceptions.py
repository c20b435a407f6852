"""meeting exceptions (scheduled meetings changed or deleted on their own) and deleted series

A series' exceptions hang off the series row (they go with it when a reassignment gives the series a
new host). A deleted series whose meetings ran keeps its row, marked ``deleted_at``, so that its ended
instances stay listed for the hosts who ran them; one that never ran is deleted outright.
``exceptions_end`` bounds where the series' changed occurrences may end, so List Meetings can keep a
series whose occurrence was moved later without a subquery per row.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_exceptions",
        sa.Column("series_id", sa.String(length=32), nullable=False),
        sa.Column("original_start", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=True),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("title", sa.String(length=128), nullable=True),
        sa.Column("agenda", sa.Text(), nullable=True),
        sa.Column("password", sa.String(length=64), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["meeting_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id", "original_start"),
    )
    with op.batch_alter_table("meeting_series", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("exceptions_end", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_series", schema=None) as batch_op:
        batch_op.drop_column("exceptions_end")
        batch_op.drop_column("deleted_at")
    op.drop_table("meeting_exceptions")
