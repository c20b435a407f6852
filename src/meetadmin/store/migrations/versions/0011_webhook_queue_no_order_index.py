"""webhook queue: no (webhook_id, series_id, id) index

Every queued delivery put an entry into that index at a random place (the keys are a webhook and a
meeting series), so a 100-series reassignment with three webhooks dirtied some 300 index pages, and more
as the queue grew: writing the events cost more than the change itself. The dispatcher now finds the
first owed row of each webhook and series by reading the queue in ID order (``store.webhook_outbox``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:05:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_webhook_queue_order", table_name="webhook_queue")


def downgrade() -> None:
    op.create_index("ix_webhook_queue_order", "webhook_queue", ["webhook_id", "series_id", "id"])
