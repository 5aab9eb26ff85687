"""The waiting instances a message could not be delivered to, and why.

``received_messages.refused`` (JSON, nullable): ``[{"instance_id", "message"}]`` for each
waiting instance whose correlation properties the message did not carry. A repeated
``message_id`` answers with them as the first delivery did; ``error`` stays the text for
people. Messages from before it have none recorded.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("received_messages", sa.Column("refused", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.drop_column("refused")
