"""Indexes for reads at scale: inbox candidates, email search, name and digit substrings.

- ``work_item_candidates (name, work_item_id)`` replaces the index on ``name`` alone: the
  inbox finds a group's items from the index without visiting the table.
- ``customers (updated_at, id)``: customer lists are newest first; the list reads the index in
  that order and stops after a page instead of sorting every customer the viewer may see.
- ``customers (lower(email))`` (PostgreSQL): email search is case-insensitive.
- PostgreSQL only: ``dialflow_grams(text)`` (every character and every pair of adjacent
  characters) with GIN indexes on customer names and companies. Chinese names are two or
  three characters and searches for two (``王伟``) are common; trigrams cannot serve a
  two-character substring, grams can. ``crm.text_search`` writes the matching condition.
- PostgreSQL with pg_trgm: a trigram index on ``customer_phones.e164`` for the last digits of
  a number (``5678``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION dialflow_grams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_agg(DISTINCT gram) FROM (
        SELECT substr(value, i, 1) FROM generate_series(1, char_length(value)) AS i
        UNION ALL
        SELECT substr(value, i, 2) FROM generate_series(1, char_length(value) - 1) AS i
    ) AS grams (gram)
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("work_item_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_candidates_name"))
        batch_op.create_index(
            batch_op.f("ix_work_item_candidates_name_work_item_id"),
            ["name", "work_item_id"],
            unique=False,
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customers_updated_at_id"), ["updated_at", "id"], unique=False
        )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.create_index("ix_customers_lower_email", "customers", [sa.text("lower(email)")])
    op.execute(GRAMS_FUNCTION)
    op.execute("CREATE INDEX ix_customers_name_grams ON customers USING gin (dialflow_grams(name))")
    op.execute(
        "CREATE INDEX ix_customers_company_grams ON customers USING gin (dialflow_grams(company))"
    )
    ext_schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    if ext_schema is None:  # 0001 could not create it: keep the plain search
        logging.getLogger(__name__).warning(
            "pg_trgm is not available: searching the last digits of phones scans the table"
        )
        return
    op.execute(
        "CREATE INDEX ix_customer_phones_e164_trgm ON customer_phones "
        f'USING gin (e164 "{ext_schema}".gin_trgm_ops)'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customer_phones_e164_trgm")
        op.execute("DROP INDEX IF EXISTS ix_customers_company_grams")
        op.execute("DROP INDEX IF EXISTS ix_customers_name_grams")
        op.execute("DROP FUNCTION IF EXISTS dialflow_grams(text)")
        op.drop_index("ix_customers_lower_email", table_name="customers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_updated_at_id"))
    with op.batch_alter_table("work_item_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_candidates_name_work_item_id"))
        batch_op.create_index(batch_op.f("ix_work_item_candidates_name"), ["name"], unique=False)
