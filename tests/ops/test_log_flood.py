"""Anyone can send 1 MB without signing in: the log stays small and signed commands
stay fast. Bolt used to log the whole body of every request with a bad signature,
and the redactor ran its patterns over each megabyte on the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.main import build_app, open_runtime
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.opskit import Captured, capture, slack_settings, slash

FLOODERS = 10
BODY = b"payload=" + b"x" * 1_000_000
LOG_BOUND = 64 * 1024


@pytest.fixture
def settings(sqlite_url: str, slack_api: FakeSlackApi) -> Settings:
    return load_settings(database_url=sqlite_url, log_level="DEBUG", **slack_settings(slack_api))


@pytest.fixture
def logs(settings: Settings) -> Iterator[Captured]:
    yield from capture(settings)


@pytest.fixture
async def http(
    settings: Settings, clock: ManualClock, logs: Captured
) -> AsyncIterator[TestClient[Any, Any]]:
    async with (
        open_runtime(settings, clock=clock) as runtime,
        TestClient(TestServer(build_app(runtime))) as client,
    ):
        yield client


async def unsigned(http: TestClient[Any, Any]) -> int:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "ab" * 32,
    }
    response = await http.post("/slack/events", data=BODY, headers=headers)
    await response.read()
    return response.status


async def test_unsigned_megabytes_write_little_log_and_signed_acks_still_come(
    http: TestClient[Any, Any], slack_api: FakeSlackApi, logs: Captured
) -> None:
    status, _, _ = await slash(
        http, "/deadline add Review due 2026-11-27T17:00-05:00", api=slack_api
    )
    assert status == 200
    before = len(logs.out.getvalue().encode())
    for _ in range(2):  # two waves of ten flooders, each beside ten signed commands
        floods, acks = await asyncio.gather(
            asyncio.gather(*(unsigned(http) for _ in range(FLOODERS))),
            asyncio.gather(
                *(slash(http, "/deadline list", api=slack_api) for _ in range(FLOODERS))
            ),
        )
        assert floods == [401] * FLOODERS
        for status, ack, _ in acks:
            assert status == 200 and "Review" in str(ack)
    written = len(logs.out.getvalue().encode()) - before
    assert written < LOG_BOUND, f"{written} bytes of log for {2 * FLOODERS} unsigned requests"
    assert "xxxxxxxxxxxxxxxx" not in logs.out.getvalue()
