"""Version tags of process versions and decisions, and a work item's follow-up date.

``process_versions.version_tag`` with the index ``ix_process_versions_process_id_version_tag
(process_id, version_tag)``: the tag a process carries when deployed (Camunda 8's
``<zeebe:versionTag value>``, Camunda 7's ``camunda:versionTag``). A call activity bound by
``versionTag`` calls the newest version carrying the tag, looked up by this index; such a
binding was refused, as no version kept its tag. Versions deployed before this revision have
none (their files still say it: a redeploy of the same files gives them their tags,
``engine.version_tags.tag_earlier``).

``decision_tags (bundle_id, decision_id, version_tag)`` with the index
``ix_decision_tags_decision_id_version_tag``: the DMN decisions of a deploy carrying a tag (a
decision is a file of its bundle, no row of its own); a business rule task bound by
``versionTag`` calls the decision of the newest bundle holding it with that tag.

``work_items.follow_up_at``: when to look at a task again (``zeebe:taskSchedule
followUpDate``), shown beside its due time; such a date was refused.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version_tag", sa.String(length=200), nullable=True))
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_process_versions_process_id_version_tag"),
            ["process_id", "version_tag"],
            unique=False,
        )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "decision_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("version_tag", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["model_bundles.id"],
            name=op.f("fk_decision_tags_bundle_id_model_bundles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_tags")),
        sa.UniqueConstraint(
            "bundle_id", "decision_id", name=op.f("uq_decision_tags_bundle_id_decision_id")
        ),
    )
    with op.batch_alter_table("decision_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_tags_decision_id_version_tag"),
            ["decision_id", "version_tag"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("decision_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_tags_decision_id_version_tag"))
    op.drop_table("decision_tags")
    op.drop_index("ix_process_versions_process_id_version_tag", table_name="process_versions")
    # SQLite drops a plain column in place: a batch copy of process_versions would drop a table
    # that instances reference, which SQLite's foreign keys refuse once any instance exists.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE work_items DROP COLUMN follow_up_at")
        op.execute("ALTER TABLE process_versions DROP COLUMN version_tag")
    else:
        op.drop_column("work_items", "follow_up_at")
        op.drop_column("process_versions", "version_tag")
