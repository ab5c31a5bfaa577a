"""Roles: owners change a deadline, whoever first recorded a party's position changes it,
and everyone else is told who can; terms stay unless changed, and history shows them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.messages import Audience
from bot.runtime import Runtime
from tests.builders import snapshot as snapshot_of
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"
OWNER_ONLY = [
    ("/deadline extend D1 to Monday 09:00", "extend D1"),
    ("/deadline extend D1 to Friday evening", "extend D1"),  # refused before any choices
    ("/deadline move D1 to Thursday 12:00", "move D1"),
    ("/deadline done D1", "mark D1 done"),
    ("/deadline cancel D1", "cancel D1"),
    ("/deadline remind D1 1h", "change D1's reminders"),
    ("/deadline owners D1 @mallory", "change D1's owners"),
    ("/deadline owners D1 remove @alex", "change D1's owners"),
]


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    return await snapshot_of(runtime.repository)


@pytest.mark.parametrize(("line", "doing"), OWNER_ONLY)
async def test_only_owners_change_a_deadline(chat: Chat, line: str, doing: str) -> None:
    await chat.say(ADD)
    before = await snapshot(chat.runtime)
    reply = await chat.say(line, user="mallory")
    assert chat.audiences == [Audience.EPHEMERAL]
    assert f"Only @alex (owner) can {doing}. Nothing was changed." in reply
    assert "/deadline owners D1 @mallory" in reply  # how to become one
    assert await snapshot(chat.runtime) == before
    await chat.say("/deadline owners D1 @sam")
    assert f"Only @alex (owner) or @sam can {doing}." in await chat.say(line, user="mallory")


async def test_co_owners_share_the_deadline_and_the_last_owner_stays(chat: Chat) -> None:
    await chat.say(ADD)
    added = await chat.say("/deadline owners D1 @sam @kim")
    assert chat.audiences == [Audience.CHANNEL]
    assert "@alex added @sam, @kim as co-owners of D1" in added
    assert "Owners now: @alex (owner), @sam or @kim." in added
    assert "Owners: @alex (owner), @sam or @kim" in await chat.say("/deadline show D1")
    assert "Owners of D1" in await chat.say("/deadline owners D1", user="mallory")
    assert "already own D1" in await chat.say("/deadline owners D1 @sam", user="kim")
    assert "extended D1" in await chat.say("/deadline extend D1 to Monday 09:00", user="sam")
    # Owners may step down, the creator too, but never the last one.
    await chat.say("/deadline owners D1 remove @alex @kim", user="sam")
    shown = await chat.say("/deadline show D1")
    assert "Owner: @sam (owner)" in shown
    assert "@sam removed @alex, @kim as owners" in shown and "@alex added @sam, @kim" in shown
    assert "Only @sam (owner) can cancel D1." in await chat.say("/deadline cancel D1")
    last = await chat.say("/deadline owners D1 remove @sam", user="sam")
    assert "D1 needs an owner" in last
    assert "@mallory is not an owner of D1" in await chat.say(
        "/deadline owners D1 remove @mallory", user="sam"
    )
    assert "cancelled D1" in await chat.say("/deadline cancel D1", user="sam")


async def test_a_partys_position_is_changed_only_by_who_first_recorded_it(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position D1 oppose as Anthropic No mass surveillance", user="dario")
    before = await snapshot(chat.runtime)
    for user in ("mallory", "alex"):  # alex owns the deadline, and still may not
        reply = await chat.say("/position D1 support as anthropic all lawful use", user=user)
        assert chat.audiences == [Audience.EPHEMERAL]
        assert "Only @dario, who first recorded Anthropic's position on D1, can change it." in reply
    assert await snapshot(chat.runtime) == before
    await chat.say("/position D1 conditional as Anthropic with an audit clause", user="dario")
    assert "Anthropic: conditional — with an audit clause" in await chat.say("/position list D1")
    # Nobody else records a person's own position: it is keyed by who types it.
    await chat.say("/position D1 support", user="legal")
    await chat.say("/position D1 oppose", user="mallory")
    matrix = await chat.say("/position list D1")
    assert "@legal: support" in matrix and "@mallory: oppose" in matrix


async def test_typed_without_terms_keeps_them_and_terms_none_clears_them(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position D1 oppose as Anthropic No mass surveillance", user="dario")
    kept = await chat.say("/position D1 support as Anthropic", user="dario")
    assert "Anthropic supports D1 Signed usage agreement (recorded by @dario): No mass" in kept
    assert "Anthropic: support — No mass surveillance" in await chat.say("/position list D1")
    await chat.say("/position D1 support as Anthropic terms none", user="dario")
    assert "Anthropic: support\n" in await chat.say("/position list D1") + "\n"
    history = await chat.say("/deadline show D1")
    assert "Anthropic: oppose — No mass surveillance (recorded by @dario)" in history
    assert "Anthropic: support — No mass surveillance (recorded by @dario)" in history
    assert "Anthropic: support, terms cleared (recorded by @dario)" in history
