"""SlackGateway against the fake Slack Web API: what it posts, and how failures map
onto Parley's error tree (RateLimited / TransientDelivery / PermanentDelivery)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.delivery import RetryPolicy, SlackDelivery, retry_handlers
from adapters.slack.gateway import SlackGateway
from bot import views
from bot.clock import ManualClock
from bot.domain import DEFAULT_OFFSETS, Deadline, DeadlineStatus
from bot.errors import PermanentDelivery, RateLimited, TransientDelivery
from bot.messages import Audience, Message
from tests.adapters.slack.blockkit import check_message
from tests.fakes.slack_api import FakeSlackApi

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
DEADLINE = Deadline(
    id=1,
    workspace_id="slack:T1",
    number=1,
    channel_id="C1",
    platform="slack",
    title="Signed usage agreement",
    due_at=NOW + timedelta(days=1),
    tz="America/New_York",
    owner_id="U1",
    status=DeadlineStatus.OPEN,
    reminder_offsets=DEFAULT_OFFSETS,
    created_at=NOW,
    updated_at=NOW,
)
ALERT = views.countdown_alert(
    DEADLINE, now=NOW, offset=timedelta(days=1), positions=[], requests=[]
)


def gateway_for(url: str, tokens: dict[str, str]) -> SlackGateway:
    async def token(team_id: str) -> str | None:
        return tokens.get(team_id)

    # The client's own retries happen at once here: what is under test is which
    # failures it retries, not how long slack_sdk sleeps before it does.
    at_once = RetryPolicy(waits=False)
    client = AsyncWebClient(base_url=url, retry_handlers=retry_handlers(at_once), timeout=5)
    delivery = SlackDelivery(client=client, clock=ManualClock(NOW), retries=at_once)
    return SlackGateway(delivery=delivery, tokens=token)


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def gateway(api: FakeSlackApi) -> SlackGateway:
    return gateway_for(api.api_url, {"T1": "xoxb-t1"})


async def test_channel_alert_is_posted_with_the_workspace_token(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    ts = await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)
    [call] = api.calls_to("chat.postMessage")
    assert ts and call.token == "xoxb-t1"
    assert call.params["channel"] == "C1"
    check_message(call.params)


async def test_direct_and_ephemeral_messages_and_threads(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    nudge = views.nudge_message(DEADLINE, user_id="U2", now=NOW)
    await gateway.send(workspace_id="slack:T1", channel_id="C1", message=nudge)
    ephemeral = views.error_message("only you", user_id="U3")
    await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ephemeral)
    threaded = Message(fallback="in a thread", audience=Audience.CHANNEL, thread_id="1.2")
    await gateway.send(workspace_id="slack:T1", channel_id="C1", message=threaded)
    direct, in_thread = api.calls_to("chat.postMessage")
    assert direct.params["channel"] == "U2"
    assert in_thread.params["thread_ts"] == "1.2"
    [eph] = api.calls_to("chat.postEphemeral")
    assert eph.params["channel"] == "C1" and eph.params["user"] == "U3"


async def test_one_429_is_waited_out_by_the_client(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    api.fail("chat.postMessage", status=429, retry_after=0)
    assert await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)
    assert len(api.calls_to("chat.postMessage")) == 2


async def test_a_lasting_429_becomes_rate_limited_with_retry_after(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    api.fail("chat.postMessage", status=429, retry_after=0)
    api.fail("chat.postMessage", status=429, retry_after=30)
    with pytest.raises(RateLimited) as raised:
        await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)
    assert raised.value.retry_after == 30.0
    assert len(api.calls_to("chat.postMessage")) == 2


async def test_server_errors_are_retried_once_then_transient(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    api.fail("chat.postMessage", status=500)
    assert await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)
    api.fail("chat.postMessage", status=503, times=2)
    with pytest.raises(TransientDelivery):
        await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)


@pytest.mark.parametrize(
    "error",
    [
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "invalid_blocks",
    ],
)
async def test_refusals_are_permanent(api: FakeSlackApi, gateway: SlackGateway, error: str) -> None:
    api.fail("chat.postMessage", error=error)
    with pytest.raises(PermanentDelivery, match=error):
        await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)


async def test_an_alert_to_a_channel_that_refuses_it_tells_nobody_else(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    # A reply would go to the person who acted, with a hint; an alert has nobody to
    # tell, so the dispatcher gets the error (and tells the deadline's owner itself).
    api.fail("chat.postMessage", error="not_in_channel")
    with pytest.raises(PermanentDelivery, match="not_in_channel"):
        await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)
    assert [c.params["channel"] for c in api.calls_to("chat.postMessage")] == ["C1"]


@pytest.mark.parametrize("error", ["internal_error", "fatal_error", "service_unavailable"])
async def test_slack_side_errors_are_transient(
    api: FakeSlackApi, gateway: SlackGateway, error: str
) -> None:
    api.fail("chat.postMessage", error=error)
    with pytest.raises(TransientDelivery, match=error):
        await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)


async def test_a_workspace_without_installation_is_permanent(
    api: FakeSlackApi, gateway: SlackGateway
) -> None:
    with pytest.raises(PermanentDelivery, match="not installed"):
        await gateway.send(workspace_id="slack:T9", channel_id="C1", message=ALERT)
    assert api.calls == []


async def test_an_unreachable_slack_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = gateway_for(f"http://127.0.0.1:{port}/api/", {"T1": "xoxb-t1"})
    with pytest.raises(TransientDelivery):
        await gateway.send(workspace_id="slack:T1", channel_id="C1", message=ALERT)
