"""A personal ("mine") feed shows every deadline its person owns, as creator or as a
co-owner, on SQLite and PostgreSQL: typed owners commands, then the feed fetched from
the real aiohttp app as a calendar client would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.clock import ManualClock
from bot.config import load_settings
from bot.main import open_runtime
from bot.runtime import Runtime
from tests.conftest import Chat
from tests.feeds.feedcheck import fetch, parse_both, subscribe

Client = TestClient[Any, Any]
DUE = "2026-11-27 17:00 America/New_York"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


@pytest.fixture
async def runtime(database_url: str, clock: ManualClock) -> AsyncIterator[Runtime]:
    async with open_runtime(load_settings(database_url=database_url), clock=clock) as built:
        yield built


async def titles(http: Client, path: str) -> list[str]:
    status, body, _ = await fetch(http, path)
    assert status == 200
    return sorted(event.summary for event in parse_both(body).values())


async def test_a_co_owner_sees_the_deadline_until_removed(chat: Chat, http: Client) -> None:
    await chat.say(f"/deadline add Shared due {DUE}", user_id="ana")
    await chat.say(f"/deadline add Ana alone due {DUE}", user_id="ana")
    await chat.say(f"/deadline add Bob's due {DUE}", user_id="bob")
    reply = await chat.say("/deadline owners D1 @bo", user_id="ana")
    assert "bo" in reply
    bo = await subscribe(chat, "/deadline feed mine", user_id="bo")
    ana = await subscribe(chat, "/deadline feed mine", user_id="ana")
    # "bo" is a prefix of "bob": only exact owners count.
    assert await titles(http, bo) == ["D1 Shared"]
    assert await titles(http, ana) == ["D1 Shared", "D2 Ana alone"]

    await chat.say("/deadline owners D1 remove @bo", user_id="ana")
    assert await titles(http, bo) == []


async def test_the_creator_who_steps_down_leaves_it_to_the_co_owner(
    chat: Chat, http: Client
) -> None:
    await chat.say(f"/deadline add Handed over due {DUE}", user_id="ana")
    await chat.say("/deadline owners D1 @bo", user_id="ana")
    ana = await subscribe(chat, "/deadline feed mine", user_id="ana")
    bo = await subscribe(chat, "/deadline feed mine", user_id="bo")
    assert await titles(http, ana) == ["D1 Handed over"]

    reply = await chat.say("/deadline owners D1 remove @ana", user_id="ana")
    assert "bo" in reply
    assert await titles(http, ana) == []
    assert await titles(http, bo) == ["D1 Handed over"]


@pytest.mark.parametrize(
    ("creator", "person"),
    [
        ('x","bo', "bo"),  # the owners' JSON holds '\"bo"': quoted "bo", but not an owner
        ("bo", ","),  # '","' sits between any two owners
        ("bo", "b_"),  # LIKE wildcards in an id are literal
        ("bo", "%"),
    ],
)
async def test_ids_that_look_like_json_or_patterns_match_only_themselves(
    chat: Chat, http: Client, creator: str, person: str
) -> None:
    await chat.say(f"/deadline add Not theirs due {DUE}", user_id=creator)
    await chat.say("/deadline owners D1 @ana", user_id=creator)
    await chat.say(f"/deadline add Theirs due {DUE}", user_id=person)
    feed = await subscribe(chat, "/deadline feed mine", user_id=person)
    assert await titles(http, feed) == ["D2 Theirs"]
