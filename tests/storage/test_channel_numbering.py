"""Numbers per channel, owners and a person's deadlines: the storage contract on SQLite
and PostgreSQL, and the migration that brings an existing database there (0006)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import DeadlineStatus, EventKind, NewDeadline, PositionRequest
from bot.errors import InvalidInput, NotFound
from storage.db import alembic_config, make_engine, writer
from storage.repository import SqlRepository
from tests.storage.test_repository import LATER, NOW, add, event

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio


async def ask(repo: SqlRepository, deadline_id: int, user: str, ws: str = "A") -> None:
    await repo.add_position_requests(
        workspace_id=ws,
        requests=[PositionRequest(deadline_id, user, asked_by="U1", asked_at=NOW)],
        event=event(EventKind.POSITIONS_ASKED, deadline_id),
    )


async def add_by(repo: SqlRepository, owner: str, title: str, channel: str, ws: str = "A") -> Any:
    draft = NewDeadline(
        workspace_id=ws,
        channel_id=channel,
        platform="slack",
        title=title,
        due_at=LATER,
        tz="UTC",
        owner_id=owner,
        reminder_offsets=(),
        created_at=NOW,
    )
    return await repo.create_deadline(draft=draft, event=event(EventKind.CREATED), alerts=())


async def test_a_persons_deadlines_are_those_they_own_or_were_asked_on(
    repo: SqlRepository,
) -> None:
    mine = await add_by(repo, "U1", "Mine", "C1")
    asked = await add_by(repo, "U2", "Asked", "C2")
    await add_by(repo, "U2", "Not mine", "C3")
    await add_by(repo, "U1", "Other workspace", "C1", ws="B")
    await ask(repo, asked.id, "U7")
    # U10's and "U1%_x"'s ids contain U1's: U1's LIKE pattern must not match them.
    shared = await add_by(repo, "U3", "Shared", "C4")
    shared = await repo.update_owners(
        deadline=replace(shared, owners=("U3", "U1", "U10", "U1%_x")),
        previous=shared.owners,
        event=event(EventKind.OWNERS_CHANGED, shared.id, added=["U1", "U10", "U1%_x"]),
    )
    solo = await add_by(repo, "U10", "Solo", "C5")

    async def titles(user: str, **filters: Any) -> list[str]:
        found = await repo.find_deadlines_of_person(workspace_id="A", user_id=user, **filters)
        return sorted(d.title for d in found)

    assert await titles("U1") == ["Mine", "Shared"]
    assert await titles("U7") == ["Asked"]
    assert await titles("U10") == ["Shared", "Solo"]
    assert await titles("U1%_x") == ["Shared"]
    assert await titles("U1%") == []
    assert await titles("U") == []
    assert solo.number == 1 and await titles("U1", number=1) == ["Mine", "Shared"]
    assert await titles("U7", number=2) == []
    assert await titles("U1", prefix="sha") == ["Shared"]
    await repo.update_deadline(
        deadline=replace(mine, status=DeadlineStatus.CANCELLED, updated_at=NOW),
        event=event(EventKind.CANCELLED, mine.id),
        alerts=(),
    )
    assert await titles("U1", statuses=frozenset({DeadlineStatus.OPEN})) == ["Shared"]
    assert await repo.find_deadlines_of_person(workspace_id="B", user_id="U7") == []


async def test_owners_change_only_from_what_was_read(repo: SqlRepository) -> None:
    created = await add(repo)
    assert created.owners == ("U1",) and created.owner_id == "U1"
    with_sam = await repo.update_owners(
        deadline=replace(created, owners=("U1", "U2"), updated_at=NOW + timedelta(minutes=1)),
        previous=("U1",),
        event=event(EventKind.OWNERS_CHANGED, created.id, added=["U2"]),
    )
    assert with_sam.owners == ("U1", "U2") and with_sam.sequence == 1
    # A second writer that read the owners before this change is refused, and changes nothing.
    with pytest.raises(InvalidInput, match="changed meanwhile"):
        await repo.update_owners(
            deadline=replace(created, owners=("U1", "U3")),
            previous=("U1",),
            event=event(EventKind.OWNERS_CHANGED, created.id, added=["U3"]),
        )
    stepped_down = await repo.update_owners(
        deadline=replace(with_sam, owners=("U2",)),
        previous=("U1", "U2"),
        event=event(EventKind.OWNERS_CHANGED, created.id, removed=["U1"]),
    )
    assert (stepped_down.owner_id, stepped_down.owners) == ("U2", ("U2",))
    stored = await repo.get_deadline(workspace_id="A", channel_id="C1", number=1)
    assert stored == stepped_down
    kinds = [e.kind for e in await repo.list_events(workspace_id="A", deadline_id=created.id)]
    assert kinds == [EventKind.CREATED, EventKind.OWNERS_CHANGED, EventKind.OWNERS_CHANGED]
    with pytest.raises(NotFound):
        await repo.update_owners(
            deadline=replace(stepped_down, workspace_id="B", owners=("U9",)),
            previous=("U2",),
            event=event(EventKind.OWNERS_CHANGED, created.id, added=["U9"]),
        )


async def test_an_export_from_before_channel_numbers_imports(repo: SqlRepository) -> None:
    stamp = NOW.isoformat()

    def deadline(id_: int, number: int, channel: str) -> dict[str, Any]:
        return {
            "id": id_, "workspace_id": "A", "number": number, "channel_id": channel,
            "platform": "slack", "title": f"T{id_}", "due_at": stamp, "tz": "UTC",
            "owner_id": "U1", "status": "open", "reminder_offsets": [3600],
            "created_at": stamp, "updated_at": stamp, "sequence": 0, "uid": f"{id_:032x}",
        }  # fmt: skip

    legacy = {
        "format": "parley-export",
        "version": 1,
        "counters": [{"workspace_id": "A", "last_number": 9}],
        "deadlines": [deadline(1, 1, "C1"), deadline(2, 2, "C2"), deadline(3, 3, "C1")],
    }
    await repo.import_all(legacy)
    dump = await repo.export_all()
    assert sorted((c["negotiation_key"], c["last_number"]) for c in dump["counters"]) == [
        ("A/C1", 3),
        ("A/C2", 2),
    ]
    assert [d["owners"] for d in dump["deadlines"]] == [["U1"], ["U1"], ["U1"]]
    assert (await add(repo, channel="C2")).number == 3
    assert (await add(repo, channel="C9")).number == 1


async def test_owners_in_an_import_must_start_with_the_owner(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    await add(repo)
    data = await repo.export_all()
    target = await open_repo(other_database)
    for owners in ([], ["U2", "U1"], "U1", [""], [1]):
        bad = {**data, "deadlines": [{**data["deadlines"][0], "owners": owners}]}
        with pytest.raises(InvalidInput, match="owners"):
            await target.import_all(bad)
    assert (await target.export_all())["deadlines"] == []


# --- the migration -----------------------------------------------------------------


def _alembic(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def _migrate(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    async with writer(engine).begin() as conn:
        await conn.run_sync(_alembic, revision, down=down)


LEGACY_ROWS = [  # (id, workspace, number, channel): numbered per workspace, as before 0006
    (1, "A", 1, "C1"),
    (2, "A", 2, "C2"),
    (3, "A", 3, "C1"),
    (4, "B", 1, "C1"),
]


LEGACY_CHILD_COLUMNS = {
    "event": "(workspace_id, deadline_id, kind, at, actor_id, data)",
    "position": "(workspace_id, deadline_id, stakeholder, label, stance, terms, recorded_by, "
    "recorded_at)",
    "alert": "(workspace_id, deadline_id, offset_seconds, due_at, not_before, status, attempts)",
}


async def _fill_legacy(engine: AsyncEngine) -> None:
    stamp = datetime(2030, 1, 1, tzinfo=UTC)
    async with writer(engine).begin() as conn:
        for id_, ws, number, channel in LEGACY_ROWS:
            values = {"id": id_, "ws": ws, "n": number, "ch": channel, "at": stamp}
            await conn.execute(
                text(
                    "INSERT INTO deadline (id, workspace_id, number, channel_id, platform, title,"
                    " title_key, due_at, tz, owner_id, status, reminder_offsets, created_at,"
                    " updated_at, sequence, uid) VALUES (:id, :ws, :n, :ch, 'slack', 't', 't',"
                    " :at, 'UTC', :owner, 'open', '3600', :at, :at, 0, :uid)"
                ),
                values | {"owner": f"U{id_}", "uid": f"{id_:032x}"},
            )
            for table, columns in LEGACY_CHILD_COLUMNS.items():
                row = {
                    "event": "(:ws, :id, 'created', :at, 'U1', '{}')",
                    "position": "(:ws, :id, 'U2', 'U2', 'oppose', 'red lines', 'U2', :at)",
                    "alert": "(:ws, :id, 0, :at, :at, 'pending', 0)",
                }[table]
                await conn.execute(text(f"INSERT INTO {table} {columns} VALUES {row}"), values)
        if conn.dialect.name == "postgresql":  # the ids above were given, not drawn
            await conn.execute(text("SELECT setval(pg_get_serial_sequence('deadline', 'id'), 4)"))
        for ws, last in (("A", 3), ("B", 1)):
            await conn.execute(
                text("INSERT INTO workspace_counter VALUES (:ws, :n)"), {"ws": ws, "n": last}
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'legacy.db'}"
    url: str = request.getfixturevalue("pg_empty_url")
    return url


async def test_migration_keeps_numbers_rows_and_continues_per_channel(unmigrated_url: str) -> None:
    engine = make_engine(unmigrated_url)
    try:
        await _migrate(engine, "0006")
        await _fill_legacy(engine)
        await _migrate(engine, "head")
        async with engine.connect() as conn:
            counts = {
                table: (await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar()
                for table in ("deadline", "event", "position", "alert")
            }
        assert counts == {"deadline": 4, "event": 4, "position": 4, "alert": 4}
        repo = SqlRepository(engine)
        for id_, ws, number, channel in LEGACY_ROWS:
            kept = await repo.get_deadline(workspace_id=ws, channel_id=channel, number=number)
            assert kept is not None and kept.id == id_ and kept.owners == (f"U{id_}",)
            [position] = await repo.list_positions(workspace_id=ws, deadline_id=id_)
            assert position.terms == "red lines"
        # Each channel continues from its own largest number.
        assert (await add(repo, ws="A", channel="C1")).number == 4
        assert (await add(repo, ws="A", channel="C2")).number == 3
        assert (await add(repo, ws="B", channel="C2")).number == 1
        # Two channels now share D4 and D3's neighbours: going back down is refused.
        await add(repo, ws="A", channel="C2")
        with pytest.raises(RuntimeError, match="share deadline numbers"):
            await _migrate(engine, "0006", down=True)
    finally:
        await engine.dispose()


async def test_migration_down_and_up_again_keeps_everything(unmigrated_url: str) -> None:
    engine = make_engine(unmigrated_url)
    try:
        await _migrate(engine, "0006")
        await _fill_legacy(engine)
        await _migrate(engine, "head")
        await _migrate(engine, "0006", down=True)
        async with engine.connect() as conn:
            counters = (await conn.execute(text("SELECT * FROM workspace_counter"))).all()
            events = (await conn.execute(text("SELECT COUNT(*) FROM event"))).scalar()
        assert sorted(map(tuple, counters)) == [("A", 3), ("B", 1)] and events == 4
        await _migrate(engine, "head")
        repo = SqlRepository(engine)
        found = await repo.get_deadline(workspace_id="A", channel_id="C2", number=2)
        assert found is not None and found.owners == ("U2",)
    finally:
        await engine.dispose()
