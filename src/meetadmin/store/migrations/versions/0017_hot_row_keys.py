"""the keys checked per row by reassignments and refreshes: gone

``meeting_series.host_id``, ``audit_events.actor_id`` (to people) and ``personal_room_ids.person_id``
and ``site_id`` (to people and sites) lose their foreign keys. A 100-series reassignment moved 100
series and wrote 100 audit rows, a 100-person refresh wrote 100 rooms (or took back 100) and 100 audit
rows: on PostgreSQL each row's key check was a query of its own (a trigger, an executor, a share lock on
the person's row), 16% of PostgreSQL's CPU per request in a profile (``perf record``). Without them,
PostgreSQL's CPU per request went 7.5 -> 6.2 ms (reassign 100) and 10.9 -> 9.0 ms (refresh 100,
explicit IDs), requests/s +12% and +9% (100,000 series, 16 connections, six interleaved turns).

What the keys guarded still holds, by the code: people and sites are deleted only with their whole
organisation (``store.fixtures.delete_org``, which deletes the series, the audit events and the rooms
first, and a snapshot's restore, which replaces every table), and every statement that writes one of
these columns names a person or site it has read in the same transaction (a reassignment's new host,
the refresh's people, which it locks, the caller). The same reasoning as 0015's.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# (table, column, referred table, ON DELETE when made again)
KEYS = (
    ("meeting_series", "host_id", "people", None),
    ("audit_events", "actor_id", "people", None),
    ("personal_room_ids", "person_id", "people", "CASCADE"),
    ("personal_room_ids", "site_id", "sites", "CASCADE"),
)
# SQLite's foreign keys have no names: batch mode names them by this convention to drop them.
NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _key(table: str, column: str, referred: str) -> str | None:
    for key in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if key["referred_table"] == referred and key["constrained_columns"] == [column]:
            return key["name"] or f"fk_{table}_{column}_{referred}"
    return None


def upgrade() -> None:
    for table in sorted({k[0] for k in KEYS}):
        names = [n for t, c, r, _ in KEYS if t == table and (n := _key(t, c, r)) is not None]
        if not names:
            continue
        with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
            for name in names:
                batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table in sorted({k[0] for k in KEYS}):
        with op.batch_alter_table(table, naming_convention=NAMES) as batch_op:
            for t, column, referred, ondelete in KEYS:
                if t == table:
                    batch_op.create_foreign_key(
                        f"{table}_{column}_fkey", referred, [column], ["id"], ondelete=ondelete
                    )
