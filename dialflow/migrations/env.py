"""Alembic environment: runs against the connection ``dialflow.schema`` hands it."""

from __future__ import annotations

from alembic import context

import crm.models  # noqa: F401  (registers the CRM tables)
import engine.models  # noqa: F401  (registers the engine tables)
from dialflow.db import Base

config = context.config
target_metadata = Base.metadata
connection = config.attributes.get("connection")

if connection is None:
    raise RuntimeError("run migrations through `dialflow db upgrade`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
