"""Event waits per instance, received messages, timer claims and automatic handler retries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 03:21:20.747491
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fire_claimed_until", sa.DateTime(timezone=True)))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("start_messages", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("start_timer", sa.JSON()))
        batch_op.add_column(sa.Column("next_start_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("starts_left", sa.Integer()))
        batch_op.create_index(
            batch_op.f("ix_process_versions_next_start_at"), ["next_start_at"], unique=False
        )

    op.create_table(
        "received_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("business_key", sa.String(length=120), nullable=True),
        sa.Column("correlation", sa.JSON(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("delivered_to", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_received_messages_message_id")),
    )
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_messages_name_received_at"),
            ["name", "received_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_received_messages_status"), ["status"], unique=False)

    op.create_table(
        "event_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("business_key", sa.String(length=120), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_event_waits_instance_id_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_waits")),
    )
    with op.batch_alter_table("event_waits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_waits_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_event_waits_kind_name_business_key"),
            ["kind", "name", "business_key"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_versions_next_start_at"))
        batch_op.drop_column("starts_left")
        batch_op.drop_column("next_start_at")
        batch_op.drop_column("start_timer")
        batch_op.drop_column("start_messages")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_column("fire_claimed_until")

    with op.batch_alter_table("event_waits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_waits_kind_name_business_key"))
        batch_op.drop_index(batch_op.f("ix_event_waits_instance_id"))

    op.drop_table("event_waits")
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_messages_status"))
        batch_op.drop_index(batch_op.f("ix_received_messages_name_received_at"))

    op.drop_table("received_messages")
