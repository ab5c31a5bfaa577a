"""A new deadline is written at most once per idempotency key (``bot.once``), on SQLite
(the key claimed in the add's transaction) and on PostgreSQL (claimed in the add's one
statement, or in a transaction when the command carries more than one key)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from bot import once
from bot.domain import Deadline
from storage.repository import SqlRepository
from tests.builders import a_deadline, add_deadline
from tests.storage.test_repository import NOW

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio

USED = "This request was handled already."


def key(digest: str) -> once.Key:
    return once.Key(digest=digest, now=NOW, expires_at=NOW + timedelta(days=1), refusal=USED)


async def add_once(repo: SqlRepository, *keys: once.Key, title: str = "Side letter") -> Deadline:
    """One ``/deadline add`` run as a command carrying ``keys``."""

    async def claim(k: once.Key) -> bool:
        return await repo.claim_replay_key(key=k.digest, now=k.now, expires_at=k.expires_at)

    draft = a_deadline(title=title, created=NOW, due=NOW + timedelta(days=3))
    return await once.run_once(lambda: add_deadline(repo, draft), claim=claim, extra=keys)


async def numbers(repo: SqlRepository) -> list[tuple[int, str]]:
    listed = await repo.list_deadlines(workspace_id="slack:T1")
    return sorted((d.number, d.title) for d in listed)


async def test_an_add_whose_key_was_used_writes_nothing_not_even_its_number(
    repo: SqlRepository,
) -> None:
    first = await add_once(repo, key("a" * 64))
    assert first.number == 1
    with pytest.raises(once.AlreadyHandled) as refused:
        await add_once(repo, key("a" * 64), title="Copy")
    assert str(refused.value) == USED
    # The copy took no number: the next deadline is the second.
    await add_once(repo, key("b" * 64), title="Next")
    assert await numbers(repo) == [(1, "Side letter"), (2, "Next")]


async def test_an_add_with_two_keys_one_used_writes_nothing_and_keeps_the_other_free(
    repo: SqlRepository,
) -> None:
    await add_once(repo, key("c" * 64))
    with pytest.raises(once.AlreadyHandled):
        await add_once(repo, key("d" * 64), key("c" * 64), title="Copy")
    assert await numbers(repo) == [(1, "Side letter")]
    # The fresh key's claim went with the refused add: it can still run.
    await add_once(repo, key("d" * 64), key("e" * 64), title="Later")
    assert await numbers(repo) == [(1, "Side letter"), (2, "Later")]


async def test_copies_of_an_add_at_once_on_two_connections_make_one_deadline(
    database: Database, open_repo: RepoFactory
) -> None:
    one, other = await open_repo(database), await open_repo(database)
    results = await asyncio.gather(
        add_once(one, key("f" * 64)), add_once(other, key("f" * 64)), return_exceptions=True
    )
    assert sorted(type(result).__name__ for result in results) == ["AlreadyHandled", "Deadline"]
    assert await numbers(one) == [(1, "Side letter")]
