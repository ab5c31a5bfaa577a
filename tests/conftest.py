"""Shared fixtures: a Parley runtime on a fresh database with a controllable clock,
and a ``Chat`` helper that lets tests read like a conversation."""

from __future__ import annotations

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


async def _admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_empty_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database of the test's own (not migrated), dropped afterwards.
    Skips without a server, or fails when REQUIRE_POSTGRES=1."""
    name = f"parley_test_{secrets.token_hex(4)}"
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
        values = {
            "workspace_id": self.workspace,
            "channel_id": self.channel,
            "user_id": self.user,
            "user_name": self.user,
            "tz": self.tz,
            "platform": "shell",
        } | changes
        return Context(**values, direct=is_direct(values["channel_id"]))

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
