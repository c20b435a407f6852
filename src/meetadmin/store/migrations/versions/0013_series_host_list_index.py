"""meeting list index: one host's series with what the listing reads of them

List Meetings of one host (a person, or an admin with ``hostEmail``) read each of the host's series
rows that start before the window's end to learn whether it may overlap the window: at a million series
those ~50 rows lie on ~50 table pages, cold, per request. This index holds every column that query
filters on or returns, in ``(host_id, start, id)`` order, so the scan reads a few adjacent index pages
and no table page; only series that may overlap the window are then loaded.

It replaces ``ix_meeting_series_host_site_start (host_id, site_id, start)``, which it serves too (a
host's series on a site, by start): every reassignment rewrites each moved series' entry in every host
index, and two such indexes cost 100-series reassignments about 15% more CPU than one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = [
    "host_id",
    "start",
    "id",
    "end",
    "exceptions_end",
    "deleted_at",
    "scheduled_type",
    "site_id",
    "org_id",
    "timezone",
    "recurrence",
]


def upgrade() -> None:
    with op.batch_alter_table("meeting_series", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_series_host_list", COLUMNS, unique=False)
        batch_op.drop_index("ix_meeting_series_host_site_start")


def downgrade() -> None:
    with op.batch_alter_table("meeting_series", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meeting_series_host_site_start", ["host_id", "site_id", "start"], unique=False
        )
        batch_op.drop_index("ix_meeting_series_host_list")
