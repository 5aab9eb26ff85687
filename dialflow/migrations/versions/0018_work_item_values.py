"""The values a work item's form starts with that its instance's data does not hold.

``work_items.item_values``: a multi-instance user task ("call customer 3 of 5") is for one
item of a collection, which SpiffWorkflow keeps in that task's own data, never in the
instance's; its form's ``values`` were read from the instance's data alone, so the agent's
form started without the customer's name and phone. Items opened before this revision have
none and show the instance's values as before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_column("item_values")
