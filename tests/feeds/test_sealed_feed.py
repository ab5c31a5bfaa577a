"""A sealed deadline's feed (fetched from the real aiohttp app) shows its positions as
sealed, never their stance or terms, until the reveal; then it shows them."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import Chat
from tests.feeds.feedcheck import fetch, link_in, subscribe

RED_LINE = "No mass surveillance of Americans"


async def test_the_feed_hides_a_sealed_position_until_the_reveal(
    chat: Chat, http: TestClient[Any, Any]
) -> None:
    added = await chat.say(
        "/deadline add Signed usage due 2026-11-27 17:00 America/New_York sealed"
    )
    event = link_in(added)  # the card's "Add to calendar" link
    await chat.say(f"/position D1 oppose {RED_LINE}", user="sam")
    channel = await subscribe(chat, "/deadline feed")
    mine = await subscribe(chat, "/deadline feed mine")
    for path in (channel, mine, event):
        status, body, _ = await fetch(http, path)
        text = body.decode().replace("\r\n ", "")
        assert status == 200 and RED_LINE not in text and "sam: oppose" not in text
        assert "@sam: sealed (commitment" in text
    await chat.say("/deadline done D1")
    _, body, _ = await fetch(http, channel)
    assert RED_LINE in body.decode().replace("\r\n ", "")
