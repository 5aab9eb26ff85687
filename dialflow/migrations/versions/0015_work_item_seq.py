"""The place of a work item among those its step opened.

``work_items.seq``: the instances of a multi-instance activity open in one step, at one
instant (``created_at``), and were listed by their random ids after it, so the inbox and an
instance's ``ready_tasks`` showed "call contact 3" before "call contact 1" on one request and
not on the next. Items are now listed by ``created_at``, then ``seq`` (their order in the
process's tree), then id. Items opened before this revision keep 0 and their old order.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_column("seq")
