"""A manual nudge is history: `show` and the brief's timeline list it, newest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.clock import ManualClock
from tests.brief.scenario import brief_path
from tests.brief.test_brief_http import page_of
from tests.conftest import Chat

Client = TestClient[Any, Any]


async def test_a_nudge_is_in_show_and_at_the_top_of_the_brief_timeline(
    chat: Chat, clock: ManualClock, http: Client
) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    await chat.say("/position ask D1 @legal")
    clock.advance(timedelta(minutes=5))
    said = await chat.say("/position nudge D1", user="pete")
    assert "legal" in said
    shown = await chat.say("/deadline show D1")
    assert "nudged the silent: Anthropic, @legal" in shown

    page = await page_of(http, await brief_path(chat))
    assert "nudged the silent" in page.entries[0], page.entries
    # A nudge refused within the hour is not history.
    await chat.say("/position nudge D1", user="pete")
    assert (await chat.say("/deadline show D1")).count("nudged the silent") == 1
