"""Offers through the shell: versions in order, links (the shell prints a link's URL after
its title) and their checks, ``from <party>`` only for declared parties, the offer a
position answered, and channel boundaries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00"


async def test_offers_are_versions_listed_in_order(chat: Chat, clock: ManualClock) -> None:
    await chat.say(ADD)
    said = await chat.say("/offer D1 Draft usage terms")
    assert "put a new offer on the table for D1 Signed usage agreement: O1 Draft usage terms." in (
        said
    )
    clock.advance(timedelta(hours=2))
    said = await chat.say(
        "/offer D1 Best and final offer https://docs.example.com/bafo.pdf", user="pete"
    )
    assert "O2 Best and final offer (https://docs.example.com/bafo.pdf)." in said
    await chat.say("/offer D1 Counter-proposal")
    listing = await chat.say("/offer list D1")
    lines = [line for line in listing.splitlines() if line.startswith("O")]
    assert [line.split(" ", 1)[0] for line in lines] == ["O1", "O2", "O3"]
    assert lines[1].startswith(
        "O2 Best and final offer (https://docs.example.com/bafo.pdf), recorded by @pete"
    )
    assert lines[2].startswith("O3 Counter-proposal (current)")
    history = await chat.say("/deadline show D1")
    assert "offer O1: Draft usage terms (recorded by @alex)" in history
    assert "offer O2: Best and final offer (docs.example.com) (recorded by @pete)" in history


async def test_from_counts_only_for_a_declared_party_at_the_end(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say(ADD)
    said = await chat.say("/offer D1 Letter from counsel from anthropic")
    assert "O1 Letter from counsel from Anthropic." in said
    said = await chat.say("/offer D1 Letter from counsel")
    assert "O2 Letter from counsel." in said
    await chat.say('/party add "Department of Defense" @pete')
    said = await chat.say('/offer D1 BAFO https://example.com/b from "department of defense"')
    assert "O3 BAFO (https://example.com/b) from Department of Defense." in said
    assert "The offer has no title, only its party." in await chat.say("/offer D1 from Anthropic")
    listing = await chat.say("/offer list D1")
    assert "O1 Letter from counsel from Anthropic, recorded by @alex" in listing
    assert "O2 Letter from counsel, recorded by @alex" in listing


async def test_a_slack_link_is_unwrapped_and_the_last_link_counts(chat: Chat) -> None:
    await chat.say(ADD)
    said = await chat.say(
        "/offer D1 Terms http://old.example.org/v1 <https://new.example.com/v2?x=1|the v2 pdf>"
    )
    assert "O1 Terms http://old.example.org/v1 (https://new.example.com/v2?x=1)." in said
    said = await chat.say("/offer D1 <https://files.example.com/bafo|Best and final offer>")
    assert "O2 Best and final offer (https://files.example.com/bafo)." in said


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("/offer D1 Click javascript:alert(document.cookie)", "has a javascript: link"),
        ("/offer D1 Click <javascript:alert(1)|here>", "has a javascript: link"),
        ("/offer D1 Files ftp://example.com/bafo", "has a ftp: link"),
        ("/offer D1 BAFO https://pete:hunter2@example.com/bafo", "user name or password"),
        ("/offer D1 BAFO https://pete@example.com/bafo", "user name or password"),
        ("/offer D1 BAFO https://example.com:99999/bafo", "could not read the link"),
        ("/offer D1 BAFO https:///nohost", "not an http(s) link to a host"),
        ("/offer D1 https://example.com/bafo", "gives the offer no title"),
    ],
)
async def test_links_that_are_not_plain_http_are_refused(
    chat: Chat, line: str, refusal: str
) -> None:
    await chat.say(ADD)
    said = await chat.say(line)
    assert refusal in said
    assert "Traceback" not in said
    assert "No offers on D1" in await chat.say("/offer list D1")


async def test_a_new_offer_marks_positions_given_on_older_ones(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/position D1 oppose as Anthropic no mass surveillance")
    await chat.say("/offer D1 Draft usage terms")
    await chat.say("/position D1 conditional", user="legal")
    matrix = await chat.say("/position list D1")
    assert "On the table: O1 Draft usage terms" in matrix
    assert "Anthropic: oppose (before O1) — no mass surveillance" in matrix
    assert "@legal: conditional\n" in matrix + "\n"
    said = await chat.say("/offer D1 Best and final offer")
    assert "Positions given earlier answered O1 or before." in said
    await chat.say("/position D1 support", user="policy")
    matrix = await chat.say("/position list D1")
    assert "On the table: O2 Best and final offer" in matrix
    assert "@legal: conditional (on O1)" in matrix
    assert "@policy: support\n" in matrix + "\n"
    # Answering again answers the offer now on the table.
    await chat.say("/position D1 support", user="legal")
    assert "@legal: support\n" in await chat.say("/position list D1") + "\n"


async def test_offers_stay_inside_their_channel(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/offer D1 Draft usage terms")
    elsewhere = await chat.say("/offer D1 Sneaky offer", channel_id="other")
    assert "no deadline" in elsewhere.lower()
    assert "no deadline" in (await chat.say("/offer list D1", channel_id="other")).lower()
    assert "Sneaky" not in await chat.say("/offer list D1")


async def test_offers_need_an_open_deadline_and_help_answers(chat: Chat) -> None:
    await chat.say(ADD)
    await chat.say("/deadline cancel D1")
    assert "D1 is cancelled; offers are recorded on open deadlines." in await chat.say(
        "/offer D1 Too late"
    )
    assert "from <party>" in await chat.say("/offer help")
    assert "Which deadline's offers?" in await chat.say("/offer list")
