"""Vague-time choices in Teams: Action.Submit buttons that run the chosen command once."""

from __future__ import annotations

from typing import Any

from tests.adapters.teams.teams_world import WORKSPACE, TeamsWorld


def submit_data(card: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (action["title"], action["data"])
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.Submit"
    ]


async def test_a_vague_time_offers_buttons_and_the_chosen_one_runs_once(teams: TeamsWorld) -> None:
    posted = await teams.say("deadline add Board vote due Friday evening America/New_York")
    [reply] = posted.messages
    assert "Did you mean Fri 27 Nov 2026 18:00 EST (America/New_York)?" in reply.card_text
    choices = submit_data(reply.card)
    assert [title for title, _ in choices] == [
        "Fri 27 Nov 17:00",
        "Fri 27 Nov 18:00",
        "Fri 27 Nov 21:00",
        "Fri 27 Nov 23:59",
    ]
    assert all(data["parley_action"] == "parley_choose_time" for _, data in choices)
    assert await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE) == []

    clicked = await teams.click(choices[1][1])
    assert clicked.status == 200
    assert "New deadline set by @Alex Rivera" in clicked.text
    assert "{{DATE(2026-11-27T23:00:00Z, SHORT)}}" in clicked.text
    again = await teams.click(choices[2][1])
    assert "One of these choices has already been used." in again.text
    [deadline] = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert deadline.tz == "America/New_York"
