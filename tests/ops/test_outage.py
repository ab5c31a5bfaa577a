"""A PostgreSQL outage, through a TCP proxy between Parley and the database that the
test cuts and restores: slash commands still answer within Slack's 3 seconds with
the ephemeral database message, /readyz says not ready, the alert dispatcher pauses;
after the restore everything resumes and the alert that fell due meanwhile is sent,
once. (A replica that starts before the migration: test_unmigrated.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import load_settings
from bot.errors import DATABASE_DOWN
from bot.main import build_app, open_runtime
from bot.runtime import running_dispatcher
from storage.db import make_engine
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.ops.opskit import Samples, samples, slack_settings, slash, value
from tests.ops.tcp_proxy import TcpProxy

SLACK_BUDGET = 3.0
LATER = "2031-01-15T17:00Z"


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[TcpProxy]:
    target = make_url(pg_url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as running:
        yield running


@pytest.fixture
async def http(
    pg_url: str, proxy: TcpProxy, slack_api: FakeSlackApi
) -> AsyncIterator[TestClient[Any, Any]]:
    through_proxy = make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
    settings = load_settings(database_url=through_proxy, **slack_settings(slack_api))
    async with (
        open_runtime(settings) as runtime,
        TestClient(TestServer(build_app(runtime))) as client,
        running_dispatcher(runtime),
    ):
        yield client


async def timed_slash(
    http: TestClient[Any, Any], line: str, api: FakeSlackApi
) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    status, ack, _ = await slash(http, line, api=api)
    assert status == 200
    return time.monotonic() - started, ack


async def metrics_until(
    http: TestClient[Any, Any], condition: Callable[[Samples], bool], within: float
) -> None:
    """Scrape /metrics until ``condition`` holds (the dispatcher has no event to await)."""
    async with asyncio.timeout(within):
        while not condition(samples(await (await http.get("/metrics")).text())):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def outage_alert(call: Call) -> bool:
    return "Outage alert" in str(call.params.get("text", ""))


async def test_commands_readiness_and_alerts_through_an_outage(
    http: TestClient[Any, Any], proxy: TcpProxy, slack_api: FakeSlackApi
) -> None:
    _, ack = await timed_slash(http, "/deadline list", slack_api)
    assert DATABASE_DOWN not in ack["text"]
    assert (await http.get("/readyz")).status == 200

    # Due in 3 s: the dispatcher is woken by the change and waits for it.
    due = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, ack = await timed_slash(http, f"/deadline add Outage alert due {due}", slack_api)
    assert ack["response_type"] == "in_channel"
    await proxy.cut()

    for line in ("/deadline list", f"/deadline add Renewal due {LATER}", "/position D1 yes"):
        elapsed, ack = await timed_slash(http, line, slack_api)
        assert elapsed < SLACK_BUDGET, f"{line} took {elapsed:.2f} s"
        assert ack["response_type"] == "ephemeral"
        assert ack["text"] == DATABASE_DOWN
    started = time.monotonic()
    ready = await http.get("/readyz")
    assert ready.status == 503 and time.monotonic() - started < SLACK_BUDGET

    # The alert falls due while the database is away: the dispatcher pauses.
    await metrics_until(http, lambda s: value(s, "parley_dispatcher_paused") == 1, within=10)
    assert not any(outage_alert(c) for c in slack_api.calls_to("chat.postMessage"))

    await proxy.restore()
    assert (await http.get("/readyz")).status == 200
    _, ack = await timed_slash(http, f"/deadline add Renewal due {LATER}", slack_api)
    assert ack["response_type"] == "in_channel", ack
    await slack_api.wait_for("chat.postMessage", where=outage_alert, within=10)
    await metrics_until(http, lambda s: value(s, "parley_dispatcher_paused") == 0, within=5)
    _, ack = await timed_slash(http, "/deadline list", slack_api)
    assert "Renewal" in ack["text"]
    assert len([c for c in slack_api.calls_to("chat.postMessage") if outage_alert(c)]) == 1


async def test_a_silent_database_still_gets_an_answer_in_time(
    http: TestClient[Any, Any], proxy: TcpProxy, slack_api: FakeSlackApi
) -> None:
    """Packets lost rather than refused: only the connect timeout can end the wait."""
    await timed_slash(http, "/deadline list", slack_api)
    await proxy.cut(blackhole=True)
    elapsed, ack = await timed_slash(http, "/deadline list", slack_api)
    assert elapsed < SLACK_BUDGET, f"took {elapsed:.2f} s"
    assert ack == {**ack, "response_type": "ephemeral", "text": DATABASE_DOWN}
    started = time.monotonic()
    assert (await http.get("/readyz")).status == 503
    assert time.monotonic() - started < SLACK_BUDGET

    await proxy.restore()
    _, ack = await timed_slash(http, "/deadline list", slack_api)
    assert ack["text"] != DATABASE_DOWN


async def test_a_pooled_connection_that_died_while_idle_is_replaced(
    pg_url: str, proxy: TcpProxy
) -> None:
    through_proxy = make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(through_proxy, idle_ping_seconds=0.0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        await proxy.cut()  # the pooled connection dies while idle
        await proxy.restore()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 2"))).scalar() == 2
    finally:
        await engine.dispose()
