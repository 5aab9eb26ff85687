"""The correlation value each message wait expects, to find a keyed message's instances.

``event_waits.correlation_property`` and ``correlation_key``, and the index ``event_waits
(kind, name, correlation_property, correlation_key)``: a message carrying a correlation value
(a Camunda 8 subscription's key, ``"correlation": {"correlationKey": …}``, or a BPMN
correlation property's) was offered to the first 1,000 instances waiting for its name, each
loaded, whatever value they waited for, so with more waiting the instance it named could be
left out (404, or a queued message unmatched). Now the waits for its value are read by index
first, then those whose value is not known (``engine.wait_keys``). Rows written before this
revision have none: they are offered as before, and get theirs at their instance's next step.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_waits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correlation_property", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("correlation_key", sa.String(length=200), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_event_waits_kind_name_correlation_property_correlation_key"),
            ["kind", "name", "correlation_property", "correlation_key"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("event_waits", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_event_waits_kind_name_correlation_property_correlation_key")
        )
        batch_op.drop_column("correlation_key")
        batch_op.drop_column("correlation_property")
