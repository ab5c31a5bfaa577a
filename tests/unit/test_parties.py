"""Parties through the shell: declaring them and their reps, who may speak for one,
``as <party>`` against the declared names, expected parties and who is silent."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00"


async def test_a_party_with_reps_is_spoken_for_only_by_them(chat: Chat) -> None:
    said = await chat.say('/party add "Department of Defense" @pete')
    assert "declared the party Department of Defense, represented by @pete" in said
    await chat.say(ADD)
    refused = await chat.say('/position D1 support as "department of defense" all lawful use')
    assert "Only Department of Defense's reps (@pete) can record its position" in refused
    assert "No positions yet" in await chat.say("/position list D1")
    said = await chat.say(
        '/position D1 support as "department of DEFENSE" all lawful use', user="pete"
    )
    assert "Department of Defense supports D1" in said
    matrix = await chat.say("/position list D1")
    assert "Department of Defense: support — all lawful use" in matrix
    assert "Silent" not in matrix


async def test_as_must_name_a_declared_party_once_there_are_some(chat: Chat) -> None:
    await chat.say(ADD)
    assert "Anthropic opposes" in await chat.say("/position D1 oppose as Anthropic")
    await chat.say("/party add Anthropic @dana")
    said = await chat.say("/position D1 oppose as Anthropik", user="dana")
    assert '"Anthropik" is not a party of this negotiation. Did you mean "Anthropic"?' in said


async def test_expected_parties_are_silent_until_a_rep_answers(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say('/party add "Department of Defense" @pete')
    await chat.say(ADD)
    await chat.say("/position ask D1 @legal")
    matrix = await chat.say("/position list D1")
    assert "Silent: Anthropic, Department of Defense, @legal" in matrix
    assert "Silent: Anthropic, Department of Defense, @legal" in await chat.say("/deadline show D1")
    await chat.say("/position D1 oppose as anthropic red lines", user="dana")
    await chat.say("/position D1 support", user="legal")
    assert "Silent: Department of Defense" in await chat.say("/position list D1")
    refused = await chat.say("/deadline expect D1 anthropic", user="pete")
    assert "Only @alex (owner) can change which parties D1 expects" in refused
    await chat.say("/deadline expect D1 anthropic")
    assert "Silent" not in await chat.say("/position list D1")
    await chat.say("/deadline expect D1 none")
    assert "expected parties: none" in await chat.say("/deadline show D1")


async def test_a_party_declared_after_a_deadline_is_not_expected_on_it(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say(ADD)
    clock.advance(timedelta(minutes=1))
    await chat.say("/party add Anthropic")
    assert "Silent" not in await chat.say("/position list D1")


async def test_reps_change_only_by_reps_and_list_shows_stances(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    refused = await chat.say("/party add Anthropic @mallory", user="mallory")
    assert "Only Anthropic's reps (@dana) can add reps to Anthropic" in refused
    assert "added @sam as reps of Anthropic" in await chat.say(
        "/party add anthropic @sam", user="dana"
    )
    await chat.say(ADD)
    await chat.say("/position D1 conditional as Anthropic", user="sam")
    listed = await chat.say("/party list")
    assert "Anthropic (reps: @dana, @sam)" in listed
    assert "D1 Signed usage agreement: conditional" in listed
    assert "took @dana off" in await chat.say("/party remove Anthropic @dana", user="sam")
    refused = await chat.say("/party remove Anthropic", user="dana")
    assert "Only Anthropic's reps (@sam)" in refused
    assert "removed the party Anthropic" in await chat.say("/party remove Anthropic", user="sam")
    assert "No parties declared" in await chat.say("/party list")


async def test_party_names_are_limited_and_help_answers(chat: Chat) -> None:
    said = await chat.say("/party add " + "x" * 101)
    assert "the limit is 100" in said
    assert "/party add <name>" in await chat.say("/party help")
