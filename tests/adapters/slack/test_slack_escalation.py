"""Escalation through signed Slack slash commands and the fake Slack Web API: a ladder's
rungs reach only the silent (the DMs and the channel post the fake receives), and
``/position nudge`` messages the silent once an hour."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import ManualClock
from bot.scheduler import Dispatcher
from tests.adapters.slack.blockkit import check_message, texts
from tests.adapters.slack.slack_world import SlackWorld

DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # Friday 17:00 in New York
ADD = "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00 remind 1h"


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


async def test_rungs_reach_only_the_silent_through_the_web_api(
    slack: SlackWorld, clock: ManualClock
) -> None:
    await slack.command("/party add Anthropic <@U4|dana>")
    await slack.command(ADD)
    await slack.command("/position ask D1 <@U2|bob> <@U3|carol>")
    await slack.api.wait_for("chat.postMessage", count=2)  # the asks
    ack = await slack.command("/deadline escalate D1 2h:dm,1h:channel")
    assert ack["response_type"] == "in_channel"
    assert "<@U1> set escalation for D1 Signed usage agreement to 2h:dm,1h:channel" in shown(ack)
    await slack.command("/position D1 support", user_id="U2")
    repository = slack.runtime.repository
    engine = Dispatcher(
        outbox=repository,
        deadlines=repository,
        gateways=slack.runtime.gateways,
        clock=clock,
        pacing={"slack": 0.0},
        rng=random.Random(1),
        escalations=repository,
    )
    before = len(slack.api.calls_to("chat.postMessage"))
    clock.set(DUE - timedelta(hours=2))
    assert await engine.run_once() == 1
    dms = slack.api.calls_to("chat.postMessage")[before:]
    assert sorted(c.params["channel"] for c in dms) == ["U3", "U4"]  # not Bob: he answered
    for dm in dms:
        check_message(dm.params)
    to = {c.params["channel"]: shown(c.params) for c in dms}
    assert "your position on D1 Signed usage agreement is still missing" in to["U3"]
    assert "Anthropic's position (you represent it) on D1" in to["U4"]

    await slack.command("/position D1 oppose as Anthropic red lines", user_id="U4")
    before = len(slack.api.calls_to("chat.postMessage"))
    clock.set(DUE - timedelta(hours=1))
    assert await engine.run_once() == 1
    [post] = slack.api.calls_to("chat.postMessage")[before:]
    assert post.params["channel"] == "C1"
    check_message(post.params)
    assert "1 hour until D1 is due" in shown(post.params)
    assert "Still silent: <@U3>" in shown(post.params)
    assert "U4" not in shown(post.params).split("Still silent")[1]


async def test_nudge_by_slash_command_once_an_hour(slack: SlackWorld, clock: ManualClock) -> None:
    await slack.command(ADD)
    await slack.command("/position ask D1 <@U2|bob>")
    await slack.api.wait_for("chat.postMessage")
    before = len(slack.api.calls_to("chat.postMessage"))
    ack = await slack.command("/position nudge D1", user_id="U5")
    assert ack["response_type"] == "ephemeral"
    assert "Nudged <@U2> by direct message about D1 Signed usage agreement." in shown(ack)
    asked, dm = await slack.api.wait_for(
        "chat.postMessage", count=before + 1, where=lambda c: c.params.get("channel") == "U2"
    )
    assert "asks for your position" in shown(asked.params)
    assert "your position on D1 Signed usage agreement is still missing" in shown(dm.params)
    clock.advance(timedelta(minutes=45))
    refused = await slack.command("/position nudge D1")
    assert "D1 was nudged 45 minutes ago" in shown(refused)
    assert "You can nudge it again in 15 minutes" in shown(refused)
    to_bob = [c for c in slack.api.calls_to("chat.postMessage") if c.params["channel"] == "U2"]
    assert len(to_bob) == 2  # the ask and the one nudge
