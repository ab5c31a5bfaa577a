"""``/negotiation`` through the shell: linking channels by code, one set of parties and
D-numbers across them, the channel boundary around exactly the linked set, what each
channel is told (through the shell's gateway), and the refusals."""

from __future__ import annotations

import io
import re

import pytest

from adapters.shell.console import ShellGateway
from bot.runtime import Runtime
from tests.conftest import Chat

ADD = "/deadline add {} due 2026-11-27T17:00-05:00"
CODE = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")


@pytest.fixture
def posted(runtime: Runtime) -> io.StringIO:
    """What the shell's gateway posts to other channels (a linked set's relays)."""
    out = io.StringIO()
    runtime.gateways["shell"] = ShellGateway(out=out, clock=runtime.clock)
    return out


async def code_for(chat: Chat, channel: str) -> str:
    said = await chat.say("/negotiation link", channel_id=channel)
    assert chat.replies[0].sensitive  # the code is for the one who asked
    return str(CODE.findall(said)[0])


async def test_linked_channels_share_parties_and_numbers_and_nobody_else_reaches_them(
    chat: Chat, posted: io.StringIO
) -> None:
    await chat.say(ADD.format("Signed usage agreement"), channel_id="a")
    code = await code_for(chat, "a")
    joined = await chat.say(f"/negotiation join {code}", channel_id="b", user="dana")
    assert "dana linked #b (shell) into this negotiation" in joined
    assert "dana linked #b (shell) into this negotiation" in posted.getvalue()  # told in #a

    await chat.say('/party add "Department of Defense" @pete', channel_id="b")
    assert "Department of Defense" in await chat.say("/party list", channel_id="a")
    added = await chat.say(ADD.format("Term sheet"), channel_id="b")
    assert "D2" in added  # one D-number sequence
    assert "Term sheet" in posted.getvalue()  # the announcement reaches #a too
    assert "Term sheet" in await chat.say("/deadline show D2", channel_id="a")
    assert "Signed usage agreement" in await chat.say("/deadline show D1", channel_id="b")

    outside = await chat.say("/deadline show D2", channel_id="c")
    assert "There is no deadline D2 in this channel." in outside
    shown = await chat.say("/negotiation show", channel_id="b")
    assert "#a (shell) — home, #b (shell)" in shown
    assert "Parties: Department of Defense" in shown
    assert "D1 Signed usage agreement, D2 Term sheet" in shown


async def test_a_channel_with_open_deadlines_cannot_join(chat: Chat, posted: io.StringIO) -> None:
    await chat.say(ADD.format("Own business"), channel_id="b")
    code = await code_for(chat, "a")
    refused = await chat.say(f"/negotiation join {code}", channel_id="b")
    assert "This channel has open deadlines of its own (D1)" in refused
    assert "Nothing was linked" in refused
    await chat.say("/deadline cancel D1", channel_id="b")
    # The refusal did not spend the code.
    assert "linked #b" in await chat.say(f"/negotiation join {code}", channel_id="b")
    again = await chat.say(f"/negotiation join {code}", channel_id="c")
    assert "unknown, already used or expired" in again


async def test_unlink_from_a_member_or_from_the_home(chat: Chat, posted: io.StringIO) -> None:
    await chat.say(ADD.format("Signed usage agreement"), channel_id="a")
    await chat.say(f"/negotiation join {await code_for(chat, 'a')}", channel_id="b")
    await chat.say(f"/negotiation join {await code_for(chat, 'b')}", channel_id="c")
    assert "#a (shell) — home, #b (shell), #c (shell)" in await chat.say(
        "/negotiation show", channel_id="c"
    )
    left = await chat.say("/negotiation unlink", channel_id="c", user="sam")
    assert "sam unlinked #c (shell) from this negotiation" in left
    assert "sam unlinked #c" in posted.getvalue()
    assert "no deadline D1" in await chat.say("/deadline show D1", channel_id="c")
    assert "Signed usage agreement" in await chat.say("/deadline show D1", channel_id="b")

    ended = await chat.say("/negotiation unlink", channel_id="a")
    assert "the link has ended for every channel" in ended
    assert "no deadline D1" in await chat.say("/deadline show D1", channel_id="b")
    assert "this one only" in await chat.say("/negotiation show", channel_id="b")
    assert "not linked" in await chat.say("/negotiation unlink", channel_id="b")


@pytest.mark.parametrize(
    ("channel", "text", "told"),
    [
        ("dm:alex", "link", "Negotiations are linked from channels"),
        ("a", "join", "Type the code after join: /negotiation join <code>."),
        ("a", "join " + "X" * 5000, "unknown, already used or expired"),
        ("a", "join a b c d e f", "I don't know"),
        ("a", "join \u202eABCD", "unknown, already used or expired"),
        ("a", "frobnicate", "I don't know /negotiation frobnicate."),
        ("a", "", "/negotiation join <code>"),
        ("a", "help", "/negotiation link: a one-time code"),
    ],
)
async def test_refusals_are_one_clear_line(chat: Chat, channel: str, text: str, told: str) -> None:
    said = await chat.say(f"/negotiation {text}", channel_id=channel)
    assert told in said
    assert "Traceback" not in said
    assert "this one only" in await chat.say("/negotiation show", channel_id="a")


async def test_a_code_for_the_same_channel_is_refused(chat: Chat) -> None:
    code = await code_for(chat, "a")
    said = await chat.say(f"/negotiation join {code}", channel_id="a")
    assert "That code is for this channel" in said
