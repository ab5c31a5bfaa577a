"""After `parley export` and `parley import`, Teams alerts still reach their
conversations: the export carries the conversation references (and feed tokens,
so subscribed calendars keep working), while Slack bot tokens stay behind."""

from __future__ import annotations

import re
from pathlib import Path

from bot.clock import ManualClock
from bot.messages import Audience, Message, Text
from storage.transfer import slack_workspaces
from tests.adapters.teams.teams_world import (
    CHANNEL,
    WORKSPACE,
    TeamsWorld,
    open_world,
    teams_settings,
)
from tests.fakes.bot_connector import FakeBotConnector

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"


async def test_teams_alerts_and_feeds_survive_an_export_and_import(
    teams: TeamsWorld, tmp_path: Path, clock: ManualClock, connector: FakeBotConnector
) -> None:
    await teams.say(ADD)
    feed = await teams.say("deadline feed", personal=True)
    [path] = set(re.findall(r"/calendar/[A-Za-z0-9_-]+\.ics", feed.text))
    dump = await teams.runtime.repository.export_all()
    assert [row["conversation_id"] for row in dump["conversation_references"]]
    assert len(dump["feed_tokens"]) == 1
    assert slack_workspaces(dump) == []

    moved = teams_settings(f"sqlite+aiosqlite:///{tmp_path / 'moved.db'}")
    async with open_world(moved, clock, connector) as world:
        await world.runtime.repository.import_all(dump)
        assert await world.runtime.repository.export_all() == dump
        before = len(connector.calls)
        gateway = world.runtime.gateways["teams"]
        alert = Message(
            fallback="1 hour left", blocks=(Text("1 hour left"),), audience=Audience.CHANNEL
        )
        await gateway.send(workspace_id=WORKSPACE, channel_id=CHANNEL, message=alert)
        [sent] = connector.calls[before:]
        assert "1 hour left" in sent.card_text
        assert (await world.client.get(path)).status == 200


def test_the_slack_workspaces_of_an_export_are_named() -> None:
    dump = {
        "deadlines": [{"workspace_id": "slack:T2"}, {"workspace_id": "teams:x"}],
        "counters": [{"workspace_id": "slack:T1"}],
    }
    assert slack_workspaces(dump) == ["T1", "T2"]
