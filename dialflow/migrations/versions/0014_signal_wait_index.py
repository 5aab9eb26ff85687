"""An index for paging through the instances that wait for a signal.

``event_waits (kind, name, instance_id)``: a broadcast reads the instances waiting for a
signal of one name a page at a time, in instance id order, after the last page
(``engine.signals``). With only ``(kind, name, business_key)`` each page read and sorted every
wait of that name again, so a broadcast to n waiting instances read about n²/100 rows; with
this index each page reads its own rows in order and stops.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_waits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_waits_kind_name_instance_id"),
            ["kind", "name", "instance_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("event_waits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_waits_kind_name_instance_id"))
