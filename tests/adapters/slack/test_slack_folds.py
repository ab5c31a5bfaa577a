"""Long terms fold: a matrix of six parties with 3,000-character terms shows each row's
start (the same ``FOLD_AT`` on Slack and Teams) and "Show all terms", which in Slack asks
for the whole text (an ephemeral reply) and in Teams unfolds it in place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.slack.render import render_message
from adapters.teams.render import CARD_MAX_BYTES, render_card
from bot import views
from bot.domain import DEFAULT_OFFSETS, Deadline, DeadlineStatus, Position, Stance
from bot.messages import FOLD_AT, Fold
from tests.adapters.slack.blockkit import check_message, texts
from tests.adapters.slack.slack_world import SlackWorld
from tests.fakes.slack_api import RESPONSE_URL

ISO_DUE = "2026-11-27T17:00-05:00"
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
PARTIES = ["Anthropic", "DoD", "OpenAI", "Palantir", "NSA", "Congress"]


def terms(party: str) -> str:
    words = f"{party} requires that no model be used for mass surveillance of Americans "
    return (words * 60)[:2990] + " THE END"


def matrix_deadline(status: DeadlineStatus = DeadlineStatus.OPEN) -> Deadline:
    return Deadline(
        id=1,
        workspace_id="slack:T1",
        number=1,
        channel_id="C1",
        platform="slack",
        title="Signed usage agreement",
        due_at=NOW + timedelta(days=1),
        tz="America/New_York",
        owner_id="U1",
        status=status,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=NOW,
        updated_at=NOW,
    )


def matrix(status: DeadlineStatus = DeadlineStatus.OPEN) -> Any:
    deadline = matrix_deadline(status)
    positions = [
        Position(
            deadline_id=1,
            stakeholder=f"party:{party}",
            label=party,
            stance=Stance.OPPOSE,
            terms=terms(party),
            recorded_by="U1",
            recorded_at=NOW,
        )
        for party in PARTIES
    ]
    return views.position_matrix(deadline, now=NOW, positions=positions, requests=())


def test_the_same_fold_on_both_platforms() -> None:
    message = matrix()
    slack = render_message(message, now=NOW)
    check_message(slack)
    fields = [
        f["text"] for b in slack["blocks"] if b["type"] == "section" for f in b.get("fields", [])
    ]
    assert len(fields) == 6
    for field in fields:
        shown_terms = field.split(" — ", 1)[1]
        assert len(shown_terms) <= FOLD_AT and shown_terms.endswith("…")
        assert "THE END" not in field
    assert "[Show all terms]" in texts(slack["blocks"])

    card = render_card(message, now=NOW)
    facts = [
        f for element in card["body"] if element["type"] == "FactSet" for f in element["facts"]
    ]
    assert [len(f["value"].split(" — ", 1)[1]) <= FOLD_AT for f in facts] == [True] * 6
    [show] = [
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["title"] == "Show all terms"
    ]
    assert show["type"] == "Action.ShowCard"
    unfolded = show["card"]["body"][0]["text"]
    assert unfolded.count("THE END") == 6  # the whole text, one click away, no round trip
    assert len(str(card).encode()) <= CARD_MAX_BYTES * 1.1

    # What Slack's "Show all terms" answers: every word, within Block Kit's limits.
    [fold] = [block for block in message.blocks if isinstance(block, Fold)]
    deadline = matrix_deadline()
    whole = render_message(views.terms_message(deadline, fold=fold, user_id="U1"), now=NOW)
    check_message(whole)
    assert texts(whole["blocks"]).count("THE END") == 6


async def test_show_all_terms_in_slack_answers_with_the_whole_text(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    long_terms = terms("Anthropic")
    await slack.command(f"/position D1 oppose as Anthropic {long_terms}")
    listed = await slack.command("/position list D1")
    assert "THE END" not in texts(listed["blocks"])
    [button] = [
        element
        for block in listed["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["text"]["text"] == "Show all terms"
    ]
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alex", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "trigger_id": "trigger-terms",
        "container": {"type": "message", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "negotiations"},
        "response_url": slack.next_response_url(),
        "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}],
    }
    assert (await slack.interact(payload)).status == 200
    [answer] = await slack.api.wait_for(
        "response_url", where=lambda c: "Terms on D1" in str(c.params)
    )
    check_message(answer.params)
    assert long_terms in texts(answer.params["blocks"])
    assert answer.params.get("response_type", "ephemeral") == "ephemeral"


def show_all_press(slack: SlackWorld, deadline_id: str) -> dict[str, Any]:
    """A press of "Show all terms" on ``deadline_id``, as Slack sends it."""
    return {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alex", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "trigger_id": "trigger-terms",
        "container": {"type": "message", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "negotiations"},
        "response_url": slack.next_response_url(),
        "actions": [{"action_id": "parley_show_terms", "value": deadline_id, "type": "button"}],
    }


def buttons(payload: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in payload.get("blocks") or ()
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


async def test_sealed_long_terms_fold_only_after_the_reveal(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE} sealed")
    long_terms = terms("Anthropic")
    await slack.command(f"/position D1 oppose as Anthropic {long_terms}", user_id="U2")
    # The author's own receipt (ephemeral, sensitive) holds the terms; nothing after it may.
    await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == slack.response_key())
    receipt_calls = len(slack.api.calls)
    listed = await slack.command("/position list D1")
    shown = await slack.command("/deadline show D1", user_id="U3")
    assert "Show all terms" not in buttons(listed) + buttons(shown)
    # A hand-made press before the reveal answers with nothing cut short, and no terms.
    assert (await slack.interact(show_all_press(slack, "1"))).status == 200
    [answer] = await slack.api.wait_for(
        "response_url", where=lambda c: "Terms on D1" in str(c.params)
    )
    assert "No terms are cut short" in texts(answer.params["blocks"])
    after_receipt = [call.params for call in slack.api.calls[receipt_calls:]]
    assert "THE END" not in json.dumps([*after_receipt, listed, shown])
    assert long_terms[:FOLD_AT] not in json.dumps([*after_receipt, listed, shown])

    await slack.command("/deadline done D1")  # the reveal
    revealed = await slack.command("/position list D1")
    assert "Show all terms" in buttons(revealed)
    assert (await slack.interact(show_all_press(slack, "1"))).status == 200
    [whole] = await slack.api.wait_for(
        "response_url",
        where=lambda c: "Terms on D1" in str(c.params) and "THE END" in str(c.params),
    )
    assert long_terms in texts(whole.params["blocks"])


def test_the_final_matrix_and_a_receipt_have_nothing_to_press() -> None:
    long = matrix()
    deadline = matrix_deadline()
    final = views.final_matrix(
        deadline,
        now=NOW + timedelta(days=1),
        headline="🔔 Deadline reached: D1 Signed usage agreement",
        positions=[
            Position(
                deadline_id=1,
                stakeholder=f"party:{party}",
                label=party,
                stance=Stance.OPPOSE,
                terms=terms(party),
                recorded_by="U1",
                recorded_at=NOW,
            )
            for party in PARTIES
        ],
        requests=(),
        outcome="missed",
    )
    assert any(isinstance(block, Fold) for block in long.blocks)  # the same rows fold here
    rendered = render_message(final, now=NOW + timedelta(days=1))
    check_message(rendered)
    assert buttons(rendered) == [] and "actions" not in json.dumps(rendered)
    assert "Show all terms" not in json.dumps(render_card(final, now=NOW))
    receipt = views.receipt(deadline, position=final_position(), label="Anthropic", user_id="U1")
    assert "actions" not in json.dumps(render_message(receipt, now=NOW))


def final_position() -> Position:
    return Position(
        deadline_id=1,
        stakeholder="party:anthropic",
        label="Anthropic",
        stance=Stance.OPPOSE,
        terms="No mass surveillance",
        recorded_by="U1",
        recorded_at=NOW,
        salt="0" * 32,
        commitment="f" * 64,
    )
