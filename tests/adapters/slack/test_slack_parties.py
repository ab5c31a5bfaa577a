"""Parties through signed Slack slash commands: a party's reps alone record its
position; anyone else is told who can, and nothing is recorded."""

from __future__ import annotations

from tests.adapters.slack.blockkit import texts
from tests.adapters.slack.slack_world import SlackWorld


async def test_a_non_rep_is_refused_and_told_who_can(slack: SlackWorld) -> None:
    await slack.command("/party add Anthropic <@U2|dana>")
    await slack.command("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    ack = await slack.command("/position D1 oppose as anthropic red lines")
    shown = texts(ack.get("blocks", [])) or ack.get("text", "")
    assert "Only Anthropic's reps (<@U2>) can record its position on D1" in shown
    assert ack["response_type"] == "ephemeral"
    matrix = await slack.command("/position list D1")
    assert "Silent: Anthropic" in (texts(matrix.get("blocks", [])) or matrix.get("text", ""))


async def test_a_rep_finds_what_their_silent_party_owes_in_the_app_home(
    slack: SlackWorld,
) -> None:
    await slack.command("/party add Anthropic <@U2|dana>")
    await slack.command("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    event = {"type": "app_home_opened", "user": "U2", "channel": "DU2", "tab": "home"}
    await slack.event(event, event_id="Ev1")
    [published] = await slack.api.wait_for("views.publish")
    home = texts(published.params["view"]["blocks"])
    assert "Your position is asked on (1)" in home and "*D1* Signed usage agreement" in home
    # From the DM, the rep answers for the party by reference; the silence ends.
    await slack.command(
        "/position D1 oppose as Anthropic red lines", user_id="U2", channel_id="DU2"
    )
    await slack.api.wait_for(
        "chat.postMessage", where=lambda c: "Anthropic opposes D1" in c.params["text"]
    )
    listed = await slack.command("/deadline list", user_id="U2", channel_id="DU2")
    assert "Your position is asked on (0)" in texts(listed.get("blocks", []))
