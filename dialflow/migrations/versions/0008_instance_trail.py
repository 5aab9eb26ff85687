"""The completed path of an instance that pruning took from its task tree.

``process_instances.trail`` (JSON, nullable): completed element ids and the steps between
them (see ``engine.pruning.Trail``), for the instance view. Instances from before it show the
path their tree and their completed work items still hold.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("process_instances", sa.Column("trail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("trail")
