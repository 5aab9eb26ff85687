"""Telephony call events received from a PBX or dialer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telephony_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=120), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_telephony_events_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_telephony_events_event_id")),
    )
    with op.batch_alter_table("telephony_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telephony_events_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("telephony_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telephony_events_received_at"))
    op.drop_table("telephony_events")
