"""Vague-time choices in Teams: sent to the person's 1:1 chat as Action.Submit buttons,
which run the chosen command once, in the channel where it was typed."""

from __future__ import annotations

import json
from typing import Any

from tests.adapters.teams.teams_world import (
    ALEX_TEAMS_ID,
    CHANNEL,
    WORKSPACE,
    Posted,
    TeamsWorld,
)

ALEX_CHAT = f"a:{ALEX_TEAMS_ID}"  # the 1:1 chat the fake connector opens for Alex


def submit_data(card: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (action["title"], action["data"])
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.Submit"
    ]


async def click_in_personal_chat(teams: TeamsWorld, data: dict[str, Any]) -> Posted:
    """Alex clicks a button of a card in their 1:1 chat with Parley."""
    activity = teams.activity("card_submit", value=data, replyToId="1764176400998")
    activity["conversation"] = {
        "conversationType": "personal",
        "tenantId": activity["conversation"]["tenantId"],
        "id": ALEX_CHAT,
    }
    activity["channelData"] = {"tenant": activity["channelData"]["tenant"]}
    return await teams.post(activity)


async def test_a_vague_time_sends_its_choices_to_the_1_1_chat_and_the_chosen_one_runs_once(
    teams: TeamsWorld,
) -> None:
    posted = await teams.say("deadline add Board vote due Friday evening America/New_York")
    assert [c.kind for c in posted.calls] == ["create", "send", "reply"]
    private, in_channel = posted.calls[1], posted.calls[2]
    assert private.conversation_id == ALEX_CHAT
    assert "Did you mean Fri 27 Nov 2026 18:00 EST (America/New_York)?" in private.card_text
    assert in_channel.card_text.strip().endswith("I sent you the choices in our personal chat.")
    assert "Did you mean" not in in_channel.card_text
    choices = submit_data(private.cards[0])
    assert [title for title, _ in choices] == [
        "Fri 27 Nov 17:00",
        "Fri 27 Nov 18:00",
        "Fri 27 Nov 21:00",
        "Fri 27 Nov 23:59",
    ]
    assert all(data["parley_action"] == "parley_choose_time" for _, data in choices)
    assert await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE) == []

    clicked = await click_in_personal_chat(teams, choices[1][1])
    assert clicked.status == 200
    announced = [c for c in clicked.messages if c.conversation_id.startswith(CHANNEL)]
    assert len(announced) == 1, [c.conversation_id for c in clicked.messages]
    assert "New deadline set by @Alex Rivera" in announced[0].card_text
    assert "{{DATE(2026-11-27T23:00:00Z, SHORT)}}" in announced[0].card_text
    [deadline] = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert (deadline.channel_id, deadline.tz) == (CHANNEL, "America/New_York")

    again = await click_in_personal_chat(teams, choices[2][1])
    assert "One of these choices has already been used." in again.text
    assert not [c for c in again.messages if c.conversation_id.startswith(CHANNEL)]
    assert len(await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)) == 1


async def test_a_choice_whose_data_was_altered_is_refused_in_one_line(teams: TeamsWorld) -> None:
    posted = await teams.say("deadline add Board vote due Friday evening America/New_York")
    _, data = submit_data(posted.calls[1].cards[0])[0]
    value = json.loads(data["value"])
    for field, changed in (("c", "19:another@thread.tacv2"), ("x", value["x"] + 3600)):
        forged = {**data, "value": json.dumps({**value, field: changed})}
        clicked = await click_in_personal_chat(teams, forged)
        assert clicked.status == 200
        assert "That button's value was changed after Parley made it" in clicked.text
    assert await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE) == []


async def test_without_a_1_1_chat_the_choices_are_a_reply_addressed_to_their_person(
    teams: TeamsWorld,
) -> None:
    teams.connector.fail("create", status=403, code="BotNotInConversationRoster")
    posted = await teams.say("deadline add Board vote due Friday evening America/New_York")
    assert [c.kind for c in posted.calls] == ["create", "reply"]
    [reply] = posted.messages
    assert reply.conversation_id.startswith(CHANNEL)
    assert reply.body["text"] == "<at>Alex Rivera</at>"
    assert "Did you mean Fri 27 Nov 2026 18:00 EST" in reply.card_text
    clicked = await teams.click(submit_data(reply.cards[0])[0][1])
    assert "New deadline set by @Alex Rivera" in clicked.text
