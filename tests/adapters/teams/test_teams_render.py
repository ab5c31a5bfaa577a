"""Every message the core composes, rendered as an Adaptive Card 1.5 and validated
against the official schema (``../shared/data/adaptive-card-1.5.schema.json``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft6Validator

from adapters.teams.render import (
    CARD_MAX_BYTES,
    clip,
    countdown_text,
    markdown,
    plain,
    render_card,
)
from bot import views
from bot.domain import (
    DEFAULT_OFFSETS,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Offer,
    Position,
    PositionRequest,
    Stance,
)
from bot.help import HELP_DEADLINE, HELP_POSITION
from bot.messages import Divider, Message, Role, Text, link

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
ALEX = "6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a51"
DANA = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
NAMES = {ALEX: "Alex Rivera", DANA: "Dana Okafor"}


def deadline(status: DeadlineStatus = DeadlineStatus.OPEN) -> Deadline:
    return Deadline(
        id=7,
        workspace_id="teams:t",
        number=1,
        channel_id="19:c@thread.tacv2",
        platform="teams",
        title="Signed usage agreement",
        due_at=datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
        tz="America/New_York",
        owner_id=ALEX,
        status=status,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=NOW,
        updated_at=NOW,
    )


def positions(count: int) -> list[Position]:
    stances = list(Stance)
    return [
        Position(
            deadline_id=7,
            stakeholder=f"party:p{i}",
            label=f"Party {i}",
            stance=stances[i % 4],
            terms="No mass surveillance; " * (i % 3),
            recorded_by=ALEX,
            recorded_at=NOW,
        )
        for i in range(count)
    ]


REQUESTS = [
    PositionRequest(deadline_id=7, user_id=DANA, asked_by=ALEX, asked_at=NOW),
    PositionRequest(deadline_id=7, user_id=ALEX, asked_by=ALEX, asked_at=NOW, answered_at=NOW),
]
EVENTS = [
    Event(deadline_id=7, kind=kind, at=NOW, actor_id=ALEX, data={"user_ids": [DANA]})
    for kind in EventKind
] * 3


OFFER = Offer(
    deadline_id=7,
    version=1,
    title="BAFO [v2] (final)",
    url="https://docs.example.com/wiki/Offer_(v2)",
    party=None,
    recorded_by=ALEX,
    recorded_at=NOW,
)


def every_message() -> dict[str, Message]:
    d = deadline()
    many = positions(45)
    return {
        "card": views.deadline_card(
            d, now=NOW, headline=f"New deadline set by <@{ALEX}>", calendar_url="https://x/e.ics"
        ),
        "closed card": views.deadline_card(deadline(DeadlineStatus.MET), now=NOW, headline="Met"),
        "list": views.deadline_list([d] * 25, now=NOW, include_closed=True, user_id=ALEX),
        "empty list": views.deadline_list([], now=NOW, include_closed=False, user_id=ALEX),
        "details": views.deadline_details(
            d, now=NOW, events=EVENTS, positions=many, requests=REQUESTS, user_id=ALEX
        ),
        "matrix": views.position_matrix(d, now=NOW, positions=many, requests=REQUESTS),
        "empty matrix": views.position_matrix(d, now=NOW, positions=[], requests=[]),
        "offer matrix": views.position_matrix(
            d, now=NOW, positions=many, requests=REQUESTS, offers=[OFFER]
        ),
        "form": views.position_form(d, user_id=ALEX, current=many[2]),
        "ask": views.ask_direct_message(d, user_id=DANA, asked_by=ALEX, now=NOW),
        "nudge": views.nudge_message(d, user_id=DANA, now=NOW),
        "countdown": views.countdown_alert(
            d, now=NOW, offset=timedelta(days=1), positions=many, requests=REQUESTS
        ),
        "reached": views.deadline_reached(d, now=NOW, positions=many, requests=REQUESTS),
        "catch up": views.catch_up_alert(
            d,
            now=NOW,
            missed=[timedelta(hours=4), timedelta(hours=1)],
            positions=many,
            requests=REQUESTS,
        ),
        "help": views.info_message(HELP_DEADLINE + "\n" + HELP_POSITION, user_id=ALEX),
        "error": views.error_message("There is no deadline D9 in this workspace.", user_id=ALEX),
        "bare": Message(fallback="only a fallback"),
    }


@pytest.mark.parametrize("name", list(every_message()))
def test_every_core_message_renders_a_valid_card(name: str, cards: Draft6Validator) -> None:
    card = render_card(every_message()[name], now=NOW, names=NAMES)
    cards.validate(card)
    assert card["version"] == "1.5" and card["fallbackText"]


def test_a_card_too_big_for_teams_is_cut_to_fit(cards: Draft6Validator) -> None:
    long = [replace(p, terms="x" * 3000) for p in positions(40)]
    message = views.position_matrix(deadline(), now=NOW, positions=long, requests=REQUESTS)
    card = render_card(message, now=NOW, names=NAMES)
    cards.validate(card)
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= CARD_MAX_BYTES
    facts = [f for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]]
    assert len(facts) == 40 and all(f["value"].endswith("…") for f in facts)
    small = render_card(every_message()["matrix"], now=NOW, names=NAMES)
    assert not any(
        f["value"].endswith("…")
        for e in small["body"]
        if e["type"] == "FactSet"
        for f in e["facts"]
    )


def test_a_form_with_errors_is_still_valid(cards: Draft6Validator) -> None:
    form = every_message()["form"]
    errors = {"stance": "Pick a stance.", "terms": "Too long.", "form": "Out of date."}
    card = render_card(form, now=NOW, errors=errors)
    cards.validate(card)
    body = card["body"]
    flagged = [e["text"] for e in body if e.get("color") == "Attention"]
    assert flagged == ["Pick a stance.", "Too long.", "Out of date."]
    stance = next(e for e in body if e.get("id") == "stance")
    assert stance["value"] == "conditional"  # the current position is preselected


def test_countdown_uses_date_and_time_functions_per_viewer() -> None:
    due = datetime(2026, 11, 27, 22, 0, 30, 123456, tzinfo=UTC)
    text = countdown_text(due, NOW)
    assert text == (
        "Due {{DATE(2026-11-27T22:00:30Z, SHORT)}} {{TIME(2026-11-27T22:00:30Z)}}"
        " · 1 day 5 hours left"
    )


def test_mrkdwn_becomes_card_markdown_and_mentions_become_names() -> None:
    assert markdown(f"*D1* by <@{ALEX}>", NAMES) == "**D1** by @Alex Rivera"
    assert markdown(f"<@{'1' * 8}-2222-3333-4444-555555555555>", NAMES) == "@a teammate"
    assert markdown("`/position ask <ref> <@user>`") == "/position ask <ref> @user"
    assert markdown("two\nlines") == "two\n\nlines"
    assert plain(f"*D1* _soon_ <@{DANA}>", NAMES) == "D1 _soon_ @Dana Okafor"


def test_a_link_is_card_markdown_with_its_host_and_plain_text_shows_the_host() -> None:
    text = f"*O1* {link(OFFER.title, OFFER.url)} by <@{ALEX}>"
    assert markdown(text, NAMES) == (
        "**O1** [BAFO (v2) (final)](https://docs.example.com/wiki/Offer_%28v2%29)"
        " (docs.example.com) by @Alex Rivera"
    )
    assert plain(text, NAMES) == "O1 BAFO [v2] (final) (docs.example.com) by @Alex Rivera"
    # Typed link syntax stays text; a link Parley would refuse is its title alone.
    assert markdown("[Bank](https://evil.example)") == "[Bank]\u200b(https://evil.example)"
    assert markdown(link("Bank", "https://me:pw@evil.example/")) == "Bank"
    # A text cut to fit a card is cut before a link, never inside it.
    cut = clip("Offers: " + link("Best and final offer", "https://docs.example.com/b"), 30)
    assert cut == "Offers: …" and markdown(cut) == "Offers: …"


def test_roles_and_dividers() -> None:
    message = Message(
        fallback="x",
        blocks=(Divider(), Text("Title", Role.HEADING), Divider(), Text("quiet", Role.MUTED)),
    )
    heading, muted = render_card(message, now=NOW)["body"]
    assert heading["weight"] == "Bolder" and "separator" not in heading
    assert muted["isSubtle"] is True and muted["separator"] is True


def test_buttons_carry_the_core_action_and_value() -> None:
    card = render_card(every_message()["card"], now=NOW, names=NAMES)
    actions = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    submits = [a for a in actions if a["type"] == "Action.Submit"]
    assert submits[0] == {
        "type": "Action.Submit",
        "title": "Support",
        "style": "positive",
        "associatedInputs": "none",
        "data": {"parley_action": "parley_stance", "value": "7|support"},
    }
    assert submits[1]["style"] == "destructive"
    assert {
        "type": "Action.OpenUrl",
        "title": "Add to calendar",
        "url": "https://x/e.ics",
    } in actions
