"""Fixtures for the operations tests: a fresh PostgreSQL database and a fake Slack Web API."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from fakes.slack_api import FakeSlackApi
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import run_migrations
from tests.conftest import POSTGRES_URL


async def _admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_empty_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database of the test's own (not migrated), dropped afterwards."""
    name = f"parley_ops_{secrets.token_hex(4)}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except OSError as error:  # the server is not running
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg_url(pg_empty_url: str) -> str:
    """A migrated PostgreSQL database of the test's own, dropped afterwards."""
    await run_migrations(pg_empty_url)
    return pg_empty_url


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake
