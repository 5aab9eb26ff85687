"""Usernames in any script, and no two that look alike: ``users.username_key``.

``crm.usernames``: a username may now be written in Chinese (``张三``) or any other script.
Its key is what the name looks like in a list (Cyrillic ``а`` read as Latin ``a``, katakana
``カ`` as Han ``力``, ``·`` as ``.``); the unique index on it refuses a second user whose name
would look the same as another's. Every username stored before was ASCII, whose key is the
name itself, so existing users keep their names and their uniqueness exactly as before.

SQLite alters ``users`` in place: a batch migration rebuilds the table, and with foreign keys
on, dropping the old ``users`` ran the ``ON DELETE`` actions of every table referring to it
(API tokens deleted, managers and owners cleared) or failed on the append-only audit log.

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
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users ADD COLUMN username_key VARCHAR(64) NOT NULL DEFAULT ''")
        op.execute("UPDATE users SET username_key = username")
    else:
        op.add_column("users", sa.Column("username_key", sa.String(length=64), nullable=True))
        op.execute("UPDATE users SET username_key = username")
        op.alter_column("users", "username_key", existing_type=sa.String(length=64), nullable=False)
    op.create_index("ix_users_username_key", "users", ["username_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_username_key", table_name="users")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users DROP COLUMN username_key")
    else:
        op.drop_column("users", "username_key")
