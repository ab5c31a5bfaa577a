"""Fixtures for the calendar-feed tests: the real aiohttp app on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.feeds import RedactingAccessLogger
from bot.main import build_app
from bot.runtime import Runtime


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[TestClient[Any, Any]]:
    server = TestServer(build_app(runtime), host="127.0.0.1")
    # As adapters.web.serve runs it: access-log lines with feed tokens redacted.
    await server.start_server(access_log_class=RedactingAccessLogger)
    async with TestClient(server) as client:
        yield client
