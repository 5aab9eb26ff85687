"""Engine tables (bundles, versions, instances, work items, incidents) and notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 02:39:46.817499
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "model_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("bpmn", sa.JSON(), nullable=False),
        sa.Column("dmn", sa.JSON(), nullable=False),
        sa.Column("forms", sa.JSON(), nullable=False),
        sa.Column("dependencies", sa.JSON(), nullable=False),
        sa.Column("deployed_by_id", sa.Integer(), nullable=True),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployed_by_id"],
            ["users.id"],
            name=op.f("fk_model_bundles_deployed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_bundles")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_model_bundles_content_hash")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_read_at_created_at"),
            ["user_id", "read_at", "created_at"],
            unique=False,
        )

    op.create_table(
        "process_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("bpmn_file", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["model_bundles.id"],
            name=op.f("fk_process_versions_bundle_id_model_bundles"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_versions")),
        sa.UniqueConstraint(
            "process_id", "bundle_id", name=op.f("uq_process_versions_process_id_bundle_id")
        ),
        sa.UniqueConstraint(
            "process_id", "version", name=op.f("uq_process_versions_process_id_version")
        ),
    )
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_process_versions_bundle_id"), ["bundle_id"], unique=False
        )

    op.create_table(
        "process_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=120), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("business_key", sa.String(length=120), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "waiting",
                "completed",
                "error",
                "terminated",
                name="instancestatus",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("waiting", sa.JSON(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("step_count", sa.Integer(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_process_instances_started_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["process_versions.id"],
            name=op.f("fk_process_instances_version_id_process_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_instances")),
    )
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_process_instances_business_key"), ["business_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_process_instances_next_due_at"), ["next_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_process_instances_process_id_status"),
            ["process_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_process_instances_version_id_status"),
            ["version_id", "status"],
            unique=False,
        )

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("element_id", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_incidents_instance_id_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incidents_instance_id_resolved_at"),
            ["instance_id", "resolved_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_incidents_resolved_at"), ["resolved_at"], unique=False)

    op.create_table(
        "work_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=120), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("lane", sa.String(length=120), nullable=True),
        sa.Column("business_key", sa.String(length=120), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "completed",
                "cancelled",
                name="workitemstatus",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("form_name", sa.String(length=200), nullable=True),
        sa.Column("form_schema", sa.JSON(), nullable=True),
        sa.Column("instructions", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_work_items_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"],
            ["users.id"],
            name=op.f("fk_work_items_claimed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["users.id"],
            name=op.f("fk_work_items_completed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instances.id"],
            name=op.f("fk_work_items_instance_id_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_items_assignee_id_status_due_at"),
            ["assignee_id", "status", "due_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_work_items_business_key_status"),
            ["business_key", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_work_items_instance_id_status"), ["instance_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_work_items_status_due_at"), ["status", "due_at"], unique=False
        )

    op.create_table(
        "work_item_candidates",
        sa.Column("work_item_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_items.id"],
            name=op.f("fk_work_item_candidates_work_item_id_work_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("work_item_id", "name", name=op.f("pk_work_item_candidates")),
    )
    with op.batch_alter_table("work_item_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_item_candidates_name"), ["name"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("work_item_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_candidates_name"))

    op.drop_table("work_item_candidates")
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_items_status_due_at"))
        batch_op.drop_index(batch_op.f("ix_work_items_instance_id_status"))
        batch_op.drop_index(batch_op.f("ix_work_items_business_key_status"))
        batch_op.drop_index(batch_op.f("ix_work_items_assignee_id_status_due_at"))

    op.drop_table("work_items")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_incidents_instance_id_resolved_at"))

    op.drop_table("incidents")
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_instances_version_id_status"))
        batch_op.drop_index(batch_op.f("ix_process_instances_process_id_status"))
        batch_op.drop_index(batch_op.f("ix_process_instances_next_due_at"))
        batch_op.drop_index(batch_op.f("ix_process_instances_business_key"))

    op.drop_table("process_instances")
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_versions_bundle_id"))

    op.drop_table("process_versions")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_read_at_created_at"))

    op.drop_table("notifications")
    op.drop_table("model_bundles")
