"""GET /metrics through the real aiohttp app: requests by route and status, command
latency by command and outcome, the alert dispatcher's counters and lateness,
pending due alerts, and calendar feed requests with their 304s."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import Context
from bot.main import build_app, open_runtime
from bot.observe import Outcome
from bot.runtime import Runtime, running_dispatcher
from tests.fakes.signing import interactive_body, signed_headers
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.opskit import SECRET, TEAM, Samples, samples, slack_settings, slash, value

DUE = "2026-11-27T17:00-05:00"  # 29 hours after the test clock's NOW


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


async def scrape(http: TestClient[Any, Any]) -> tuple[str, Samples]:
    response = await http.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    body = await response.text()
    return body, samples(body)


async def scrape_until(
    http: TestClient[Any, Any], condition: Callable[[Samples], bool], within: float = 5.0
) -> None:
    """Scrape until ``condition`` holds: the dispatcher has no event for "marked sent"."""
    async with asyncio.timeout(within):
        while not condition((await scrape(http))[1]):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_requests_are_counted_by_route_method_and_status(
    http: TestClient[Any, Any], slack_api: FakeSlackApi
) -> None:
    assert (await http.get("/healthz")).status == 200
    assert (await http.get("/healthz")).status == 200
    assert (await http.get("/readyz")).status == 200
    assert (await http.get("/no/such/page?token=abc")).status == 404
    status, _, _ = await slash(http, "/deadline list", api=slack_api)
    assert status == 200

    _, found = await scrape(http)
    total = "parley_http_requests_total"
    assert value(found, total, route="/healthz", method="GET", status="200") == 2
    assert value(found, total, route="/readyz", method="GET", status="200") == 1
    assert value(found, total, route="unmatched", method="GET", status="404") == 1
    assert value(found, total, route="/slack/events", method="POST", status="200") == 1
    count = "parley_http_request_duration_seconds_count"
    assert value(found, count, route="/healthz") == 2


async def test_command_latency_and_outcome_by_command(
    http: TestClient[Any, Any], slack_api: FakeSlackApi
) -> None:
    _, add, _ = await slash(http, f"/deadline add Signed usage agreement due {DUE}", api=slack_api)
    assert add["response_type"] == "in_channel"
    await slash(http, "/deadline list", api=slack_api)
    await slash(http, "/deadline list", api=slack_api)
    await slash(http, "/deadline frobnicate D1", api=slack_api)
    await slash(http, "/position D1 oppose as Anthropic No mass surveillance", api=slack_api)
    await slash(http, "/deadline show D99", api=slack_api)

    body, found = await scrape(http)
    count = "parley_command_duration_seconds_count"
    assert value(found, count, command="deadline add") == 1
    assert value(found, count, command="deadline list") == 2
    assert value(found, count, command="position record") == 1
    assert value(found, count, command="deadline other") == 1
    buckets = [
        v
        for (name, labels), v in found.items()
        if name == "parley_command_duration_seconds_bucket"
        and ("command", "deadline list") in labels
    ]
    assert max(buckets) == 2  # the +Inf bucket holds both
    commands = "parley_commands_total"
    assert value(found, commands, command="deadline add", outcome="ok") == 1
    assert value(found, commands, command="deadline other", outcome="user_error") == 1
    assert value(found, commands, command="deadline show", outcome="user_error") == 1
    # Free text never becomes a label.
    assert "frobnicate" not in body and "Anthropic" not in body


async def test_button_presses_count_as_the_commands_they_stand_for(
    http: TestClient[Any, Any], slack_api: FakeSlackApi
) -> None:
    await slash(http, f"/deadline add Signed usage agreement due {DUE}", api=slack_api)
    for action_id, value_sent in (("parley_stance#0.0", "1|support"), ("parley_stance#1.0", "x")):
        payload = {
            "type": "block_actions",
            "user": {"id": "U2", "username": "u2", "team_id": TEAM},
            "api_app_id": "A1",
            "team": {"id": TEAM, "domain": "acme"},
            "trigger_id": "trigger-press",
            "container": {"type": "message", "channel_id": "C1"},
            "channel": {"id": "C1", "name": "negotiation"},
            "response_url": slack_api.response_url(action_id),
            "actions": [{"action_id": action_id, "value": value_sent, "type": "button"}],
        }
        body = interactive_body(payload)
        response = await http.post(
            "/slack/events", data=body, headers=signed_headers(body, secret=SECRET)
        )
        assert response.status == 200

    def counted(found: Samples) -> bool:
        total = "parley_commands_total"
        return (
            value(found, total, command="position record", outcome="ok") == 1
            and value(found, total, command="position record", outcome="user_error") == 1
        )

    await scrape_until(http, counted)  # presses run after the ack


class FailingObserver:
    """An observer with a bug: it raises wherever it is called."""

    def command_started(self, *, ctx: Context, name: str) -> None:
        raise RuntimeError("observer bug")

    def command_finished(
        self, *, ctx: Context, name: str, outcome: Outcome, seconds: float
    ) -> None:
        raise RuntimeError("observer bug")


async def test_an_observer_that_fails_costs_nobody_their_reply(
    http: TestClient[Any, Any], slack_api: FakeSlackApi, runtime: Runtime
) -> None:
    runtime.observers.add(FailingObserver())
    _, ack, _ = await slash(http, f"/deadline add Signed usage agreement due {DUE}", api=slack_api)
    assert ack["response_type"] == "in_channel" and "D1" in ack["text"]
    _, found = await scrape(http)
    assert value(found, "parley_commands_total", command="deadline add", outcome="ok") == 1


async def test_alerts_sent_lateness_and_pending_due(
    http: TestClient[Any, Any], slack_api: FakeSlackApi, runtime: Runtime, clock: ManualClock
) -> None:
    await slash(http, f"/deadline add Signed usage agreement due {DUE}", api=slack_api)
    _, found = await scrape(http)
    assert value(found, "parley_alerts_due_pending") == 0
    assert value(found, "parley_database_up") == 1

    clock.advance(timedelta(hours=5, seconds=3))  # the 1-day reminder is now 3 s late
    _, found = await scrape(http)
    assert value(found, "parley_alerts_due_pending") == 1

    async with running_dispatcher(runtime):
        await slack_api.wait_for("chat.postMessage")
        # Marked sent just after Slack took it.
        await scrape_until(http, lambda found: value(found, "parley_alerts_sent_total") == 1)
        _, found = await scrape(http)
    assert value(found, "parley_alerts_sent_total") == 1
    assert value(found, "parley_alerts_failed_total") == 0
    assert value(found, "parley_alerts_retried_total") == 0
    assert value(found, "parley_alerts_collapsed_total") == 0
    assert value(found, "parley_alerts_due_pending") == 0
    assert value(found, "parley_dispatcher_paused") == 0
    assert value(found, "parley_alert_lateness_seconds_count") == 1
    assert value(found, "parley_alert_lateness_seconds_sum") == pytest.approx(3.0)
    assert value(found, "parley_alert_lateness_seconds_bucket", le="2.0") == 0
    assert value(found, "parley_alert_lateness_seconds_bucket", le="5.0") == 1

    # Lateness samples are taken once: a second scrape does not count them again.
    _, found = await scrape(http)
    assert value(found, "parley_alert_lateness_seconds_count") == 1


async def test_feed_requests_and_304s_are_counted_without_the_token(
    http: TestClient[Any, Any], slack_api: FakeSlackApi, runtime: Runtime
) -> None:
    if runtime.service.feeds is None:
        pytest.skip("calendar feeds are not wired into this build")
    await slash(http, f"/deadline add Signed usage agreement due {DUE}", api=slack_api)
    _, ack, _ = await slash(http, "/deadline feed", api=slack_api)
    match = re.search(r"https?://[^/\s]+(/calendar/([^/\s]+)\.ics)", ack["text"])
    assert match, ack["text"]
    path, token = match.group(1), match.group(2)

    first = await http.get(path)
    assert first.status == 200
    etag = first.headers["ETag"]
    again = await http.get(path, headers={"If-None-Match": etag})
    assert again.status == 304
    assert (await http.get("/calendar/not-a-real-token.ics")).status == 404

    body, found = await scrape(http)
    total = "parley_http_requests_total"
    route = "/calendar/{token}.ics"
    assert value(found, total, route=route, method="GET", status="200") == 1
    assert value(found, total, route=route, method="GET", status="304") == 1
    assert value(found, total, route=route, method="GET", status="404") == 1
    assert token not in body and "not-a-real-token" not in body


async def test_each_app_has_its_own_registry(runtime: Runtime) -> None:
    async with (
        TestClient(TestServer(build_app(runtime))) as one,
        TestClient(TestServer(build_app(runtime))) as two,
    ):
        await one.get("/healthz")
        await one.get("/healthz")
        await two.get("/healthz")
        _, first = await scrape(one)
        _, second = await scrape(two)
    total = "parley_http_requests_total"
    assert value(first, total, route="/healthz", method="GET", status="200") == 2
    assert value(second, total, route="/healthz", method="GET", status="200") == 1
