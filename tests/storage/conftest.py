"""Fixtures for the storage contract suite: every test runs on SQLite and on PostgreSQL.

Both backends are built by ``storage.db.run_migrations``, so the migrations are
under test too.

- SQLite: the migrated database is made once per run and copied into each test's
  ``tmp_path``.
- PostgreSQL (the ``postgres`` server of ``tests/conftest.py``): two databases of
  the run's own are made and migrated once, emptied before each test that uses
  them (every table) and dropped at the end. Without a server these tests skip,
  or fail when ``REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from storage.db import make_engine, run_migrations
from storage.repository import SqlRepository
from tests.conftest import PostgresServer


@dataclass
class Database:
    """One migrated database; ``reset`` empties it."""

    url: str
    backend: str
    server: PostgresServer | None = None  # PostgreSQL's

    async def reset(self) -> None:
        if self.server is not None:
            await self.server.empty(self.url)


@pytest.fixture(scope="session")
def pg_databases(postgres: PostgresServer) -> Iterator[tuple[Database, Database]]:
    urls: list[str] = []
    try:
        for _ in range(2):
            urls.append(asyncio.run(postgres.create_database()))
            asyncio.run(run_migrations(urls[-1]))
        first, second = (Database(url, "postgresql", postgres) for url in urls)
        yield first, second
    finally:
        for url in urls:
            asyncio.run(postgres.drop_database(url))


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
