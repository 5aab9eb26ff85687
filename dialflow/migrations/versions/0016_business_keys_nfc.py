"""Business keys stored in Unicode NFC, as every entry now stores them.

``engine.business_keys``: a key typed with ``é`` as one code point or as ``e`` and a
combining accent is one key. Keys stored before were kept as sent; those that are not in
NFC are rewritten in it, in the instances, their work items and event waits, and the queued
messages not yet delivered (the record of a delivered message stays as it was received), so
an instance started with a decomposed key still takes a message sent with it. Width and case
are not touched. Nothing to undo: an NFC key was as valid before this revision.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:40:00
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# table → the rows whose key is matched later (a delivered message's record is history)
_TABLES = {
    "process_instances": "",
    "work_items": "",
    "event_waits": "",
    "received_messages": " AND status = 'queued'",
}


_LENGTH = 120  # the columns' length


def upgrade() -> None:
    bind = op.get_bind()
    # Only text with a character beyond ASCII can change: PostgreSQL reads only those keys.
    beyond_ascii = " AND business_key ~ '[^[:ascii:]]'" if bind.dialect.name == "postgresql" else ""
    for table, rows in _TABLES.items():
        keys = bind.execute(
            sa.text(
                f"SELECT DISTINCT business_key FROM {table} "
                f"WHERE business_key IS NOT NULL{rows}{beyond_ascii}"
            )
        ).scalars()
        changed = [
            (key, unicodedata.normalize("NFC", key))
            for key in keys
            if not key.isascii() and not unicodedata.is_normalized("NFC", key)
        ]
        # A rare key NFC lengthens past the column's 120 characters stays as it was.
        changed = [(old, new) for old, new in changed if len(new) <= _LENGTH]
        for old, new in changed:
            bind.execute(
                sa.text(f"UPDATE {table} SET business_key = :new WHERE business_key = :old{rows}"),
                {"old": old, "new": new},
            )


def downgrade() -> None:
    pass
