"""When Slack refuses a deadline's alert for good (the channel is gone, Parley was
removed), every owner of the deadline hears about it in a direct message, once:
the creator and each co-owner, since any of them can move the deadline. Through
signed slash commands, the real app and dispatcher, and the fake Slack Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.config import load_settings
from bot.main import build_app, open_runtime
from bot.runtime import Runtime, running_dispatcher
from tests.fakes.signing import signed_headers, slash_command_body
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.ops.opskit import SECRET, TEAM, samples, slack_settings, value

DUE = "2026-11-27T17:00-05:00"  # 29 hours after the test clock's NOW
LATE = timedelta(milliseconds=40)


@pytest.fixture
async def runtime(
    sqlite_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> AsyncIterator[Runtime]:
    settings = load_settings(database_url=sqlite_url, **slack_settings(slack_api))
    async with open_runtime(settings, clock=clock) as built:
        yield built


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_app(runtime))) as client:
        yield client


async def slash_as(http: TestClient[Any, Any], user_id: str, line: str) -> dict[str, Any]:
    command, _, words = line.partition(" ")
    body = slash_command_body(command=command, text=words, team_id=TEAM, user_id=user_id)
    response = await http.post(
        "/slack/events", data=body, headers=signed_headers(body, secret=SECRET)
    )
    assert response.status == 200
    ack: dict[str, Any] = await response.json()
    return ack


def notice(call: Call) -> bool:
    return "could not post the alert for D1" in str(call.params.get("text", ""))


async def failed_alerts(http: TestClient[Any, Any]) -> float | None:
    return value(samples(await (await http.get("/metrics")).text()), "parley_alerts_failed_total")


async def test_every_owner_is_told_once_that_the_channel_refuses_alerts(
    http: TestClient[Any, Any], runtime: Runtime, slack_api: FakeSlackApi, clock: ManualClock
) -> None:
    ack = await slash_as(http, "U1", f"/deadline add Signed usage agreement due {DUE} remind 1h")
    assert "D1" in ack["text"]
    ack = await slash_as(http, "U1", "/deadline owners D1 <@U2> <@U3>")
    assert "U3" in ack["text"], ack

    async with running_dispatcher(runtime) as dispatcher:
        slack_api.fail("chat.postMessage", error="channel_not_found")
        clock.set(clock.now() + timedelta(hours=28) + LATE)  # the 1-hour alert is due
        dispatcher.wake()
        told = await slack_api.wait_for("chat.postMessage", count=3, where=notice)
        assert sorted(call.params["channel"] for call in told) == ["U1", "U2", "U3"]

        # The alert at the deadline is refused too: nobody is told again.
        slack_api.fail("chat.postMessage", error="channel_not_found")
        clock.advance(timedelta(hours=1))
        dispatcher.wake()
        await slack_api.wait_for("chat.postMessage", count=2, where=lambda c: c.error is not None)
        assert (await failed_alerts(http) or 0) >= 1  # the metric counts them too
    # Stopped, the dispatcher has finished the job in hand: both refusals are recorded.
    assert dispatcher.stats.failed == 2
    assert len([call for call in slack_api.calls_to("chat.postMessage") if notice(call)]) == 3
