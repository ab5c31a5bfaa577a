"""Sealed positions in Teams: a typed one in a channel is refused with a pointer to the
form, the form's card becomes the commitment notice, and the receipt goes to the
person's 1:1 chat; the terms reach no channel before the reveal."""

from __future__ import annotations

import json

from tests.adapters.teams.teams_world import ALEX_TEAMS_ID, WORKSPACE, TeamsWorld

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York sealed silence support"
RED_LINE = "No mass surveillance of Americans"


async def test_a_sealed_position_in_teams(teams: TeamsWorld) -> None:
    added = await teams.say(ADD)
    assert "Positions sealed until the deadline" in added.text
    assert "If silent: support" in added.text
    refused = await teams.say(f"position D1 oppose {RED_LINE}")
    assert "Use the form" in refused.text and "position D1" in refused.text
    assert not await teams.runtime.repository.list_positions(workspace_id=WORKSPACE, deadline_id=1)
    [form] = (await teams.say("position D1")).messages
    assert "Record a position on D1" in form.card_text
    submitted = await teams.click(
        {"parley_form": "parley_position", "value": "1", "stance": "oppose", "terms": RED_LINE},
        reply_to="1000000000042",
    )
    kinds = [c.kind for c in submitted.calls]
    assert kinds.count("update") == 1 and "create" in kinds
    [update] = [c for c in submitted.calls if c.kind == "update"]
    assert "has recorded a sealed position (commitment" in update.card_text
    assert RED_LINE not in json.dumps(update.body)
    [private] = [c for c in submitted.calls if c.kind == "send"]
    assert private.conversation_id == f"a:{ALEX_TEAMS_ID}"
    assert RED_LINE in private.card_text and "salt" in private.card_text
    for line in ("position list D1", "deadline show D1", "position verify D1", "position D1"):
        assert RED_LINE not in (await teams.say(line)).text, line
    channel_calls = [
        c for c in teams.connector.calls if c.conversation_id != private.conversation_id
    ]
    assert RED_LINE not in json.dumps([c.body for c in channel_calls])
    done = await teams.say("deadline done D1 because signed")
    assert RED_LINE in done.text and "Outcome: met because signed" in done.text
    assert "checks" in (await teams.say("position verify D1")).text


async def test_seal_and_silence_lines_in_teams(teams: TeamsWorld) -> None:
    await teams.say("deadline add Side letter due Friday 17:00 America/New_York")
    sealed = await teams.say("deadline seal D1")
    assert "sealed positions on D1" in sealed.text
    ruled = await teams.say("deadline silence D1 extend 2h")
    assert "extended once by 2h" in ruled.text
    shown = await teams.say("deadline show D1")
    assert "sealed until the deadline" in shown.text and "extend 2h" in shown.text
    refused = await teams.say("deadline silence D1 maybe")
    assert "couldn't find a silence rule" in refused.text
