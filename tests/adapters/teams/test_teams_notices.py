"""A notice as Teams shows it: a valid Adaptive Card that names the channel in words
(Teams has no channel link to put in a card)."""

from __future__ import annotations

from datetime import UTC, datetime

from jsonschema import Draft6Validator

from adapters.teams.render import plain, render_card
from bot import views
from bot.domain import DEFAULT_OFFSETS, Change, ChangeKind, Deadline, DeadlineStatus

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
ALEX = "29:1-alex"


def test_a_notice_is_a_valid_card_that_says_its_channel(cards: Draft6Validator) -> None:
    deadline = Deadline(
        id=7,
        workspace_id="teams:t",
        number=1,
        channel_id="19:c@thread.tacv2",
        platform="teams",
        title="Signed usage agreement",
        due_at=datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
        tz="America/New_York",
        owner_id=ALEX,
        status=DeadlineStatus.OPEN,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=NOW,
        updated_at=NOW,
    )
    extended = Change(
        kind=ChangeKind.EXTENDED,
        at=NOW,
        actor_id=ALEX,
        previous_due=datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
        new_due=deadline.due_at,
        reason="best and final offer under review",
    )
    message = views.notice_message(deadline, changes=[extended], user_id="29:1-dana", now=NOW)
    card = render_card(message, now=NOW, names={ALEX: "Alex Rivera"})
    cards.validate(card)
    assert card["fallbackText"].startswith(
        "Update on D1 Signed usage agreement in its channel: @Alex Rivera extended it from "
        "Fri 27 Nov 2026 17:00 EST to Mon 30 Nov 2026 09:00 EST because best and final offer"
    )
    assert "19:c@thread" not in str(card)
    assert plain("<#19:c@thread.tacv2>") == "its channel"
