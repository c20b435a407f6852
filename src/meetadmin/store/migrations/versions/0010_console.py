"""admin console: sign-in sessions and bulk jobs (offboarding, personal room refresh)

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-01 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "token_hash",
            sa.String(64),
            sa.ForeignKey("api_tokens.token_hash", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires"])
    op.create_index("ix_console_sessions_token", "console_sessions", ["token_hash"])
    op.create_table(
        "console_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("org_id", sa.String(64), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("site_url", sa.String(255), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_console_jobs_org_created", "console_jobs", ["org_id", "created"])
    op.create_table(
        "console_job_items",
        sa.Column(
            "job_id", sa.String(32), sa.ForeignKey("console_jobs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("title", sa.String(320), nullable=False),
        sa.Column("old_value", sa.String(64)),
        sa.Column("new_value", sa.String(64)),
        sa.Column("status", sa.Integer()),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_console_job_items_pending", "console_job_items", ["job_id", "result", "seq"])


def downgrade() -> None:
    op.drop_table("console_job_items")
    op.drop_table("console_jobs")
    op.drop_table("console_sessions")
