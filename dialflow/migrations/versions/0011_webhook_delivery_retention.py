"""Retention of the webhook delivery log: an index for deleting old finished deliveries.

``webhook_deliveries (status, created_at)`` serves the sweeper's batches that delete delivered
and failed deliveries older than ``DIALFLOW_WEBHOOK_RETENTION_DAYS``
(``crm.webhooks.retention``); without it each batch would scan the whole log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_status_created_at"),
            ["status", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status_created_at"))
