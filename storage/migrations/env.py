"""Alembic environment for Parley.

Two ways in:

- ``storage.db.run_migrations`` opens the async engine itself and hands alembic a
  connection through ``config.attributes["connection"]`` (inside ``run_sync``);
- the ``alembic`` command line (``-c storage/migrations/alembic.ini``) has no
  connection: this file then builds the async engine from ``DATABASE_URL`` and
  runs the same migration function through ``run_sync``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import make_engine, writer

_DEFAULT_URL = "sqlite+aiosqlite:///parley.db"

config = context.config
target_metadata = SQLModel.metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_from_url(url: str) -> None:
    engine = make_engine(url)
    try:
        async with writer(engine).begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=os.environ.get("DATABASE_URL", _DEFAULT_URL),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
    else:
        if config.config_file_name is not None:
            fileConfig(config.config_file_name)
        asyncio.run(_migrate_from_url(os.environ.get("DATABASE_URL", _DEFAULT_URL)))
