"""Countdown alerts in Teams: the real dispatcher (``bot.scheduler.Dispatcher``) on the
manual clock posts through the Teams gateway, proactively (continue_conversation on the
stored reference), to the fake Bot Connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Context
from bot.errors import PermanentDelivery
from bot.messages import Message
from bot.scheduler import Dispatcher
from tests.adapters.teams.teams_world import (
    ALEX,
    BOT_ID,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    WORKSPACE,
    TeamsWorld,
    mention,
)

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"
DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def dispatcher(teams: TeamsWorld) -> Dispatcher:
    return Dispatcher(
        outbox=teams.runtime.repository,
        deadlines=teams.runtime.repository,
        gateways=teams.runtime.gateways,
        clock=teams.clock,
    )


async def alert_statuses(teams: TeamsWorld) -> dict[int, str]:
    export = await teams.runtime.repository.export_all()
    return {a["offset_seconds"]: a["status"] for a in export["alerts"]}


async def ask_dana(teams: TeamsWorld) -> None:
    posted = await teams.say(
        "position ask D1 <at>Dana Okafor</at>",
        mentions=[mention(DANA_TEAMS_ID, "Dana Okafor", DANA)],
    )
    assert posted.status == 200


async def test_a_channel_deadline_counts_down_in_its_channel(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    await ask_dana(teams)
    engine = dispatcher(teams)
    before = len(teams.connector.calls)

    teams.clock.set(DUE - timedelta(days=1))
    assert await engine.run_once() == 1
    alert, create, nudge = teams.connector.calls[before:]
    assert (alert.kind, alert.conversation_id) == ("send", CHANNEL)  # a new post, not a reply
    assert alert.body["from"]["id"] == BOT_ID
    assert "⏰ 1 day until D1 is due" in alert.card_text
    assert "waiting for @Dana Okafor" in alert.card_text
    assert "{{DATE(2026-11-27T22:00:00Z, SHORT)}}" in alert.card_text
    # Dana has not answered: a nudge in her 1:1 chat.
    assert create.body["members"] == [{"id": DANA}]
    assert (nudge.kind, nudge.conversation_id) == ("send", f"a:{DANA}")
    assert (
        "your position on D1 Signed usage agreement in its channel is still missing"
        in nudge.card_text
    )

    teams.clock.set(DUE - timedelta(hours=4))
    assert await engine.run_once() == 1
    assert "⏰ 4 hours until D1 is due" in teams.connector.calls[-1].card_text

    for offset in (timedelta(hours=1), timedelta(minutes=15)):
        teams.clock.set(DUE - offset)
        assert await engine.run_once() == 1
    teams.clock.set(DUE)
    assert await engine.run_once() == 1
    final = teams.connector.calls[-1]
    assert final.conversation_id == CHANNEL
    assert "🔔 Deadline reached — D1 is now missed: Signed usage agreement" in final.card_text
    assert set((await alert_statuses(teams)).values()) == {"sent"}
    sent = [c for c in teams.connector.calls_to("send") if c.conversation_id == CHANNEL]
    assert len(sent) == 5  # 1d, 4h, 1h, 15m and the deadline itself; 7d was already past


async def test_blocked_writes_fail_the_alert_and_tell_the_owner(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    teams.connector.fail("send", status=403, code="MessageWritesBlocked")
    before = len(teams.connector.calls)
    teams.clock.set(DUE - timedelta(days=1))
    await dispatcher(teams).run_once()
    refused, create, notice = teams.connector.calls[before:]
    assert (refused.kind, refused.conversation_id) == ("send", CHANNEL)
    assert create.body["members"] == [{"id": ALEX}]
    assert notice.conversation_id == f"a:{ALEX}"
    assert "could not post the alert for D1" in notice.card_text
    assert "MessageWritesBlocked" in notice.card_text
    assert (await alert_statuses(teams))[86400] == "failed"


async def test_429_is_retried_after_retry_after(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    teams.connector.fail("send", status=429, retry_after=30)
    engine = dispatcher(teams)
    now = DUE - timedelta(days=1)
    teams.clock.set(now)
    await engine.run_once()
    assert len(teams.connector.calls_to("send")) == 1  # the connector did not retry on its own
    assert await teams.runtime.repository.next_alert_due() == now + timedelta(seconds=30)
    teams.clock.set(now + timedelta(seconds=30))
    assert await engine.run_once() == 1
    assert len(teams.connector.calls_to("send")) == 2
    assert (engine.stats.retried, engine.stats.sent) == (1, 1)
    assert (await alert_statuses(teams))[86400] == "sent"


@pytest.mark.parametrize("status", [412, 502, 504])
async def test_server_errors_are_retried_with_backoff(teams: TeamsWorld, status: int) -> None:
    await teams.say(ADD)
    teams.connector.fail("send", status=status)
    engine = dispatcher(teams)
    now = DUE - timedelta(days=1)
    teams.clock.set(now)
    await engine.run_once()
    assert len(teams.connector.calls_to("send")) == 1
    retry_at = await teams.runtime.repository.next_alert_due()
    assert retry_at is not None and now < retry_at <= now + timedelta(seconds=4)
    teams.clock.set(retry_at)
    assert await engine.run_once() == 1
    assert (await alert_statuses(teams))[86400] == "sent"


async def test_after_uninstall_alerts_fail_without_posting(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    await teams.post(teams.activity("installation_remove"))
    before = len(teams.connector.calls)
    teams.clock.set(DUE - timedelta(days=1))
    await dispatcher(teams).run_once()
    assert teams.connector.calls[before:] == []
    assert (await alert_statuses(teams))[86400] == "failed"


class RecordingGateway:
    """The Slack side of the isolation test: records what the dispatcher gives it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Message]] = []

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        self.sent.append((workspace_id, channel_id, message))
        return "1"


async def test_slack_and_teams_deadlines_never_cross(teams: TeamsWorld) -> None:
    slack_ctx = Context(
        workspace_id="slack:T1",
        channel_id="C1",
        user_id="U1",
        tz="America/New_York",
        platform="slack",
    )
    await teams.runtime.service.handle(
        ctx=slack_ctx, command="deadline", text="add Slack-only deal due Friday 17:00"
    )
    # Teams sees nothing of it, by number or by title.
    assert "No deadlines in this channel" in (await teams.say("deadline list all")).text
    assert "There is no deadline D1" in (await teams.say("deadline show D1")).text
    assert "No deadline title starts with" in (await teams.say("deadline show Slack-only")).text

    await teams.say(ADD)
    [teams_deadline] = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert teams_deadline.number == 1  # numbers are per workspace

    slack = RecordingGateway()
    engine = Dispatcher(
        outbox=teams.runtime.repository,
        deadlines=teams.runtime.repository,
        gateways={**teams.runtime.gateways, "slack": slack},
        clock=teams.clock,
    )
    before = len(teams.connector.calls)
    teams.clock.set(DUE - timedelta(days=1))
    assert await engine.run_once() == 2
    [teams_alert] = teams.connector.calls[before:]
    assert teams_alert.conversation_id == CHANNEL
    assert "Signed usage agreement" in teams_alert.card_text
    assert "Slack-only" not in teams_alert.card_text
    [(workspace, channel, message)] = slack.sent
    assert (workspace, channel) == ("slack:T1", "C1")
    assert "Slack-only deal" in message.fallback

    with pytest.raises(PermanentDelivery):
        await teams.runtime.gateways["teams"].send(
            workspace_id="slack:T1", channel_id="C1", message=message
        )
