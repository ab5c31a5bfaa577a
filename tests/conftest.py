"""Shared fixtures: a Parley runtime on a fresh database with a controllable clock,
a ``Chat`` helper that lets tests read like a conversation, and ``PostgresServer``,
the one way tests make, empty and drop PostgreSQL databases of their own."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.shell.console import is_direct
from adapters.shell.render import render_message
from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import Context
from bot.main import open_runtime
from bot.messages import Audience, Message
from bot.runtime import Runtime
from storage.db import run_migrations

# Thursday 26 November 2026, 12:00 in New York.
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


class PostgresServer:
    """The test server (``TEST_DATABASE_URL``): databases of the tests' own beside the
    given one, so that parallel runs and other suites on the server are left alone."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)

    async def _admin(self, sql: str) -> None:
        engine = create_async_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    async def ping(self) -> None:
        await self._admin("SELECT 1")

    async def create_database(self) -> str:
        """A new, empty database (not migrated); its URL."""
        name = f"parley_test_{secrets.token_hex(4)}"
        await self._admin(f'CREATE DATABASE "{name}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    async def drop_database(self, url: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    async def empty(self, url: str) -> None:
        """Empty every table of the database at ``url`` but alembic's version (tables
        made outside the migrations too), and restart its sequences."""
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                listed = await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
                tables = ", ".join(f'"{name}"' for name in listed.scalars())
                if tables:
                    await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """The test PostgreSQL server. Skips the test without one, or fails it when
    REQUIRE_POSTGRES=1. (A sync fixture: it runs outside the tests' event loops.)"""
    server = PostgresServer(POSTGRES_URL)
    try:
        asyncio.run(server.ping())
    except Exception as error:  # not running, refusing us, ...: each makes it unusable
        message = f"PostgreSQL at {server.url.render_as_string()} unusable: {error!r}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return server


@pytest.fixture
async def pg_empty_url(postgres: PostgresServer) -> AsyncIterator[str]:
    """An empty PostgreSQL database of the test's own (not migrated), dropped afterwards."""
    url = await postgres.create_database()
    yield url
    await postgres.drop_database(url)


@pytest.fixture
async def pg_url(pg_empty_url: str) -> str:
    """A migrated PostgreSQL database of the test's own, dropped afterwards."""
    await run_migrations(pg_empty_url)
    return pg_empty_url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"


@pytest.fixture
async def runtime(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Runtime]:
    settings = load_settings(database_url=sqlite_url)
    async with open_runtime(settings, clock=clock) as built:
        yield built


@dataclass
class Chat:
    """Say a line as a user in a channel; look at what came back. As in the shell, a
    channel named ``dm:…`` or ``@…`` is a direct conversation with Parley."""

    runtime: Runtime
    workspace: str = "shell:test"
    channel: str = "negotiation"
    user: str = "alex"
    tz: str = "America/New_York"
    replies: list[Message] = field(default_factory=list)

    def context(self, **changes: str) -> Context:
        if "user" in changes:
            name = changes.pop("user")
            changes |= {"user_id": name, "user_name": name}
        values: dict[str, str] = {
            "workspace_id": self.workspace,
            "channel_id": self.channel,
            "user_id": self.user,
            "user_name": self.user,
            "tz": self.tz,
            "platform": "shell",
        } | changes
        return Context(
            workspace_id=values["workspace_id"],
            channel_id=values["channel_id"],
            user_id=values["user_id"],
            user_name=values["user_name"],
            tz=values["tz"],
            platform=values["platform"],
            direct=is_direct(values["channel_id"]),
        )

    async def say(self, line: str, **who: str) -> str:
        """Run ``/deadline ...`` or ``/position ...``; return the replies as shell text."""
        command, _, text = line.strip().lstrip("/").partition(" ")
        self.replies = await self.runtime.service.handle(
            ctx=self.context(**who), command=command, text=text
        )
        return self.text()

    def text(self) -> str:
        now = self.runtime.clock.now()
        return "\n".join(render_message(m, now=now) for m in self.replies)

    @property
    def audiences(self) -> list[Audience]:
        return [m.audience for m in self.replies]


@pytest.fixture
def chat(runtime: Runtime) -> Chat:
    return Chat(runtime)
