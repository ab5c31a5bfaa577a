"""The list's read model on PostgreSQL: kept while no replica changed a deadline, and
dropped when any did (LISTEN/NOTIFY, ``storage.changes``).

Two repositories on one database stand for two replicas. What is observed: the
statements each one sends to the database (counted at the engine), and what
``list_deadlines`` answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text

from bot.domain import DeadlineStatus, EventKind
from storage.changes import APPLICATION_NAME
from storage.db import make_engine
from storage.repository import SqlRepository
from tests.storage.test_repository import add, event

pytestmark = pytest.mark.asyncio

OPEN = frozenset({DeadlineStatus.OPEN})
PATIENCE = 10.0  # seconds to wait for a notification or a reconnection (far more than needed)


class Replica:
    """A repository of its own on the database, counting the SELECTs it sends."""

    def __init__(self, url: str) -> None:
        self.repo = SqlRepository(make_engine(url))
        self.selects = 0

        def count(*args: Any) -> None:
            if args[2].lstrip().upper().startswith("SELECT"):
                self.selects += 1

        sa_event.listen(self.repo._db.engine.sync_engine, "before_cursor_execute", count)

    async def titles(self) -> list[str]:
        found = await self.repo.list_deadlines(workspace_id="A", channel_id="C1", statuses=OPEN)
        return [deadline.title for deadline in found]

    async def loads(self) -> bool:
        """Whether a list now goes to the database."""
        before = self.selects
        await self.titles()
        return self.selects > before


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    first, second = Replica(pg_url), Replica(pg_url)
    yield first, second
    for replica in (first, second):
        await replica.repo.close()


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait, in small steps, until ``check()`` holds (PATIENCE seconds at most)."""
    async with asyncio.timeout(PATIENCE):
        while not await check():  # noqa: ASYNC110 (a notification from another connection)
            await asyncio.sleep(0.01)


async def test_a_list_is_kept_until_any_replica_changes_a_deadline(
    replicas: tuple[Replica, Replica],
) -> None:
    one, other = replicas
    await add(one.repo, title="First")
    await until(lambda: one.loads())  # loads while it is not listening yet ...
    await until(lambda: _not(one.loads()))  # ... and is kept once it is
    assert await one.titles() == ["First"]

    await add(other.repo, title="Second")  # another replica adds: heard
    await until(lambda: _equals(one.titles(), ["First", "Second"]))
    assert not await one.loads()

    second = (await other.repo.list_deadlines(workspace_id="A", channel_id="C1"))[1]
    closed = replace(second, status=DeadlineStatus.MET)
    await other.repo.update_deadline(
        deadline=closed, event=event(EventKind.COMPLETED, second.id), alerts=()
    )  # another replica closes one: heard
    await until(lambda: _equals(one.titles(), ["First"]))

    await add(one.repo, title="Third")  # its own write counts at once
    assert await one.titles() == ["First", "Third"]


async def test_a_replica_that_stops_hearing_reads_the_database_until_it_hears_again(
    replicas: tuple[Replica, Replica],
) -> None:
    one, other = replicas
    await add(one.repo, title="First")
    await until(lambda: _not(one.loads()))
    async with one.repo._db.engine.connect() as conn:  # the listening connection is cut
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :name"
            ),
            {"name": APPLICATION_NAME},
        )
    await until(lambda: one.loads())
    await add(other.repo, title="Second")  # not heard: the list is read again
    assert await one.titles() == ["First", "Second"]
    await until(lambda: _not(one.loads()))  # listening again
    await add(other.repo, title="Third")
    await until(lambda: _equals(one.titles(), ["First", "Second", "Third"]))


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def _equals(found: Awaitable[list[str]], expected: list[str]) -> bool:
    return await found == expected
