"""Names in Teams: people's and the channel's names taken from activities, stored, and
shown in the direct messages that ask people and tell them what changed (an extension,
a new offer), sent the way ``parley serve`` sends them (``running_dispatcher``'s gateways)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import NameKind
from bot.names import NamedGateways
from bot.notices import NoticeSender
from tests.adapters.teams.teams_world import (
    ALEX,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    TEAM,
    WORKSPACE,
    TeamsWorld,
    mention,
)
from tests.fakes.bot_connector import Call

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # tests.conftest.NOW
ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"


async def say_in_named_channel(teams: TeamsWorld, text: str) -> None:
    """``text`` in the channel, from an activity that carries the channel's name."""
    activity = teams.activity("channel_message", text=f"<at>Parley</at> {text}\n")
    activity["channelData"]["channel"]["name"] = "Negotiation"
    posted = await teams.post(activity)
    assert posted.status == 200


async def ask_dana(teams: TeamsWorld) -> Call:
    posted = await teams.say(
        "position ask D1 <at>Dana Okafor</at>",
        mentions=[mention(DANA_TEAMS_ID, "Dana Okafor", DANA)],
    )
    [direct] = [c for c in posted.messages if c.conversation_id == f"a:{DANA}"]
    return direct


def sender(teams: TeamsWorld) -> NoticeSender:
    runtime = teams.runtime
    return NoticeSender(
        outbox=runtime.repository,
        deadlines=runtime.repository,
        gateways=NamedGateways(runtime.gateways, runtime.names),
        clock=teams.clock,
    )


def dms_to_dana(teams: TeamsWorld) -> list[Call]:
    return [
        c
        for c in teams.connector.calls
        if c.kind == "send" and c.conversation_id == f"a:{DANA}" and "Update on D1" in c.card_text
    ]


async def test_names_from_activities_are_stored_for_every_replica(teams: TeamsWorld) -> None:
    await say_in_named_channel(teams, ADD)
    await ask_dana(teams)
    repository = teams.runtime.repository
    assert await repository.find_names(
        workspace_id=WORKSPACE, kind=NameKind.USER, subject_ids=[ALEX, DANA]
    ) == {ALEX: "Alex Rivera", DANA: "Dana Okafor"}
    assert await repository.find_names(
        workspace_id=WORKSPACE, kind=NameKind.CHANNEL, subject_ids=[CHANNEL]
    ) == {CHANNEL: "Negotiation"}


async def test_the_ask_dm_names_the_channel_and_the_asker(teams: TeamsWorld) -> None:
    await say_in_named_channel(teams, ADD)
    direct = await ask_dana(teams)
    assert (
        "@Alex Rivera asks for your position on D1 Signed usage agreement in #Negotiation"
        in direct.card_text
    )
    assert CHANNEL not in direct.card_text and ALEX not in direct.card_text


async def test_the_asked_hear_of_an_extension_and_of_a_new_offer(teams: TeamsWorld) -> None:
    await say_in_named_channel(teams, ADD)
    await ask_dana(teams)
    told = sender(teams)

    teams.clock.set(NOW + timedelta(seconds=10))
    await teams.say(
        "deadline extend D1 to Monday 09:00 America/New_York because best and final offer"
    )
    teams.clock.set(NOW + timedelta(seconds=71))
    assert await told.run_once() == 1
    [extended] = dms_to_dana(teams)
    assert "Update on D1 Signed usage agreement in #Negotiation" in extended.card_text
    assert (
        "@Alex Rivera extended it from {{DATE(2026-11-27T22:00:00Z, SHORT)}} "
        "{{TIME(2026-11-27T22:00:00Z)}} to {{DATE(2026-11-30T14:00:00Z, SHORT)}} "
        "{{TIME(2026-11-30T14:00:00Z)}} because best and final offer"
    ) in extended.card_text
    assert "3 days 21 hours left" in extended.card_text  # Monday 09:00 ET, told Thursday 12:01

    teams.clock.set(NOW + timedelta(minutes=5))
    await teams.say("offer D1 Best and final offer https://example.com/bafo")
    teams.clock.set(NOW + timedelta(minutes=6, seconds=1))
    assert await told.run_once() == 1
    offered = dms_to_dana(teams)[1]
    assert (
        "@Alex Rivera put a new offer on the table: Best and final offer (example.com)"
        in offered.card_text
    )
    assert "extended" not in offered.card_text  # the extension was told already
    assert await told.run_once() == 0


async def test_channel_names_come_from_the_teams_channel_list(teams: TeamsWorld) -> None:
    teams.connector.channels = {CHANNEL: "Negotiation", TEAM: None}
    await teams.say(ADD)  # a message names no channel: the connector's list does
    await teams.say("deadline list")  # asked once per channel, not again
    assert len(teams.connector.calls_to("channels")) == 1
    assert await teams.runtime.repository.find_names(
        workspace_id=WORKSPACE, kind=NameKind.CHANNEL, subject_ids=[CHANNEL, TEAM]
    ) == {CHANNEL: "Negotiation", TEAM: "General"}
    direct = await ask_dana(teams)
    assert "in #Negotiation" in direct.card_text


async def test_a_failed_channel_list_leaves_the_channel_unnamed(teams: TeamsWorld) -> None:
    teams.connector.fail("channels", status=500)
    posted = await teams.say(ADD)
    assert posted.status == 200 and posted.messages  # answered all the same
    assert (
        await teams.runtime.repository.find_names(
            workspace_id=WORKSPACE, kind=NameKind.CHANNEL, subject_ids=[CHANNEL]
        )
        == {}
    )
    direct = await ask_dana(teams)
    assert "in its channel" in direct.card_text
