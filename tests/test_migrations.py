"""The Alembic head and the SQLAlchemy models describe the same schema, and migrations reverse."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

import crm.models  # noqa: F401  (registers every table on Base.metadata)
from dialflow import schema
from dialflow.db import Base
from tests.conftest import backend

# Created by raw SQL in the migration (PostgreSQL only); the models cannot express it.
IGNORED_INDEXES = {
    "ix_customers_name_trgm",
    "ix_customers_name_grams",
    "ix_customers_company_grams",
    "ix_customer_phones_e164_trgm",
}


def _is_ignored(diff: object) -> bool:
    if isinstance(diff, tuple) and diff and diff[0] in ("remove_index", "add_index"):
        return getattr(diff[1], "name", None) in IGNORED_INDEXES
    return False


def test_test_database_is_at_the_head_revision(runtime):
    assert schema.head_revision() is not None
    assert schema.current_revision(runtime.db.engine) == schema.head_revision()
    assert schema.is_up_to_date(runtime.db.engine)


# SQLite cannot reflect an expression index (lower(email)); PostgreSQL's pass compares it.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_models_and_migrations_agree(runtime):
    with runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if not _is_ignored(d)]
    assert diffs == [], "models differ from the migrated schema; add a migration:\n" + "\n".join(
        map(str, diffs)
    )


def test_every_model_table_exists(runtime):
    tables = set(inspect(runtime.db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


@pytest.mark.skipif(
    backend() == "postgresql",
    reason="downgrading drops this worker's shared PostgreSQL schema under the other tests; "
    "SQLite runs it on a private copy of the database",
)
def test_downgrade_to_base_then_upgrade_again(runtime):
    engine = runtime.db.engine
    config = schema.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert schema.current_revision(engine) is None
    assert not schema.is_up_to_date(engine)
    left = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    assert left == set()

    schema.upgrade(engine)
    assert schema.is_up_to_date(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

    # the append-only triggers come back with the table
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (at, action, entity_type) "
                "VALUES ('2026-01-01 00:00:00+00:00', 'probe', 'test')"
            )
        )
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET action = 'changed'"))


def test_upgrade_is_idempotent(runtime):
    before = schema.current_revision(runtime.db.engine)
    schema.upgrade(runtime.db.engine, schema=runtime.settings.database_schema)
    assert schema.current_revision(runtime.db.engine) == before == schema.head_revision()
