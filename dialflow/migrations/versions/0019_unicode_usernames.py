"""Usernames in any script, and no two that look alike: ``users.username_key``.

``crm.usernames``: a username may now be written in Chinese (``张三``) or any other script.
Its key is what the name looks like in a list (Cyrillic ``а`` read as Latin ``a``, katakana
``カ`` as Han ``力``, ``·`` as ``.``); the unique index on it refuses a second user whose name
would look the same as another's. Every username stored before was ASCII, whose key is the
name itself, so existing users keep their names and their uniqueness exactly as before.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_key", sa.String(length=64), nullable=True))
    op.execute("UPDATE users SET username_key = username")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("username_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_users_username_key", ["username_key"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_username_key", type_="unique")
        batch_op.drop_column("username_key")
