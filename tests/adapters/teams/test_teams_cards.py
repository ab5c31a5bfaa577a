"""Quiet cards in Teams: a shared card has one primary action and a "More"
``Action.ShowCard`` (one button a row, so no label is cut at 360 px); stance buttons
only where one person can still decide; nothing to press once a deadline is closed.
Alerts are counted on the cards as rendered, Slack's beside them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft6Validator

from adapters.slack.render import render_message
from adapters.teams.render import render_card
from bot import views
from tests.adapters.teams.teams_world import TeamsWorld
from tests.builders import a_teams_deadline

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"
STANCES = ["Support", "Oppose", "Conditional", "Undecided"]
EVERY_STANCE = [*STANCES, "Add terms"]
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


def actions(card: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The titles of a card's actions, and of those inside its "More"."""
    shown: list[str] = []
    more: list[str] = []
    for element in card["body"]:
        for action in element.get("actions") or () if element["type"] == "ActionSet" else ():
            shown.append(action["title"])
            if action["type"] == "Action.ShowCard":
                more += [a["title"] for row in action["card"]["body"] for a in row["actions"]]
    return shown, more


async def test_buttons_per_card_kind(teams: TeamsWorld) -> None:
    added = await teams.say(ADD)
    assert actions(added.messages[0].card) == (
        ["Give your position", "More"],
        [*STANCES, "Add to calendar"],
    )
    listed = await teams.say("position list D1")
    assert actions(listed.messages[0].card) == (EVERY_STANCE, [])
    await teams.say("deadline done D1")
    closed = await teams.say("position list D1")
    assert actions(closed.messages[0].card) == ([], [])
    assert "No positions yet" not in closed.messages[0].card_text


def test_alerts_carry_one_action_and_the_deadline_itself_none(cards: Draft6Validator) -> None:
    alert = views.countdown_alert(
        a_teams_deadline(),
        now=NOW,
        offset=timedelta(hours=1),
        positions=(),
        requests=(),
        calendar_url="https://parley.example/calendar/event/x.ics",
    )
    card = render_card(alert, now=NOW)
    cards.validate(card)
    assert actions(card) == (["Give your position", "More"], [*STANCES, "Add to calendar"])
    slack = render_message(alert, now=NOW)
    [block] = [b for b in slack["blocks"] if b["type"] == "actions"]
    assert [e["type"] for e in block["elements"]] == ["button", "overflow"]
    assert len(block["elements"][1]["options"]) == 5

    reached = views.deadline_reached(
        a_teams_deadline(due_at=NOW), now=NOW, positions=(), requests=(), marks_missed=True
    )
    card = render_card(reached, now=NOW)
    cards.validate(card)
    assert actions(card) == ([], [])
    assert not [b for b in render_message(reached, now=NOW)["blocks"] if b["type"] == "actions"]
    assert "No positions were recorded." in card["fallbackText"]
