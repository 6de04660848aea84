"""Alembic environment: run against the connection `app.migrate` hands in."""

from __future__ import annotations

from alembic import context

from app.data import models  # noqa: F401  (registers the tables on Base.metadata)
from app.data.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
