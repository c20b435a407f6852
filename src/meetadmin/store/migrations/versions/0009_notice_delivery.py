"""notices: SMTP delivery state (status, attempts, next attempt, last error) and the mailbox's indexes

``status`` is ``pending`` until the notice is sent (``sent``) or its attempts run out (``failed``).
``ix_notices_pending`` holds only pending notices, the ones the mail sender looks for (its queries
name ``status = 'pending'`` literally, so SQLite's planner can use the partial index);
``recipient_key`` (the recipient lower-cased) and ``ix_notices_recipient`` answer the mailbox's ``to``
filter, newest first.

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-01 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recipient_key", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    # Notices sent before this revision count as sent.
    op.execute("UPDATE notices SET recipient_key = lower(recipient)")
    op.execute("UPDATE notices SET status = 'sent' WHERE sent_at IS NOT NULL")
    op.create_index(
        "ix_notices_pending",
        "notices",
        ["id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_notices_recipient", "notices", ["recipient_key", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notices_recipient", table_name="notices")
    op.drop_index("ix_notices_pending", table_name="notices")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")
        batch_op.drop_column("recipient_key")
