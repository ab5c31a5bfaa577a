"""The use cases as a conversation: a user types commands, the test reads the replies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.errors import FormError
from bot.messages import Audience, Form
from bot.runtime import Runtime
from bot.views import ACTION_OPEN_FORM, ACTION_STANCE, FORM_POSITION
from tests.builders import snapshot as snapshot_of
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    return await snapshot_of(runtime.repository)


async def test_add_posts_in_channel_with_new_york_time_and_time_left(chat: Chat) -> None:
    reply = await chat.say(ADD)
    assert chat.audiences == [Audience.CHANNEL]
    assert "D1 Signed usage agreement" in reply
    assert "Fri 27 Nov 2026 17:00 EST" in reply
    assert "1 day 5 hours left" in reply


async def test_list_is_private_and_shows_open_deadlines_in_due_order(chat: Chat) -> None:
    await chat.say("/deadline add Counter-offer due 2026-12-04 12:00 America/New_York")
    await chat.say(ADD)
    reply = await chat.say("/deadline list")
    assert chat.audiences == [Audience.EPHEMERAL]
    assert reply.index("D2 Signed usage agreement") < reply.index("D1 Counter-offer")


async def test_list_only_shows_this_channels_deadlines(chat: Chat) -> None:
    await chat.say(ADD)
    assert "No open deadlines" in await chat.say("/deadline list", channel_id="elsewhere")


async def test_title_prefix_refers_to_a_deadline(chat: Chat) -> None:
    await chat.say(ADD)
    reply = await chat.say('/deadline show "signed usage"')
    assert "D1 Signed usage agreement" in reply
    assert "Status: open" in reply


async def test_extend_keeps_the_reason_in_history_and_moves_alerts(chat: Chat) -> None:
    await chat.say(ADD)
    reply = await chat.say(
        "/deadline extend D1 to Monday 09:00 America/New_York"
        " because best and final offer under review"
    )
    assert chat.audiences == [Audience.CHANNEL]
    assert "Mon 30 Nov 2026 09:00 EST" in reply
    assert "was Fri 27 Nov 2026 17:00 EST" in reply
    show = await chat.say("/deadline show D1")
    assert "because best and final offer under review" in show
    alerts = (await chat.runtime.repository.export_all())["alerts"]
    pending = sorted(a["due_at"] for a in alerts if a["status"] == "pending")
    # 1d, 4h, 1h, 15m and the deadline itself before Monday 09:00 EST (14:00 UTC); 7d is past.
    assert pending == sorted(
        [
            "2026-11-29T14:00:00+00:00",
            "2026-11-30T10:00:00+00:00",
            "2026-11-30T13:00:00+00:00",
            "2026-11-30T13:45:00+00:00",
            "2026-11-30T14:00:00+00:00",
        ]
    )


@pytest.mark.parametrize(("verb", "status"), [("done", "met"), ("cancel", "cancelled")])
async def test_done_and_cancel_drop_pending_alerts(chat: Chat, verb: str, status: str) -> None:
    await chat.say(ADD)
    reply = await chat.say(f"/deadline {verb} D1")
    # Done posts the outcome with the final matrix too.
    assert chat.audiences == [Audience.CHANNEL] * (2 if verb == "done" else 1)
    assert "reminders are off" in reply
    alerts = (await chat.runtime.repository.export_all())["alerts"]
    assert [a for a in alerts if a["status"] == "pending"] == []
    assert f"[{status}]" in await chat.say("/deadline list all")
    assert "No open deadlines" in await chat.say("/deadline list")
    again = await chat.say(f"/deadline {verb} D1")
    assert f"already {status}" in again


async def test_remind_replaces_offsets_and_skips_past_ones(chat: Chat) -> None:
    await chat.say(ADD)
    reply = await chat.say("/deadline remind D1 2d,1h")
    assert "2d, 1h" in reply
    assert "skipped: 2d" in reply
    alerts = (await chat.runtime.repository.export_all())["alerts"]
    pending = sorted(a["due_at"] for a in alerts if a["status"] == "pending")
    assert pending == ["2026-11-27T21:00:00+00:00", "2026-11-27T22:00:00+00:00"]


async def test_position_matrix_names_parties_with_stance_and_terms(chat: Chat) -> None:
    await chat.say(ADD)
    posted = await chat.say(
        "/position D1 oppose as Anthropic No mass surveillance of Americans", user="dario"
    )
    assert chat.audiences == [Audience.CHANNEL]
    assert "Anthropic opposes D1" in posted
    await chat.say('/position D1 accept as "Department of Defense" License for all lawful use')
    matrix = await chat.say("/position list D1")
    assert "Anthropic: oppose — No mass surveillance of Americans" in matrix
    assert "Department of Defense: support — License for all lawful use" in matrix


async def test_own_position_is_replaced_and_history_keeps_both(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position D1 maybe still reading", user="legal")
    await chat.say("/position D1 no not without an audit clause", user="legal")
    matrix = await chat.say("/position list D1")
    assert "@legal: oppose — not without an audit clause" in matrix
    assert "undecided" not in matrix
    show = await chat.say("/deadline show D1")
    assert "@legal: undecided" in show and "@legal: oppose" in show


async def test_ask_sends_direct_messages_and_tracks_answers(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position ask D1 @legal @policy")
    assert chat.audiences == [Audience.CHANNEL, Audience.DIRECT, Audience.DIRECT]
    assert [m.user_id for m in chat.replies[1:]] == ["legal", "policy"]
    assert "0 of 2 asked have answered; waiting for @legal, @policy" in await chat.say(
        "/position list D1"
    )
    await chat.say("/position D1 support", user="legal")
    assert "1 of 2 asked have answered; waiting for @policy" in await chat.say("/position list D1")


async def test_stance_button_records_and_keeps_earlier_terms(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position D1 conditional only with an audit clause", user="legal")
    await chat.say("/position ask D1 @legal")
    deadline_id = (await chat.runtime.repository.export_all())["deadlines"][0]["id"]
    # Pressed in the ask DM: the announcement still goes to the deadline's channel.
    replies = await chat.runtime.service.press(
        ctx=chat.context(user_id="legal", channel_id="D0LEGAL"),
        action_id=ACTION_STANCE,
        value=f"{deadline_id}|support",
    )
    assert replies[0].audience is Audience.CHANNEL
    assert replies[0].channel_id == "negotiation"
    assert "@legal: support — only with an audit clause" in await chat.say("/position list D1")


async def test_position_form_round_trip_with_inline_errors(chat: Chat) -> None:
    await chat.say(ADD)
    deadline_id = str((await chat.runtime.repository.export_all())["deadlines"][0]["id"])
    service = chat.runtime.service
    opened = await service.press(ctx=chat.context(), action_id=ACTION_OPEN_FORM, value=deadline_id)
    assert any(isinstance(block, Form) for block in opened[0].blocks)
    before = await snapshot(chat.runtime)
    with pytest.raises(FormError) as bad:
        await service.submit_form(
            ctx=chat.context(),
            form_id=FORM_POSITION,
            value=deadline_id,
            fields={"stance": "", "terms": "x" * 3001},
        )
    assert set(bad.value.errors) == {"stance", "terms"}
    assert await snapshot(chat.runtime) == before
    await service.submit_form(
        ctx=chat.context(),
        form_id=FORM_POSITION,
        value=deadline_id,
        fields={"stance": "oppose", "party": "Acme", "terms": "No exclusivity"},
    )
    assert "Acme: oppose — No exclusivity" in await chat.say("/position list D1")


BAD_INPUT = [
    ("/deadline add " + "x" * 201 + " due Friday 17:00", "201 characters; the limit is 200"),
    ("/position D1 oppose " + "y" * 3001, "limit is 3000"),
    ("/deadline show D9", "no deadline D9"),
    ("/position D9 support", "no deadline D9"),
    ("/deadline show Sig", "matches 2 deadlines"),
    ("/deadline add Reply due yesterday 5pm", "in the past"),
    ("/deadline add Reply due blorp", "couldn't understand"),
    ("/position D1 lukewarm", "lukewarm"),
    ("/deadline extend D1 to 2026-11-20 17:00", "in the past"),
    ("/deadline frobnicate", "help"),
]


@pytest.mark.parametrize(("line", "says"), BAD_INPUT)
async def test_bad_input_writes_nothing_and_says_why(chat: Chat, line: str, says: str) -> None:
    await chat.say(ADD)
    await chat.say("/deadline add Signature pages due Monday 12:00")
    before = await snapshot(chat.runtime)
    reply = await chat.say(line)
    assert chat.audiences == [Audience.EPHEMERAL]
    assert says.lower() in reply.lower()
    assert await snapshot(chat.runtime) == before


async def test_workspaces_never_see_each_other(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position D1 oppose as Anthropic red lines")
    other = {"workspace_id": "shell:other"}
    assert "No deadlines in this channel" in await chat.say("/deadline list all", **other)
    assert "no deadline D1" in await chat.say("/deadline show D1", **other)
    assert "no deadline D1" in await chat.say("/position list D1", **other)
    assert "No deadline title starts with" in await chat.say("/deadline show Signed", **other)
    assert "no deadline D1" in await chat.say("/deadline done D1", **other)
    created = await chat.say("/deadline add Their own due Monday 12:00", **other)
    assert "D1 Their own" in created
    assert "Signed usage agreement" in await chat.say("/deadline show D1")


async def test_help_lists_every_subcommand(chat: Chat) -> None:
    deadline_help = await chat.say("/deadline help")
    for word in ("add", "list", "show", "extend", "done", "cancel", "remind", "feed"):
        assert f"/deadline {word}" in deadline_help
    position_help = await chat.say("/position help")
    for word in ("list", "ask"):
        assert f"/position {word}" in position_help


async def test_list_of_many_deadlines_is_cut_with_a_count(chat: Chat) -> None:
    for n in range(25):
        await chat.say(f"/deadline add Item {n} due 2026-12-{1 + n % 28:02d} 12:00")
    reply = await chat.say("/deadline list")
    assert "and 5 more" in reply
    assert len(chat.replies[0].blocks) <= 50


async def test_an_open_deadline_past_its_time_reads_as_missed(chat: Chat) -> None:
    await chat.say(ADD)
    chat.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert "[missed]" in await chat.say("/deadline list")
