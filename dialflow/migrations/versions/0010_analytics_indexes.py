"""Indexes for the analytics reports (``processes/analytics``): each report reads one period.

- ``deals (created_at)``: the deal funnel's cohort, the deals created in the period.
- ``customers (created_at)``: the lead funnel's cohort, the customers created in the period.
- ``work_items (completed_at)``, of completed items only: cycle times of the work completed in
  the period (opening an item, which every step reaching a user task does, writes nothing to it).

The other reads already have theirs: calls by ``(agent_id, started_at)`` and ``started_at``,
won deals by ``closed_at``, SLA breaches and callbacks by ``work_items (status, due_at)``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

DIALECTS = ("sqlite", "postgresql")

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = [
    ("deals", "ix_deals_created_at", ["created_at"], None),
    ("customers", "ix_customers_created_at", ["created_at"], None),
    ("work_items", "ix_work_items_completed_at", ["completed_at"], "completed_at IS NOT NULL"),
]


def upgrade() -> None:
    for table, name, columns, where in INDEXES:
        partial = {} if where is None else {f"{d}_where": sa.text(where) for d in DIALECTS}
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(name), columns, unique=False, **partial)


def downgrade() -> None:
    for table, name, _columns, _where in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(name))
