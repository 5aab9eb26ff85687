"""Version tags of Camunda Forms.

``form_tags (bundle_id, form_id, version_tag)`` with the index
``ix_form_tags_form_id_version_tag``: the ``.form`` files of a deploy carrying a version tag
(form-js's top-level ``"versionTag"``; a form is a file of its bundle, no row of its own, as
``decision_tags`` keeps a decision's). A user task bound by ``versionTag``
(``<zeebe:formDefinition formId bindingType="versionTag" versionTag>``) shows the form of the
newest bundle holding that id with that tag; such a binding was refused ("Dialflow keeps no
version tags of a form"). Forms deployed before this revision have no row (a redeploy of the
same files gives them their tags, ``engine.form_tags.tag_earlier``).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 06:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=200), nullable=False),
        sa.Column("version_tag", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["model_bundles.id"],
            name=op.f("fk_form_tags_bundle_id_model_bundles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_tags")),
        sa.UniqueConstraint("bundle_id", "form_id", name=op.f("uq_form_tags_bundle_id_form_id")),
    )
    with op.batch_alter_table("form_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_form_tags_form_id_version_tag"),
            ["form_id", "version_tag"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("form_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_tags_form_id_version_tag"))
    op.drop_table("form_tags")
