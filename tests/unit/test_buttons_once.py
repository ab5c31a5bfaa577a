"""Buttons that carry a command run at most once across replicas: two runtimes on one
database (a SQLite file, PostgreSQL), each with its own memory, share the prompts
already answered and the key that signs the buttons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_settings
from bot.main import open_runtime
from bot.messages import Actions, Audience, Message
from bot.runtime import Runtime
from bot.views import ACTION_CHOOSE_TIME
from storage.db import run_migrations
from tests.conftest import Chat, PostgresServer

USED = "One of these choices has already been used."


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One database for both runtimes. (Sync: PostgreSQL's is made outside the test's loop.)"""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    url = asyncio.run(postgres.create_database())
    try:
        asyncio.run(run_migrations(url))
        yield url
    finally:
        asyncio.run(postgres.drop_database(url))


@pytest.fixture
async def two_runtimes(shared_url: str, clock: ManualClock) -> AsyncIterator[tuple[Chat, Chat]]:
    async with AsyncExitStack() as stack:
        chats = []
        for _ in range(2):
            runtime: Runtime = await stack.enter_async_context(
                open_runtime(load_settings(database_url=shared_url), clock=clock)
            )
            chats.append(Chat(runtime))
        yield chats[0], chats[1]


def values(message: Message) -> list[str]:
    return [
        b.value for block in message.blocks if isinstance(block, Actions) for b in block.buttons
    ]


async def press(chat: Chat, value: str) -> Message:
    [reply] = await chat.runtime.service.press(
        ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value=value
    )
    return reply


async def deadlines(chat: Chat) -> list[str]:
    listed = await chat.runtime.repository.list_deadlines(workspace_id=chat.workspace)
    return [d.title for d in listed]


async def test_a_prompt_answered_on_one_replica_is_refused_on_the_other(
    two_runtimes: tuple[Chat, Chat],
) -> None:
    one, other = two_runtimes
    await one.say("/deadline add Side letter due Friday evening")
    first, second, *_ = values(one.replies[0])
    # The other replica checks the first one's signature: the key is the deployment's.
    done = await press(other, first)
    assert done.audience is Audience.CHANNEL and "New deadline" in done.fallback
    assert (await press(one, second)).fallback == USED
    assert (await press(other, second)).fallback == USED
    assert await deadlines(one) == ["Side letter"]


async def test_two_choices_of_one_prompt_clicked_at_once_on_two_replicas_make_one_deadline(
    two_runtimes: tuple[Chat, Chat],
) -> None:
    one, other = two_runtimes
    await one.say("/deadline add Side letter due Friday evening")
    first, second, *_ = values(one.replies[0])
    replies = await asyncio.gather(press(one, first), press(other, second))
    assert sorted(r.fallback == USED for r in replies) == [False, True]
    assert await deadlines(one) == ["Side letter"]


async def test_a_choice_refused_on_one_replica_may_be_picked_on_the_other(
    two_runtimes: tuple[Chat, Chat], clock: ManualClock
) -> None:
    one, other = two_runtimes
    clock.set(datetime(2026, 11, 26, 21, 50, tzinfo=UTC))  # 16:50 in New York
    await one.say("/deadline add Side letter due tonight")
    first, second, *_ = values(one.replies[0])
    clock.advance(timedelta(minutes=11))  # 17:01: the first choice has passed
    assert "which is in the past" in (await press(one, first)).fallback
    assert "New deadline set" in (await press(other, second)).fallback
    assert (await press(one, second)).fallback == USED
    assert await deadlines(one) == ["Side letter"]


ALTERED = "That button's value was changed after Parley made it"
OUT_OF_DATE = "That button is out of date."


@pytest.mark.parametrize(
    ("change", "told"),
    [
        ({"t": "add Other due 2026-12-01T09:00-05:00"}, ALTERED),
        ({"x": 4102444800}, ALTERED),  # a later expiry
        ({"u": "mallory"}, ALTERED),
        ({"s": "é" * 64}, ALTERED),
        ({"s": 5}, ALTERED),
        ({"x": 10**30}, OUT_OF_DATE),
        ({"d": "yes"}, OUT_OF_DATE),
        ({"k": None, "w": []}, ALTERED),
    ],
)
async def test_an_altered_choice_is_refused_in_one_line_and_changes_nothing(
    chat: Chat, change: dict[str, object], told: str
) -> None:
    await chat.say("/deadline add Side letter due Friday evening")
    [value, *_] = values(chat.replies[0])
    before = await chat.runtime.repository.export_all()
    forged = json.dumps(json.loads(value) | change)
    for user in ("alex", "mallory"):
        [reply] = await chat.runtime.service.press(
            ctx=chat.context(user=user), action_id=ACTION_CHOOSE_TIME, value=forged
        )
        assert reply.fallback.startswith(told) and "\n" not in reply.fallback
    assert await chat.runtime.repository.export_all() == before
