"""A deadline belongs to its channel: from elsewhere every command and every button finds
nothing, reveals nothing, changes nothing and announces nothing; numbers count per
channel; in a direct conversation a reference reaches the person's own and asked-on
deadlines; announcements go to the deadline's channel wherever the command was typed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.errors import NotFound
from bot.messages import Audience
from bot.runtime import Runtime
from bot.views import ACTION_CHOOSE_TIME, ACTION_OPEN_FORM, ACTION_STANCE, FORM_POSITION
from tests.builders import snapshot as snapshot_of
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"
RED_LINES = "No mass surveillance of Americans"

# Every command that names a deadline, as someone elsewhere would try it. Each is also
# tried with a number, and a title, that exist nowhere: the answers must be the same.
COMMANDS = [
    "/deadline show {ref}",
    "/deadline extend {ref} to Monday 09:00",
    "/deadline extend {ref} to Friday evening",  # vague: would offer choices
    "/deadline move {ref} to Thursday 12:00",
    "/deadline done {ref}",
    "/deadline cancel {ref}",
    "/deadline remind {ref} 1h",
    "/deadline owners {ref}",
    "/deadline owners {ref} @mallory",
    "/deadline owners {ref} remove @alex",
    "/position {ref} support",
    "/position {ref} oppose as Anthropic all lawful use",
    "/position {ref}",
    "/position list {ref}",
    "/position ask {ref} @mallory",
]
OUT_OF_DATE = "That button is out of date."
REFS = [("D1", "D7"), ("1", "7"), ('"Signed usage"', '"Zebra crossing"')]


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    return await snapshot_of(runtime.repository)


async def negotiation(chat: Chat) -> int:
    """D1 in #negotiation, owned by alex, with Anthropic's red lines; legal is asked."""
    await chat.say(ADD)
    await chat.say(f"/position D1 oppose as Anthropic {RED_LINES}", user="dario")
    await chat.say("/position ask D1 @legal")
    deadline_id: int = (await chat.runtime.repository.export_all())["deadlines"][0]["id"]
    return deadline_id


@pytest.mark.parametrize("line", COMMANDS)
async def test_from_another_channel_a_deadline_is_as_if_it_did_not_exist(
    chat: Chat, line: str
) -> None:
    await negotiation(chat)
    before = await snapshot(chat.runtime)
    for user in ("mallory", "alex"):  # a stranger, and the owner himself
        elsewhere = {"channel_id": "C-elsewhere", "user": user}
        for ref, nowhere in REFS:
            reply = await chat.say(line.format(ref=ref), **elsewhere)
            assert [(m.audience, m.user_id) for m in chat.replies] == [(Audience.EPHEMERAL, user)]
            assert "agreement" not in reply and RED_LINES not in reply and "@legal" not in reply
            unknown = await chat.say(line.format(ref=nowhere), **elsewhere)
            assert reply == unknown.replace(nowhere.strip('"'), ref.strip('"'))
    assert await snapshot(chat.runtime) == before


async def test_buttons_from_another_channel_reach_nothing(chat: Chat) -> None:
    deadline_id = await negotiation(chat)
    service = chat.runtime.service
    before = await snapshot(chat.runtime)
    mallory = chat.context(user="mallory", channel_id="C-elsewhere")
    gone = "That deadline no longer exists."
    for value in (f"{deadline_id}|support", f"{deadline_id + 1}|support"):
        [reply] = await service.press(ctx=mallory, action_id=ACTION_STANCE, value=value)
        assert (reply.audience, reply.fallback) == (Audience.EPHEMERAL, gone)
    for value in (str(deadline_id), str(deadline_id + 1)):
        [reply] = await service.press(ctx=mallory, action_id=ACTION_OPEN_FORM, value=value)
        assert (reply.audience, reply.fallback) == (Audience.EPHEMERAL, gone)
        with pytest.raises(NotFound, match=gone):
            await service.position_form(ctx=mallory, deadline_id=value)
        with pytest.raises(NotFound, match=gone):
            await service.submit_form(
                ctx=mallory,
                form_id=FORM_POSITION,
                value=value,
                fields={"stance": "support", "party": "Anthropic", "terms": "all lawful use"},
            )
    assert await snapshot(chat.runtime) == before


async def test_a_time_choice_runs_where_it_was_offered_wherever_it_is_pressed(
    chat: Chat,
) -> None:
    """Teams shows the choices in the 1:1 chat: the click comes from there, and the
    command runs (and is announced) in the channel it was typed in, which the
    signed value names; a value altered to name another channel is refused."""
    await negotiation(chat)
    await chat.say("/deadline extend D1 to Friday evening")
    [choices] = chat.replies
    values = [b.value for block in choices.blocks for b in getattr(block, "buttons", ())]
    before = await snapshot(chat.runtime)
    service = chat.runtime.service
    elsewhere = chat.context(channel_id="C-elsewhere")
    forged = json.loads(values[0]) | {"c": "C-elsewhere"}
    [refused] = await service.press(
        ctx=elsewhere, action_id=ACTION_CHOOSE_TIME, value=json.dumps(forged)
    )
    assert refused.fallback.startswith("That button's value was changed after Parley made it")
    [theirs] = await service.press(
        ctx=chat.context(user="mallory", channel_id="dm:mallory"),
        action_id=ACTION_CHOOSE_TIME,
        value=values[0],
    )
    assert "These choices were offered to <@alex>" in theirs.fallback
    assert await snapshot(chat.runtime) == before
    [done] = await service.press(
        ctx=chat.context(channel_id="dm:alex"), action_id=ACTION_CHOOSE_TIME, value=values[0]
    )
    assert (done.audience, done.channel_id) == (Audience.CHANNEL, "negotiation")
    assert "extended D1" in done.fallback
    [again] = await service.press(ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value=values[1])
    assert again.fallback == "One of these choices has already been used."


async def test_the_asked_and_owners_reach_it_by_button_from_their_dms(chat: Chat) -> None:
    deadline_id = await negotiation(chat)
    service = chat.runtime.service
    for user in ("legal", "alex"):
        dm = chat.context(user=user, channel_id=f"D-{user}")
        [announced] = await service.press(
            ctx=dm, action_id=ACTION_STANCE, value=f"{deadline_id}|support"
        )
        assert (announced.audience, announced.channel_id) == (Audience.CHANNEL, "negotiation")
        [form] = await service.press(ctx=dm, action_id=ACTION_OPEN_FORM, value=str(deadline_id))
        assert form.audience is Audience.EPHEMERAL and "Record a position on D1" in form.fallback
    matrix = await chat.say("/position list D1")
    assert "@legal: support" in matrix and "@alex: support" in matrix
    # Anyone in the deadline's own channel may press its buttons.
    [announced] = await service.press(
        ctx=chat.context(user="carol"), action_id=ACTION_STANCE, value=f"{deadline_id}|oppose"
    )
    assert announced.channel_id == "negotiation"


async def test_numbers_count_per_channel(chat: Chat) -> None:
    first = await chat.say(ADD)
    second = await chat.say("/deadline add Term sheet due Monday 12:00", channel_id="C-other")
    assert "D1 Signed usage agreement" in first and "D1 Term sheet" in second
    assert "Term sheet" in await chat.say("/deadline show D1", channel_id="C-other")
    assert "Signed usage" in await chat.say("/deadline show D1")
    assert "D2 Budget" in await chat.say("/deadline add Budget due Monday 12:00")


async def test_a_dm_reaches_what_you_own_or_were_asked_about(chat: Chat) -> None:
    await negotiation(chat)
    for user in ("alex", "legal"):
        shown = await chat.say("/deadline show D1", channel_id=f"dm:{user}", user=user)
        assert "Signed usage agreement" in shown and RED_LINES in shown
        assert RED_LINES in await chat.say("/position list D1", channel_id=f"dm:{user}", user=user)
    listed = await chat.say("/deadline list", channel_id="dm:legal", user="legal")
    assert "D1 Signed usage agreement in #negotiation" in listed
    stranger = await chat.say("/deadline show D1", channel_id="dm:mallory", user="mallory")
    unknown = await chat.say("/deadline show D7", channel_id="dm:mallory", user="mallory")
    assert stranger == unknown.replace("D7", "D1")
    assert "There is no deadline D1 here or among the deadlines you own" in stranger
    nothing = await chat.say("/deadline list", channel_id="dm:mallory", user="mallory")
    assert "Your open deadlines (0)" in nothing
    assert "Nobody is waiting for your position" in nothing


async def test_a_dm_says_which_d1_when_two_channels_have_one(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/deadline add Term sheet due Monday 12:00", channel_id="C-other")
    reply = await chat.say("/deadline show D1", channel_id="dm:alex")
    assert re.search(
        r"D1 matches 2 deadlines: D1 Signed usage agreement \(in #negotiation\), "
        r"D1 Term sheet \(in #C-other\)",
        reply,
    ), reply
    assert "Term sheet" in await chat.say('/deadline show "Term"', channel_id="dm:alex")
    # A deadline added in the DM itself is reached there too.
    await chat.say("/deadline add Private note due Monday 12:00", channel_id="dm:alex")
    assert "3 deadlines" in await chat.say("/deadline show D1", channel_id="dm:alex")


async def test_changes_typed_in_a_dm_are_announced_in_the_deadlines_channel(chat: Chat) -> None:
    await negotiation(chat)
    dm = {"channel_id": "dm:alex"}
    lines = [
        "/deadline extend D1 to Monday 09:00",
        "/deadline move D1 to Tuesday 09:00",
        "/deadline owners D1 @sam",
        "/position D1 support",
        "/position ask D1 @policy",
        "/deadline done D1",
    ]
    for line in lines:
        await chat.say(line, **dm)
        channel_messages = [m for m in chat.replies if m.audience is Audience.CHANNEL]
        assert channel_messages, line
        assert {m.channel_id for m in channel_messages} == {"negotiation"}, line


async def test_workspaces_share_nothing_even_by_button(chat: Chat) -> None:
    deadline_id = await negotiation(chat)
    other = chat.context(workspace_id="shell:other", channel_id="negotiation", user_id="alex")
    [reply] = await chat.runtime.service.press(
        ctx=other, action_id=ACTION_STANCE, value=f"{deadline_id}|support"
    )
    assert reply.fallback == "That deadline no longer exists."
