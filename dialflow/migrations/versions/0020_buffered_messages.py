"""Messages kept for a while for the instance that will wait for them (a time to live).

``received_messages.buffered_until``, the one correlation value a kept message carries
(``correlation_property``, ``correlation_key``, as ``event_waits`` holds a wait's) and the
partial index ``ix_received_messages_buffered (name, business_key, correlation_property,
correlation_key)`` over the messages still kept. A message that no instance waited for was
answered 404 and never delivered, though the process reached its catch a moment later (a
"call ended" posted while the agent's task before it was still being completed). Sent with a
``time_to_live``, it is now kept until then, and a step that leaves an instance waiting for
its name (its business key, its wait's value) looks it up by this index. Rows written before
this revision have none: they stay undelivered, as they were.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BUFFERED = "status = 'unmatched' AND buffered_until IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buffered_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("correlation_property", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("correlation_key", sa.String(length=200), nullable=True))
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_received_messages_buffered",
            ["name", "business_key", "correlation_property", "correlation_key"],
            unique=False,
            sqlite_where=sa.text(BUFFERED),
            postgresql_where=sa.text(BUFFERED),
        )


def downgrade() -> None:
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_received_messages_buffered")
        batch_op.drop_column("correlation_key")
        batch_op.drop_column("correlation_property")
        batch_op.drop_column("buffered_until")
