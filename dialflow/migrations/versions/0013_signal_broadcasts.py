"""Signals broadcast between instances, and the signals that start a process.

``process_versions.start_signals`` (JSON, ``[]`` by default): the names of the signals whose
broadcast starts an instance of the version (its signal start events). Deploys before this
revision refused a signal start event at the top of a process, so ``[]`` is every existing
version's true value: the backfill is the default.

``signal_broadcasts``: each signal sent to ``POST /api/v1/signals`` (``signal_id`` unique) or
thrown by an instance (the outbox row its step wrote, ``source_instance_id``), pending until
delivered; ``signal_deliveries``: each instance a broadcast reached or started, once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("start_signals", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "signal_broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("source_instance_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offered_up_to", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_broadcasts")),
        sa.UniqueConstraint("signal_id", name=op.f("uq_signal_broadcasts_signal_id")),
    )
    with op.batch_alter_table("signal_broadcasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signal_broadcasts_status_claimed_until"),
            ["status", "claimed_until"],
            unique=False,
        )
    op.create_table(
        "signal_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["signal_broadcasts.id"],
            name=op.f("fk_signal_deliveries_broadcast_id_signal_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_deliveries")),
        sa.UniqueConstraint(
            "broadcast_id",
            "instance_id",
            name=op.f("uq_signal_deliveries_broadcast_id_instance_id"),
        ),
        sa.UniqueConstraint(
            "broadcast_id", "process_id", name=op.f("uq_signal_deliveries_broadcast_id_process_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("signal_deliveries")
    with op.batch_alter_table("signal_broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signal_broadcasts_status_claimed_until"))
    op.drop_table("signal_broadcasts")
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_column("start_signals")
