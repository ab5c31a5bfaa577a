"""Quiet cards in Slack: stance buttons only where one person can still decide; shared
cards carry one primary action and a "More" overflow; nothing to press once closed."""

from __future__ import annotations

from typing import Any

from bot.domain import Stance
from tests.adapters.slack.slack_world import SlackWorld

ISO_DUE = "2026-11-27T17:00-05:00"
STANCES = ["Support", "Oppose", "Conditional", "Undecided"]
EVERY_STANCE = [*STANCES, "Add terms"]


def controls(payload: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The button labels of a message, and the options of its "More" menus."""
    buttons: list[str] = []
    menu: list[str] = []
    for block in payload.get("blocks") or ():
        for element in block.get("elements") or () if block["type"] == "actions" else ():
            if element["type"] == "button":
                buttons.append(element["text"]["text"])
            elif element["type"] == "overflow":
                menu += [option["text"]["text"] for option in element["options"]]
    return buttons, menu


async def test_buttons_per_message_kind(slack: SlackWorld) -> None:
    added = await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    assert added["response_type"] == "in_channel"
    assert controls(added) == (["Give your position"], [*STANCES, "Add to calendar"])
    extended = await slack.command("/deadline extend D1 to 2026-11-30T09:00-05:00")
    assert controls(extended) == (["Give your position"], [*STANCES, "Add to calendar"])

    # Shown to one person who can still answer: the stances themselves.
    assert controls(await slack.command("/position list D1")) == (EVERY_STANCE, [])
    # The Brief button (a new private link) sits with them on show.
    assert controls(await slack.command("/deadline show D1")) == ([*EVERY_STANCE, "Brief"], [])
    await slack.command("/position ask D1 <@U2|dana>")
    [dm] = await slack.api.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "U2")
    assert controls(dm.params) == (EVERY_STANCE, [])

    # Closed: nothing to press, and no invitation to record a position.
    done = await slack.command("/deadline done D1")
    assert controls(done) == ([], [])
    matrix = await slack.command("/position list D1")
    assert controls(matrix) == ([], [])
    assert "No positions yet" not in str(matrix)
    assert controls(await slack.command("/deadline show D1")) == ([], [])


async def test_a_stance_chosen_in_the_more_menu_is_recorded(slack: SlackWorld) -> None:
    added = await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    [menu] = [
        element
        for block in added["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "overflow"
    ]
    oppose = menu["options"][1]
    payload = {
        "type": "block_actions",
        "user": {"id": "U2", "username": "dana", "team_id": "T1"},
        "api_app_id": "A1",
        "team": {"id": "T1", "domain": "acme"},
        "trigger_id": "trigger-more",
        "container": {"type": "message", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "negotiations"},
        "response_url": slack.next_response_url(),
        "actions": [
            {
                "action_id": menu["action_id"],
                "type": "overflow",
                "block_id": "b",
                "selected_option": oppose,
            }
        ],
    }
    assert (await slack.interact(payload)).status == 200
    await slack.adapter.tasks.drain(5)
    [position] = await slack.runtime.repository.list_positions(
        workspace_id="slack:T1", deadline_id=1
    )
    assert (position.stakeholder, position.stance) == ("U2", Stance.OPPOSE)


async def test_a_malformed_more_choice_is_refused(slack: SlackWorld) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U2", "team_id": "T1"},
        "team": {"id": "T1"},
        "actions": [{"action_id": "parley_more#3", "type": "overflow", "selected_option": "x"}],
    }
    response = await slack.interact(payload)
    assert response.status == 400
