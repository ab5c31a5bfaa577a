"""The Teams personal home: in the 1:1 chat with Parley, ``home`` and ``deadline list``
show what the person owns and what is asked of them across the tenant's conversations,
with the stance buttons; ``position <ref>`` works by reference from there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.adapters.teams.teams_world import (
    ALEX_TEAMS_ID,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    PERSONAL,
    WORKSPACE,
    Posted,
    TeamsWorld,
    mention,
)
from tests.adapters.teams.test_teams_channels import OTHER, elsewhere, in_personal_chat
from tests.builders import snapshot

AT_DANA = mention(DANA_TEAMS_ID, "Dana Okafor", DANA)
DANA_ACCOUNT = {"id": DANA_TEAMS_ID, "name": "Dana Okafor", "aadObjectId": DANA}


def stance_buttons(posted: Posted) -> list[str]:
    """The ``value`` of every stance button on the cards of ``posted``."""
    return [
        action["data"]["value"]
        for call in posted.calls
        for card in call.cards
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action.get("data", {}).get("parley_action") == "parley_stance"
    ]


async def dana_says(teams: TeamsWorld, text: str, **more: Any) -> Posted:
    activity = teams.activity(
        "channel_message", text=f"<at>Parley</at> {text}\n", **{"from": DANA_ACCOUNT}
    )
    activity["entities"] = [*activity["entities"], *more.get("mentions", ())]
    return await teams.post(activity)


async def negotiations(teams: TeamsWorld) -> dict[str, int]:
    """In the channel: D1 asks Dana, D2 expects Anthropic (Dana is its rep), D3 is
    Dana's own (and expects no party); D4 involves her in nothing. In another channel:
    D1, nothing to do with her. Returns the deadline ids by title."""
    await teams.say("deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    await teams.say("position ask D1 <at>Dana Okafor</at>", mentions=[AT_DANA])
    teams.clock.advance(timedelta(minutes=1))  # Anthropic is declared after D1, before D2
    await teams.say("party add Anthropic <at>Dana Okafor</at>", mentions=[AT_DANA])
    await teams.say("deadline add Term sheet due 2026-11-28T17:00-05:00")
    await dana_says(teams, "deadline add Board vote due 2026-11-29T12:00-05:00")
    await dana_says(teams, "deadline expect D3 none")
    await teams.say("deadline add Press release due 2026-11-30T12:00-05:00")
    await teams.say("deadline expect D4 none")
    await teams.post(
        elsewhere(
            teams,
            "channel_message",
            who="alex",
            text="<at>Parley</at> deadline add Office move due 2026-12-01T12:00-05:00",
        )
    )
    deadlines = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    return {d.title: d.id for d in deadlines}


async def test_home_in_the_personal_chat_lists_what_is_owed(teams: TeamsWorld) -> None:
    ids = await negotiations(teams)
    for line in ("home", "deadline list"):
        posted = await teams.say(line, personal=True)
        [reply] = posted.messages
        assert reply.conversation_id == PERSONAL
        text = posted.text
        assert "Your open deadlines (1)" in text and "D3** Board vote" in text
        assert "Your position is asked on (2)" in text
        assert "D1** Signed usage agreement" in text and "D2** Term sheet" in text
        assert "Press release" not in text and "Office move" not in text
        assert stance_buttons(posted) == [
            f"{ids[title]}|{stance}"
            for title in ("Signed usage agreement", "Term sheet")
            for stance in ("support", "oppose", "conditional", "undecided")
        ]


async def test_positions_by_reference_and_by_button_from_the_home(teams: TeamsWorld) -> None:
    ids = await negotiations(teams)
    # By reference: D2 reaches Dana as Anthropic's rep; the channel hears it.
    typed = await teams.say("position D2 oppose as Anthropic red lines", personal=True)
    assert [(c.kind, c.conversation_id) for c in typed.calls] == [
        ("send", CHANNEL),
        ("reply", PERSONAL),
    ]
    assert "Anthropic opposes D2" in typed.calls[0].card_text
    # By button: the home's "support" on D1 (she was asked).
    clicked = await teams.post(
        in_personal_chat(
            teams,
            "card_submit",
            value={
                "parley_action": "parley_stance",
                "value": f"{ids['Signed usage agreement']}|support",
            },
        )
    )
    assert "@Dana Okafor supports D1" in clicked.calls[0].card_text
    assert clicked.calls[0].conversation_id == CHANNEL
    home = await teams.say("home", personal=True)
    assert "Your position is asked on (0)" in home.text
    assert stance_buttons(home) == []


async def test_a_reps_button_reaches_the_deadline_its_party_owes(teams: TeamsWorld) -> None:
    ids = await negotiations(teams)
    clicked = await teams.post(
        in_personal_chat(
            teams,
            "card_submit",
            value={"parley_action": "parley_stance", "value": f"{ids['Term sheet']}|undecided"},
        )
    )
    assert "@Dana Okafor is undecided on D2" in clicked.calls[0].card_text


async def test_what_the_home_does_not_show_stays_out_of_reach(teams: TeamsWorld) -> None:
    ids = await negotiations(teams)
    before = await snapshot(teams.runtime.repository)
    for line in ("position D4 support", 'position "Office move" support', "deadline show D4"):
        refused = await teams.say(line, personal=True)
        assert "here or among the deadlines you own or were asked about" in refused.text, line
    clicked = await teams.post(
        in_personal_chat(
            teams,
            "card_submit",
            value={"parley_action": "parley_stance", "value": f"{ids['Press release']}|support"},
        )
    )
    assert "That deadline no longer exists." in clicked.text  # as for a deleted one
    # A stranger's home is empty, and reaches none of them.
    stranger = await teams.post(
        in_personal_chat(teams, "personal_message", who="mallory", text="home")
    )
    assert "Your open deadlines (0)" in stranger.text
    assert "Your position is asked on (0)" in stranger.text
    assert await snapshot(teams.runtime.repository) == before


async def test_home_typed_in_a_channel_goes_to_the_personal_chat(teams: TeamsWorld) -> None:
    await negotiations(teams)
    posted = await teams.say("home")
    assert [c.kind for c in posted.calls] == ["create", "send", "reply"]
    private = posted.calls[1]
    assert private.conversation_id == f"a:{ALEX_TEAMS_ID}"
    assert "Your open deadlines (4)" in private.card_text  # D1, D2, D4 here, and Office move
    assert "Office move" in private.card_text
    assert posted.calls[2].conversation_id.startswith(CHANNEL)
    assert "Signed usage agreement" not in posted.calls[2].card_text
    assert OTHER not in private.card_text
