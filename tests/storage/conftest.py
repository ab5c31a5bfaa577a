"""Fixtures for the storage contract suite: every test runs on SQLite and on PostgreSQL.

Both backends are built by ``storage.db.run_migrations``, so the migrations are
under test too.

- SQLite: the migrated database is made once per run and copied into each test's
  ``tmp_path``.
- PostgreSQL (``TEST_DATABASE_URL``, default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``):
  two databases of our own (``parley_storage_<random>`` and ``..._b``) are created next to
  the given one, migrated once, emptied before each test that uses them (every table of
  ``storage.tables``) and dropped at the end, so other suites sharing the server are left
  alone. When the server cannot be reached these tests skip, or fail when
  ``REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from storage.db import make_engine, run_migrations
from storage.repository import SqlRepository

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# Every table Parley keeps (alembic's own version table is not among them).
TABLES = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)


@dataclass
class Database:
    """One migrated database; ``reset`` empties it."""

    url: str
    backend: str

    async def reset(self) -> None:
        if self.backend == "postgresql":
            engine = create_async_engine(self.url)
            try:
                async with engine.begin() as conn:
                    await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
            finally:
                await engine.dispose()


async def _create_pg_databases(base_url: str, names: list[str]) -> None:
    engine = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for name in names:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def _drop_pg_databases(base_url: str, names: list[str]) -> None:
    engine = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for name in names:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[tuple[Database, Database]]:
    base_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL)
    prefix = f"parley_storage_{secrets.token_hex(4)}"
    names = [prefix, f"{prefix}_b"]
    try:
        asyncio.run(_create_pg_databases(base_url, names))
    except Exception as error:
        message = f"PostgreSQL at {make_url(base_url).render_as_string()} unusable: {error!r}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    urls = [make_url(base_url).set(database=name).render_as_string(False) for name in names]
    try:
        for url in urls:
            asyncio.run(run_migrations(url))
        yield Database(urls[0], "postgresql"), Database(urls[1], "postgresql")
    finally:
        asyncio.run(_drop_pg_databases(base_url, names))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "parley.db"
    asyncio.run(run_migrations(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Sync fixtures: the session fixtures they pull in call asyncio.run, which cannot run
# inside the test's event loop.
@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """The migrated, empty database this test runs on."""
    return _empty_database(backend, request, tmp_path, 0)


@pytest.fixture
def other_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A second migrated, empty database of the same backend (export/import target)."""
    return _empty_database(backend, request, tmp_path, 1)


def _empty_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, index: int
) -> Database:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / f"parley-{index}.db"
        shutil.copyfile(template, path)
        return Database(f"sqlite+aiosqlite:///{path}", "sqlite")
    db: Database = request.getfixturevalue("pg_databases")[index]
    asyncio.run(db.reset())
    return db


RepoFactory = Callable[[Database], Awaitable[SqlRepository]]


@pytest_asyncio.fixture
async def open_repo() -> AsyncIterator[RepoFactory]:
    """Opens repositories (each with its own engine) and closes them after the test."""
    opened: list[SqlRepository] = []

    async def open_(db: Database) -> SqlRepository:
        repo = SqlRepository(make_engine(db.url))
        opened.append(repo)
        return repo

    yield open_
    for repo in opened:
        await repo.close()


@pytest_asyncio.fixture
async def repo(database: Database, open_repo: RepoFactory) -> SqlRepository:
    return await open_repo(database)
