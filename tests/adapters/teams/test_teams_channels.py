"""A deadline belongs to its Teams conversation: from another conversation of the tenant,
or a stranger's personal chat, every command, card button, form and time choice answers as
for a deadline that does not exist, changes nothing and posts nothing to the deadline's
channel; the people asked answer from their personal chat and the channel hears it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.adapters.teams.teams_world import (
    ALEX,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    PERSONAL,
    WORKSPACE,
    TeamsWorld,
    mention,
)
from tests.adapters.teams.test_teams_time import submit_data
from tests.builders import snapshot as snapshot_of

OTHER = "19:elsewhere9f8e7d6c@thread.tacv2"
MALLORY_ID, MALLORY = "29:1mallory", "3c3c3c3c-4d4d-4e4e-8f8f-9a9a9a9a9a9a"
RED_LINES = "No mass surveillance of Americans"
ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"
COMMANDS = [
    "deadline show {ref}",
    "deadline extend {ref} to Monday 09:00",
    "deadline extend {ref} to Friday evening",
    "deadline move {ref} to Thursday 12:00",
    "deadline done {ref}",
    "deadline cancel {ref}",
    "deadline remind {ref} 1h",
    "deadline owners {ref}",
    "deadline owners {ref} <at>Mallory</at>",
    "position {ref} support",
    "position {ref} oppose as Anthropic all lawful use",
    "position {ref}",
    "position list {ref}",
    "position ask {ref} <at>Mallory</at>",
]
PEOPLE = [mention(MALLORY_ID, "Mallory", MALLORY)]


def elsewhere(world: TeamsWorld, name: str, *, who: str, **changes: Any) -> dict[str, Any]:
    """A captured activity, moved to another channel of the tenant, from Mallory or Alex."""
    activity = world.activity(name, **changes)
    activity["conversation"] = {**activity["conversation"], "id": f"{OTHER};messageid=1"}
    activity["channelData"] = copy.deepcopy(activity["channelData"]) | {"channel": {"id": OTHER}}
    if who == "mallory":
        activity["from"] = {"id": MALLORY_ID, "name": "Mallory", "aadObjectId": MALLORY}
    return activity


def in_personal_chat(
    world: TeamsWorld, name: str, *, who: str = "dana", **changes: Any
) -> dict[str, Any]:
    """A captured activity from Dana's (or Mallory's) personal chat with Parley."""
    personal = world.activity("personal_message")
    activity = world.activity(name, **changes)
    for key in ("conversation", "from", "channelData"):
        activity[key] = copy.deepcopy(personal[key])
    if who == "mallory":
        activity["from"] = {"id": MALLORY_ID, "name": "Mallory", "aadObjectId": MALLORY}
        activity["conversation"]["id"] = "a:1MalloryPersonal"
    return activity


async def snapshot(world: TeamsWorld) -> dict[str, Any]:
    return await snapshot_of(world.runtime.repository)


def to_the_channel(world: TeamsWorld) -> list[str]:
    """Every activity Parley sent into the deadline's channel (or a thread of it)."""
    return [c.card_text for c in world.connector.calls if c.conversation_id.startswith(CHANNEL)]


async def negotiation(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    await teams.say(f"position D1 oppose as Anthropic {RED_LINES}")
    await teams.say(
        "position ask D1 <at>Dana Okafor</at>",
        mentions=[mention(DANA_TEAMS_ID, "Dana Okafor", DANA)],
    )


@pytest.mark.parametrize("line", COMMANDS)
async def test_every_command_from_another_conversation_reaches_nothing(
    teams: TeamsWorld, line: str
) -> None:
    await negotiation(teams)
    before, channel = await snapshot(teams), to_the_channel(teams)
    for who in ("mallory", "alex"):
        for ref, nowhere in (("D1", "D7"), ('"Signed usage"', '"Zebra crossing"')):
            answers = []
            for typed in (ref, nowhere):
                text = f"<at>Parley</at> {line.format(ref=typed)}"
                activity = elsewhere(teams, "channel_message", who=who, text=text)
                activity["entities"] = [*activity["entities"], *PEOPLE]
                posted = await teams.post(activity)
                assert posted.status == 200
                assert [(c.kind, c.conversation_id) for c in posted.calls] == [
                    ("reply", f"{OTHER};messageid=1")
                ]
                answers.append(posted.text)
            assert "agreement" not in answers[0] and RED_LINES not in answers[0]
            assert answers[0] == answers[1].replace(nowhere.strip('"'), ref.strip('"'))
    assert to_the_channel(teams) == channel
    assert await snapshot(teams) == before


CLICKS = [
    {"parley_action": "parley_stance", "value": "1|support"},
    {"parley_action": "parley_position_form", "value": "1"},
    {
        "parley_form": "parley_position",
        "value": "1",
        "stance": "support",
        "party": "Anthropic",
        "terms": "all lawful use",
    },
]


@pytest.mark.parametrize("data", CLICKS)
@pytest.mark.parametrize("where", ["another channel", "a stranger's personal chat"])
async def test_card_buttons_and_forms_from_elsewhere_reach_nothing(
    teams: TeamsWorld, data: dict[str, Any], where: str
) -> None:
    await negotiation(teams)
    before, channel = await snapshot(teams), to_the_channel(teams)
    if where == "another channel":
        submitted = elsewhere(teams, "card_submit", who="mallory", value=data)
        invoked = elsewhere(teams, "card_invoke", who="mallory")
    else:
        submitted = in_personal_chat(teams, "card_submit", who="mallory", value=data)
        invoked = in_personal_chat(teams, "card_invoke", who="mallory")
    invoked["value"] = {"action": {"type": "Action.Execute", "data": data}}
    message = await teams.post(submitted)
    assert message.status == 200
    assert "That deadline no longer exists." in message.text
    answered = await teams.post(invoked)
    assert answered.status == 200
    # A press is answered by a reply, a form by the card the invoke returns.
    assert "That deadline no longer exists." in answered.text + str(answered.body)
    assert to_the_channel(teams) == channel
    assert await snapshot(teams) == before


async def test_a_time_choice_cannot_be_redirected_to_another_conversation(
    teams: TeamsWorld,
) -> None:
    await negotiation(teams)
    posted = await teams.say("deadline extend D1 to Friday evening")
    [card] = [c.cards[0] for c in posted.calls if c.cards and submit_data(c.cards[0])]
    [(_, data), *_] = submit_data(card)
    before = await snapshot(teams)
    value = json.loads(data["value"])
    for who in ("alex", "mallory"):
        # Teams clients build a submit's data themselves: one naming another conversation
        # (signed for the one it was typed in) runs nowhere.
        forged = {**data, "value": json.dumps(value | {"c": OTHER, "u": ALEX})}
        clicked = await teams.post(elsewhere(teams, "card_submit", who=who, value=forged))
        assert "That button's value was changed after Parley made it" in clicked.text
    mallorys = await teams.post(elsewhere(teams, "card_submit", who="mallory", value=data))
    assert "These choices were offered to @Alex Rivera" in mallorys.text
    assert await snapshot(teams) == before


async def test_the_asked_answer_from_their_personal_chat_and_the_channel_hears_it(
    teams: TeamsWorld,
) -> None:
    await negotiation(teams)
    clicked = await teams.post(
        in_personal_chat(
            teams, "card_submit", value={"parley_action": "parley_stance", "value": "1|support"}
        )
    )
    kinds = [(c.kind, c.conversation_id) for c in clicked.calls]
    # Posted in the deadline's channel (its stored reference), and shown to Dana where she is.
    assert kinds == [("send", CHANNEL), ("reply", PERSONAL)]
    assert "@Dana Okafor supports D1" in clicked.calls[0].card_text
    # A typed change in her personal chat reaches what she was asked about, announced alike.
    typed = await teams.say("position D1 conditional with an audit clause", personal=True)
    assert [(c.kind, c.conversation_id) for c in typed.calls] == [
        ("send", CHANNEL),
        ("reply", PERSONAL),
    ]
    listed = await teams.say("position list D1", personal=True)
    assert RED_LINES in listed.text and "with an audit clause" in listed.text
    # The owner stays the only one who may change the deadline itself.
    refused = await teams.say("deadline cancel D1", personal=True)
    assert "Only @Alex Rivera (owner) can cancel D1." in refused.text
    [deadline] = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert deadline.status.value == "open" and deadline.owner_id == ALEX


async def test_only_people_teams_linked_are_asked(teams: TeamsWorld) -> None:
    await negotiation(teams)
    before = await snapshot(teams)
    for text, entities in (
        ("@general", []),
        ("&lt;@C0SECRET&gt;", []),
        ("<at>General</at>", [mention("19:general@thread.tacv2", "General")]),
    ):
        posted = await teams.say(f"position ask D1 {text}", mentions=entities)
        # A channel mention is looked up (Teams gives no AAD id for it), then refused.
        assert [c.kind for c in posted.calls if c.kind != "member"] == ["reply"]
        assert "Nothing was done" in posted.text
    assert await snapshot(teams) == before


async def test_a_card_with_an_impossible_id_is_out_of_date(teams: TeamsWorld) -> None:
    await negotiation(teams)
    before = await snapshot(teams)
    for value in ("99999999999999999999999|support", "-1|support"):
        clicked = await teams.click({"parley_action": "parley_stance", "value": value})
        assert clicked.status == 200 and "That button is out of date." in clicked.text
    submitted = await teams.click(
        {"parley_form": "parley_position", "value": "99999999999999999999999", "stance": "no"}
    )
    assert submitted.status == 200 and "out of date" in submitted.text
    assert await snapshot(teams) == before
