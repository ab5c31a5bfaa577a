"""Sealed positions, the silence rule and the outcome through signed Slack slash
commands: the receipt only to its author, the channel only a commitment, and the
terms nowhere else before the reveal."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.adapters.slack.blockkit import texts
from tests.adapters.slack.slack_world import SlackWorld, check_everything_sent
from tests.fakes.slack_api import RESPONSE_URL

ADD = "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00 sealed silence oppose"
RED_LINE = "Human judgment in every final targeting decision"


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


async def test_a_sealed_position_in_slack(slack: SlackWorld) -> None:
    await slack.command("/party add Anthropic <@U2|dana>")
    card = shown(await slack.command(ADD))
    assert "Positions sealed until the deadline" in card and "If silent: oppose" in card
    ack = await slack.command(f"/position D1 oppose as Anthropic {RED_LINE}", user_id="U2")
    # The channel hears only the commitment; the receipt answers the author alone.
    assert ack["response_type"] == "in_channel" and RED_LINE not in shown(ack)
    [private] = await slack.api.wait_for(
        RESPONSE_URL, where=lambda c: c.key == slack.response_key()
    )
    assert private.params["response_type"] == "ephemeral"
    receipt = shown(private.params)
    fields = dict(re.findall(r"(label|stance|terms|salt|commitment): `([^`]*)`", receipt))
    assert fields["label"] == "Anthropic" and fields["terms"] == RED_LINE
    posted = json.dumps([call.params for call in slack.api.calls if call is not private] + [ack])
    assert f"Anthropic has recorded a sealed position (commitment `{fields['commitment'][:8]}" in (
        posted
    )
    for line in ("/position list D1", "/deadline show D1", "/party list", "/position verify D1"):
        for user in ("U1", "U2", "U3"):
            assert RED_LINE not in shown(await slack.command(line, user_id=user)), line
    assert RED_LINE not in json.dumps(
        [call.params for call in slack.api.calls if call is not private] + slack.acks
    )
    assert fields["commitment"] in shown(await slack.command("/position verify D1"))
    check_everything_sent(slack.api)


async def test_owner_lines_and_the_outcome_in_slack(slack: SlackWorld) -> None:
    await slack.command("/deadline add Side letter due 2026-11-27T17:00-05:00")
    refused = shown(await slack.command("/deadline seal D1", user_id="U9"))
    assert "Only <@U1> (owner) can seal D1" in refused
    assert "sealed positions on D1" in shown(await slack.command("/deadline seal D1"))
    said = shown(await slack.command("/deadline silence D1 extend 1d"))
    assert "extended once by 1d" in said
    await slack.command(f"/position D1 support {RED_LINE}", user_id="U3")
    done = await slack.command("/deadline done D1 because signed")
    await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == slack.response_key())
    posted = json.dumps([call.params for call in slack.api.calls] + [done])
    assert "Outcome: met because signed" in posted and RED_LINE in posted
    assert "✅ checks" in shown(await slack.command("/position verify D1"))
