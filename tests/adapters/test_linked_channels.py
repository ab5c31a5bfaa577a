"""A Slack channel and a Teams conversation linked into one negotiation, end to end:
signed Slack commands and Teams activities into the one app, the fake Slack Web API
and the fake Bot Connector watching what each platform is sent, the real dispatcher
on the manual clock."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.main import build_app, open_runtime
from bot.scheduler import Dispatcher
from tests.adapters.slack.slack_world import BOT_TOKEN, SECRET, SlackWorld, check_everything_sent
from tests.adapters.teams.teams_world import (
    CHANNEL,
    TeamsWorld,
    loopback_only,
    teams_settings,
)
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlackApi

ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"
DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
CODE = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    with loopback_only():
        yield


@pytest.fixture
async def worlds(
    sqlite_url: str, clock: ManualClock
) -> AsyncIterator[tuple[SlackWorld, TeamsWorld]]:
    async with FakeSlackApi() as api, FakeBotConnector() as connector:
        settings = teams_settings(
            sqlite_url,
            slack_signing_secret=SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=api.api_url,
        )
        async with open_runtime(settings, clock=clock) as runtime:
            app = build_app(runtime)
            async with TestClient(TestServer(app, host="127.0.0.1")) as http:
                yield (
                    SlackWorld(http=http, api=api, runtime=runtime),
                    TeamsWorld(runtime=runtime, client=http, connector=connector),
                )
        check_everything_sent(api)


def dispatcher(teams: TeamsWorld) -> Dispatcher:
    return Dispatcher(
        outbox=teams.runtime.repository,
        deadlines=teams.runtime.repository,
        gateways=teams.runtime.gateways,
        clock=teams.clock,
    )


def text_of(ack: dict[str, Any]) -> str:
    return str(ack.get("text", "")) + " ".join(
        str(block.get("text", {}).get("text", "")) for block in ack.get("blocks", ())
    )


def slack_posts(slack: SlackWorld) -> list[str]:
    return [
        str(call.params.get("text", ""))
        for call in slack.api.calls_to("chat.postMessage")
        if call.params.get("channel") == "C1"
    ]


def teams_posts(teams: TeamsWorld) -> list[str]:
    return [c.card_text for c in teams.connector.calls_to("send") if c.conversation_id == CHANNEL]


async def link(slack: SlackWorld, teams: TeamsWorld) -> str:
    """Link Slack's C1 and the Teams channel: a code in Slack, joined from Teams."""
    ack = await slack.command("/negotiation link")
    assert ack["response_type"] == "ephemeral"  # shown only to the one who asked
    [code] = {str(found) for found in CODE.findall(text_of(ack))}
    await teams.say("deadline list")  # Parley knows the Teams channel
    joined = await teams.say(f"negotiation join {code}")
    assert joined.status == 200
    assert "linked" in joined.text and "into this negotiation" in joined.text
    return code


async def test_linked_by_code_one_negotiation_across_slack_and_teams(
    worlds: tuple[SlackWorld, TeamsWorld],
) -> None:
    slack, teams = worlds
    await link(slack, teams)
    # The join is announced in Slack too, naming who did it.
    assert any("into this negotiation" in post for post in slack_posts(slack))

    # A deadline added in Slack is announced in Teams, natively (a card), and is D1 there.
    await slack.command(ADD)
    assert any("Signed usage agreement" in post for post in teams_posts(teams))
    shown = await teams.say("deadline show D1")
    assert "Signed usage agreement" in shown.text

    # A position recorded in Teams is in Slack's matrix.
    recorded = await teams.say("position D1 support License for all lawful use")
    assert recorded.status == 200
    matrix = await slack.command("/position list D1")
    assert "support" in text_of(matrix).lower()
    assert "License for all lawful use" in text_of(matrix)
    # Slack cannot resolve a Teams member: named in words, never a broken mention.
    assert "someone in a linked channel" in text_of(matrix) and "&lt;@" not in str(matrix)

    shown_here = await slack.command("/negotiation show")
    assert "Teams" in text_of(shown_here) and "D1 Signed usage agreement" in text_of(shown_here)


async def test_a_countdown_reaches_both_exactly_once_and_unlink_stops_it(
    worlds: tuple[SlackWorld, TeamsWorld],
) -> None:
    slack, teams = worlds
    await link(slack, teams)
    await slack.command(ADD)
    engine = dispatcher(teams)
    slack_before, teams_before = len(slack_posts(slack)), len(teams_posts(teams))

    teams.clock.set(DUE - timedelta(days=1))
    assert await engine.run_once() == 1
    assert await engine.run_once() == 0
    [in_slack] = slack_posts(slack)[slack_before:]
    [in_teams] = teams_posts(teams)[teams_before:]
    assert "1 day until D1 is due" in in_slack
    assert "1 day until D1 is due" in in_teams

    # Teams fails for a while: Slack is posted once, Teams gets it on the retry.
    teams.connector.fail("send", status=503)
    teams.clock.set(DUE - timedelta(hours=4))
    assert await engine.run_once() == 1
    assert sum("4 hours until D1" in p for p in slack_posts(slack)) == 1
    assert sum("4 hours until D1" in p for p in teams_posts(teams)) == 1  # the refused try
    slack_count, teams_count = len(slack_posts(slack)), len(teams_posts(teams))
    teams.clock.advance(timedelta(minutes=5))
    assert await engine.run_once() == 1
    [retried] = teams_posts(teams)[teams_count:]
    assert "catch-up: the 4 hours reminder" in retried
    assert len(slack_posts(slack)) == slack_count  # Slack had it: not posted again
    assert await engine.run_once() == 0

    unlinked = await teams.say("negotiation unlink")
    assert "unlinked" in unlinked.text
    assert any("unlinked" in post for post in slack_posts(slack))
    teams_before = len(teams_posts(teams))
    teams.clock.set(DUE - timedelta(hours=1))
    assert await engine.run_once() == 1
    assert any("1 hour until D1" in p for p in slack_posts(slack))
    assert len(teams_posts(teams)) == teams_before
    # And from Teams the negotiation's deadlines are out of reach again.
    assert "no deadline D1" in (await teams.say("deadline show D1")).text


async def test_a_code_works_once_and_expires(worlds: tuple[SlackWorld, TeamsWorld]) -> None:
    slack, teams = worlds
    code = await link(slack, teams)
    again = await slack.command(f"/negotiation join {code}", channel_id="C2")
    assert "unknown, already used or expired" in text_of(again)

    ack = await slack.command("/negotiation link", channel_id="C3")
    [late] = set(CODE.findall(text_of(ack)))
    teams.clock.advance(timedelta(minutes=15))
    expired = await slack.command(f"/negotiation join {late}", channel_id="C4")
    assert "unknown, already used or expired" in text_of(expired)
    alone = await slack.command("/negotiation show", channel_id="C4")
    assert "this one only" in text_of(alone)


async def test_a_teams_code_goes_to_the_personal_chat_and_slack_joins(
    worlds: tuple[SlackWorld, TeamsWorld],
) -> None:
    slack, teams = worlds
    posted = await teams.say("negotiation link")
    assert [c.kind for c in posted.calls] == ["create", "send", "reply"]
    private, in_channel = posted.calls[1], posted.calls[2]
    assert private.conversation_id.startswith("a:")
    [code] = {str(found) for found in CODE.findall(private.card_text)}
    assert code not in json.dumps(in_channel.body)  # never in the shared conversation

    await teams.say("party add Anthropic")
    joined = await slack.command(f"/negotiation join {code}", channel_id="C9")
    assert joined["response_type"] == "in_channel"
    assert "into this negotiation" in teams_posts(teams)[-1]
    listed = await slack.command("/party list", channel_id="C9")
    assert "Anthropic" in text_of(listed)
