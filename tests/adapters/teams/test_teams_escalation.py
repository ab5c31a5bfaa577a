"""Escalation in Teams: a ladder set by an activity, its rungs posted by the real
dispatcher through the Teams gateway (the owners told in their 1:1 chats, the silent
mentioned in the channel's countdown), and ``position nudge`` with its hourly limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.scheduler import Dispatcher
from tests.adapters.teams.teams_world import (
    ALEX,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    TeamsWorld,
    mention,
)

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"
DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


async def test_a_ladder_reaches_the_owners_and_the_channel_in_teams(teams: TeamsWorld) -> None:
    await teams.say(ADD + " remind 1h")
    await teams.say(
        "position ask D1 <at>Dana Okafor</at>",
        mentions=[mention(DANA_TEAMS_ID, "Dana Okafor", DANA)],
    )
    said = await teams.say("deadline escalate D1 4h:owners,1h:channel")
    assert "set escalation for D1 Signed usage agreement to 4h:owners,1h:channel" in said.text
    engine = Dispatcher(
        outbox=teams.runtime.repository,
        deadlines=teams.runtime.repository,
        gateways=teams.runtime.gateways,
        clock=teams.clock,
        escalations=teams.runtime.repository,
    )
    before = len(teams.connector.calls)
    teams.clock.set(DUE - timedelta(hours=4))
    assert await engine.run_once() == 1
    create, told = teams.connector.calls[before:]  # no channel post: owners only
    assert create.body["members"] == [{"id": ALEX}]
    assert told.conversation_id == f"a:{ALEX}"
    assert "Still silent: @Dana Okafor" in told.card_text

    before = len(teams.connector.calls)
    teams.clock.set(DUE - timedelta(hours=1))
    assert await engine.run_once() == 1
    [post] = teams.connector.calls[before:]  # one post: the countdown naming the silent
    assert post.conversation_id == CHANNEL
    assert "⏰ 1 hour until D1 is due" in post.card_text
    assert "Still silent: @Dana Okafor" in post.card_text


async def test_nudge_from_teams_messages_the_silent_once_an_hour(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    await teams.say(
        "position ask D1 <at>Dana Okafor</at>",
        mentions=[mention(DANA_TEAMS_ID, "Dana Okafor", DANA)],
    )
    nudged = await teams.say("position nudge D1")
    assert "Nudged @Dana Okafor by direct message about D1" in nudged.text
    dm = next(c for c in nudged.calls if c.conversation_id == f"a:{DANA}")
    assert "your position on D1 Signed usage agreement is still missing" in dm.card_text
    teams.clock.advance(timedelta(minutes=10))
    again = await teams.say("position nudge D1")
    assert "D1 was nudged 10 minutes ago" in again.text
    assert "You can nudge it again in 50 minutes" in again.text
    assert not [c for c in again.calls if c.conversation_id == f"a:{DANA}"]
