"""Hostile input changes nothing it should not: control characters never get stored or
shown, a button's id is bounded, and only people the platform linked can be asked."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import Context
from bot.errors import FormError, GrammarError
from bot.grammar import RecordPosition, parse_command
from bot.main import open_runtime
from bot.messages import Audience
from bot.runtime import Runtime
from bot.sanitize import strip_controls
from bot.views import ACTION_OPEN_FORM, ACTION_STANCE, FORM_POSITION
from tests.builders import snapshot as snapshot_of
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"
# C0 but newline, DEL, C1, and the bidi embeddings, overrides and isolates.
CONTROLS = [chr(c) for c in (*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0))]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    return await snapshot_of(runtime.repository)


def stored_text(data: dict[str, Any]) -> list[str]:
    """Every text a person could have put into the database."""
    texts = [d["title"] for d in data["deadlines"]]
    texts += [p[key] for p in data["positions"] for key in ("label", "terms", "stakeholder")]
    texts += [str(e["data"]) for e in data["events"]]
    return texts


async def test_control_characters_are_taken_out_before_anything_is_stored(chat: Chat) -> None:
    title = "Signed\x1b[2J usage\x07 agree\u202ement\x00"
    reply = await chat.say(f"/deadline add {title} due Friday 17:00")
    assert "D1 Signed[2J usage agreement" in reply  # the escape is gone, its text harmless
    await chat.say(
        "/position D1 oppose as \u202eAnthropic\x00 No mass\x85 surveillance\r\nno\tdrones",
        user="dario",
    )
    await chat.say("/deadline extend D1 to Monday 09:00 because \x1b]0;pwned\x07 review")
    data = await chat.runtime.repository.export_all()
    assert not [text for text in stored_text(data) if FORBIDDEN.search(text)]
    [position] = data["positions"]
    assert (position["label"], position["terms"]) == (
        "Anthropic",
        "No mass surveillance\nno drones",
    )
    assert "because ]0;pwned review" in await chat.say("/deadline show D1")


async def test_a_submitted_form_loses_its_control_characters_too(chat: Chat) -> None:
    await chat.say(ADD)
    deadline_id = str((await chat.runtime.repository.export_all())["deadlines"][0]["id"])
    await chat.runtime.service.submit_form(
        ctx=chat.context(),
        form_id=FORM_POSITION,
        value=deadline_id,
        fields={"stance": "oppose\x00", "party": "Acme\u2066 Corp", "terms": "line 1\x1b\nline 2"},
    )
    [position] = (await chat.runtime.repository.export_all())["positions"]
    assert (position["label"], position["terms"]) == ("Acme Corp", "line 1\nline 2")


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.one_of(st.sampled_from(CONTROLS + BIDI + ["\n", "\r", "\t"]), st.characters()),
        max_size=40,
    ).map("".join)
)
def test_no_parsed_field_keeps_a_control_character(noise: str) -> None:
    """Whatever is mixed into a line, the command read from it holds none of them
    (newlines only in terms), and stripping again changes nothing."""
    text = f"D1 oppose as {noise[:10] or 'x'} {noise}"
    try:
        parsed = parse_command("position", text)
    except GrammarError as error:
        assert not FORBIDDEN.search(str(error))
        return
    assert isinstance(parsed, RecordPosition)
    party, terms = parsed.party or "", parsed.terms or ""
    assert "\n" not in party
    for field in (party, terms):
        assert not FORBIDDEN.search(field) and strip_controls(field) == field


@pytest.fixture
async def pg_runtime(pg_url: str, clock: ManualClock) -> AsyncIterator[Runtime]:
    async with open_runtime(load_settings(database_url=pg_url), clock=clock) as built:
        yield built


async def test_nul_is_no_database_error_on_postgresql(pg_runtime: Runtime) -> None:
    chat = Chat(pg_runtime)
    reply = await chat.say("/deadline add Budget\x00 review due Friday 17:00")
    assert "D1 Budget review" in reply
    await chat.say("/position D1 oppose as Acme\x00 red\x00 lines")
    [position] = (await pg_runtime.repository.export_all())["positions"]
    assert (position["label"], position["terms"]) == ("Acme", "red lines")


BAD_IDS = [
    "99999999999999999999999",
    str(2**63),
    "-1",
    "0",
    "+1",
    "1_0",
    " 1",
    "1.0",
    "\u0661",  # an Arabic-Indic one: int() would read it
    "",
    "1" * 400,
]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_a_button_with_an_impossible_id_is_out_of_date(chat: Chat, bad: str) -> None:
    await chat.say(ADD)
    before = await snapshot(chat.runtime)
    service = chat.runtime.service
    for action_id, value in ((ACTION_STANCE, f"{bad}|support"), (ACTION_OPEN_FORM, bad)):
        [reply] = await service.press(ctx=chat.context(), action_id=action_id, value=value)
        assert reply.fallback == "That button is out of date."
    with pytest.raises(FormError, match="out of date"):
        await service.submit_form(
            ctx=chat.context(), form_id=FORM_POSITION, value=bad, fields={"stance": "support"}
        )
    with pytest.raises(ValueError):
        await service.position_form(ctx=chat.context(), deadline_id=bad)
    assert await snapshot(chat.runtime) == before


# As Slack or Teams hand them over: only <@U2> is a person the platform linked.
LINKED = {"platform": "slack", "mentioned": frozenset({"U2"})}


@pytest.mark.parametrize(
    ("people", "named"),
    [
        ("@general", '"@general" is not someone Slack linked as a person'),
        ("<@C0SECRET>", '"@C0SECRET" is not someone Slack linked as a person'),
        ("<@U2> <@U3>", '"@U3" is not someone Slack linked'),
        ("<#C0SECRET>", '"<#C0SECRET>" in "ask D1 <#C0SECRET>" is a channel or a group'),
        ("<!here>", '"<!here>" in "ask D1 <!here>" is a channel or a group'),
        ("<@U2> <!channel>", '"<!channel>" in "ask D1 <@U2> <!channel>" is a channel'),
    ],
)
async def test_only_people_the_platform_linked_can_be_asked(
    chat: Chat, people: str, named: str
) -> None:
    await chat.say(ADD)
    before = await snapshot(chat.runtime)
    ctx = Context(**(vars_of(chat.context()) | LINKED))
    for command in (f"ask D1 {people}",):
        replies = await chat.runtime.service.handle(ctx=ctx, command="position", text=command)
        assert [m.audience for m in replies] == [Audience.EPHEMERAL]
        assert named in replies[0].fallback and "Nothing was" in replies[0].fallback
    owners = await chat.runtime.service.handle(
        ctx=ctx, command="deadline", text=f"owners D1 {people}"
    )
    assert [m.audience for m in owners] == [Audience.EPHEMERAL]
    assert await snapshot(chat.runtime) == before
    asked = await chat.runtime.service.handle(ctx=ctx, command="position", text="ask D1 <@U2>")
    assert [(m.audience, m.user_id) for m in asked[1:]] == [(Audience.DIRECT, "U2")]


def vars_of(ctx: Context) -> dict[str, Any]:
    return {name: getattr(ctx, name) for name in ctx.__slots__}


@pytest.mark.parametrize("field", ["workspace_id", "channel_id", "user_id"])
async def test_ids_with_control_characters_are_refused_before_the_database(
    chat: Chat, field: str
) -> None:
    await chat.say(ADD)
    before = await snapshot(chat.runtime)
    ctx = Context(**(vars_of(chat.context()) | {field: "C1\x00"}))
    replies = await chat.runtime.service.handle(
        ctx=ctx, command="deadline", text="add X due Friday"
    )
    assert [m.audience for m in replies] == [Audience.EPHEMERAL]
    assert "cannot read" in replies[0].fallback
    [pressed] = await chat.runtime.service.press(ctx=ctx, action_id=ACTION_STANCE, value="1|no")
    assert "cannot read" in pressed.fallback
    assert await snapshot(chat.runtime) == before
