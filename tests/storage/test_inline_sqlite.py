"""SQLite statements run on the event loop's thread: writes queued together share one
transaction without sharing failures, and another process's write lock is waited for
off the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain import EventKind, Position, Stance
from bot.errors import NotFound
from storage.db import make_engine, run_migrations
from storage.repository import SqlRepository
from tests.storage.test_repository import LATER, NOW, add, event


@pytest.fixture
async def sqlite_repo(tmp_path: Path) -> AsyncIterator[tuple[SqlRepository, Path]]:
    path = tmp_path / "parley.db"
    url = f"sqlite+aiosqlite:///{path}"
    await run_migrations(url)
    repo = SqlRepository(make_engine(url))
    yield repo, path
    await repo.close()


def position(deadline_id: int, stakeholder: str) -> Position:
    return Position(
        deadline_id=deadline_id,
        stakeholder=stakeholder,
        label=stakeholder,
        stance=Stance.SUPPORT,
        terms="",
        recorded_by=stakeholder,
        recorded_at=NOW,
    )


async def test_writes_queued_together_commit_together_and_fail_alone(
    sqlite_repo: tuple[SqlRepository, Path],
) -> None:
    repo, _ = sqlite_repo
    mine = await add(repo, ws="A")
    theirs = await add(repo, ws="B")
    results = await asyncio.gather(
        add(repo, ws="A", title="Second"),
        repo.record_position(
            workspace_id="A",  # B's deadline named from A: refused
            position=position(theirs.id, "U9"),
            event=event(EventKind.POSITION_RECORDED, theirs.id),
        ),
        repo.record_position(
            workspace_id="A",
            position=position(mine.id, "U2"),
            event=event(EventKind.POSITION_RECORDED, mine.id),
        ),
        return_exceptions=True,
    )
    second, refused, recorded = results
    assert not isinstance(second, BaseException) and second.number == 2
    assert isinstance(refused, NotFound)
    assert recorded is None
    assert [
        p.stakeholder for p in await repo.list_positions(workspace_id="A", deadline_id=mine.id)
    ] == ["U2"]
    assert await repo.list_positions(workspace_id="B", deadline_id=theirs.id) == []
    assert [e.kind for e in await repo.list_events(workspace_id="B", deadline_id=theirs.id)] == [
        EventKind.CREATED
    ]


async def test_a_write_waits_for_another_process_without_blocking_the_loop(
    sqlite_repo: tuple[SqlRepository, Path],
) -> None:
    repo, path = sqlite_repo
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(add(repo, title="Waits its turn"))
    # The loop keeps serving reads while the write waits for the lock.
    for _ in range(20):
        assert await repo.list_deadlines(workspace_id="A") == []
        await asyncio.sleep(0)
    assert not write.done()
    other_process.execute("ROLLBACK")
    other_process.close()
    created = await asyncio.wait_for(write, 10)
    assert [d.title for d in await repo.list_deadlines(workspace_id="A")] == [created.title]


async def test_a_kept_list_is_read_again_after_any_write_here_or_elsewhere(
    sqlite_repo: tuple[SqlRepository, Path],
) -> None:
    repo, path = sqlite_repo
    first = await add(repo, title="First")
    assert [d.title for d in await repo.list_deadlines(workspace_id="A", channel_id="C1")] == [
        "First"
    ]
    await add(repo, title="Second", due=LATER + timedelta(days=1))
    titles = [d.title for d in await repo.list_deadlines(workspace_id="A", channel_id="C1")]
    assert titles == ["First", "Second"]
    # Another process (or any other connection) writes: SQLite's data_version moves.
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("UPDATE deadline SET title = 'Renamed' WHERE id = ?", (first.id,))
    other_process.close()
    titles = [d.title for d in await repo.list_deadlines(workspace_id="A", channel_id="C1")]
    assert titles == ["Renamed", "Second"]
    listed = await repo.list_deadlines(workspace_id="A", channel_id="C1")
    listed.clear()  # a caller's copy: what is kept stays whole
    assert len(await repo.list_deadlines(workspace_id="A", channel_id="C1")) == 2


async def test_the_log_reaches_the_database_file_without_a_commit_waiting_for_it(
    sqlite_repo: tuple[SqlRepository, Path],
) -> None:
    """Checkpoints run off the loop, soon after commits (not once the log is 1,000
    pages long): the database file itself, read without the log, has the rows."""
    repo, path = sqlite_repo
    for n in range(3):
        await add(repo, title=f"Deadline {n}")

    def in_the_file() -> int:
        file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            return int(file_only.execute("SELECT count(*) FROM deadline").fetchone()[0])
        finally:
            file_only.close()

    for _ in range(200):  # up to 10 s
        if in_the_file() == 3:
            break
        await asyncio.sleep(0.05)
    assert in_the_file() == 3
