"""A sealed deadline's brief: no stance or terms before the reveal, all of them after."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.brief.scenario import brief_path
from tests.brief.test_brief_http import page_of
from tests.conftest import Chat
from tests.feeds.feedcheck import fetch

Client = TestClient[Any, Any]

RED_LINE = "No mass surveillance of Americans"
LICENSE = "License for all lawful use"


async def test_a_sealed_brief_shows_commitments_until_the_reveal(chat: Chat, http: Client) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say('/party add "Department of Defense" @pete')
    await chat.say("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00 sealed")
    await chat.say(f"/position D1 oppose as Anthropic {RED_LINE}", user="dana")
    await chat.say(f'/position D1 support as "Department of Defense" {LICENSE}', user="pete")
    path = await brief_path(chat)

    page = await page_of(http, path)
    _, data, _ = await fetch(http, path + "?format=json")
    shown = [*page.cards, *page.entries, *(" ".join(row) for row in page.rows), data.decode()]
    for text in shown:
        assert RED_LINE not in text and LICENSE not in text, text
        assert "oppose" not in text and "support" not in text, text
    _, anthropic, defense = page.rows
    assert anthropic[0] == "Anthropic" and anthropic[1].startswith("sealed commitment")
    assert defense[0] == "Department of Defense" and defense[1].startswith("sealed commitment")

    await chat.say("/deadline done D1 because signed", user="alex")
    page = await page_of(http, path)
    _, anthropic, defense = page.rows
    assert anthropic[1].startswith("oppose") and RED_LINE in anthropic[1]
    assert defense[1].startswith("support") and LICENSE in defense[1]
    _, data, _ = await fetch(http, path + "?format=json")
    assert RED_LINE in data.decode() and '"stance": "sealed"' not in data.decode()
