"""Long terms fold: a matrix of six parties with 3,000-character terms shows each row's
start (the same ``FOLD_AT`` on Slack and Teams) and "Show all terms", which in Slack asks
for the whole text (an ephemeral reply) and in Teams unfolds it in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.slack.render import render_message
from adapters.teams.render import CARD_MAX_BYTES, render_card
from bot import views
from bot.domain import DEFAULT_OFFSETS, Deadline, DeadlineStatus, Position, Stance
from bot.messages import FOLD_AT, Fold
from tests.adapters.slack.blockkit import check_message, texts
from tests.adapters.slack.slack_world import SlackWorld

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
