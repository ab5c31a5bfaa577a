"""Fixtures for the Slack adapter: the real aiohttp app on a SQLite runtime with a
manual clock, a local fake Slack Web API, and signed requests (see ``slack_world``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.config import load_settings
from bot.main import open_runtime
from bot.runtime import Runtime
from tests.adapters.slack.slack_world import (
    BOT_TOKEN,
    SECRET,
    SlackWorld,
    check_everything_sent,
    open_world,
)
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
async def slack_runtime(
    sqlite_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> AsyncIterator[Runtime]:
    settings = load_settings(
        database_url=sqlite_url,
        slack_signing_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack_api.api_url,
        slack_client_id="",
        slack_client_secret="",
    )
    async with open_runtime(settings, clock=clock) as runtime:
        yield runtime


@pytest.fixture
async def slack(slack_runtime: Runtime, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async for world in open_world(slack_runtime, slack_api):
        yield world
    check_everything_sent(slack_api)
