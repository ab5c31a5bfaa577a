"""Known names (people's and conversations'), on SQLite and PostgreSQL alike, and the
in-memory fake held to the same behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import KnownName, NameKind
from bot.errors import InvalidInput
from bot.ports import NameStore
from storage.repository import SqlRepository
from storage.transfer import rows_to_import
from tests.fakes.stores import MemoryNames
from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
WS, OTHER = "slack:T1", "slack:T2"


async def _saves_finds_and_marks(store: NameStore) -> None:
    empty = await store.names_marker(workspace_id=WS)
    await store.save_names(
        names=[
            KnownName(WS, NameKind.USER, "U1", "Alex", T0),
            KnownName(WS, NameKind.CHANNEL, "C1", "negotiations", T0),
            KnownName(OTHER, NameKind.USER, "U1", "Someone else", T0),
        ]
    )
    first = await store.names_marker(workspace_id=WS)
    assert first != empty
    assert await store.find_names(
        workspace_id=WS, kind=NameKind.USER, subject_ids=["U1", "U9"]
    ) == {"U1": "Alex"}
    # Kinds and workspaces are apart.
    assert await store.find_names(workspace_id=WS, kind=NameKind.CHANNEL, subject_ids=["U1"]) == {}
    assert await store.find_names(workspace_id=OTHER, kind=NameKind.USER, subject_ids=["U1"]) == {
        "U1": "Someone else"
    }
    # Saving again replaces the name and moves the marker.
    await store.save_names(
        names=[KnownName(WS, NameKind.USER, "U1", "Alex Rivera", T0 + timedelta(hours=1))]
    )
    assert await store.find_names(workspace_id=WS, kind=NameKind.USER, subject_ids=["U1"]) == {
        "U1": "Alex Rivera"
    }
    assert await store.names_marker(workspace_id=WS) not in (empty, first)
    assert await store.find_names(workspace_id=WS, kind=NameKind.USER, subject_ids=[]) == {}


async def test_names_are_saved_replaced_and_found_per_workspace_and_kind(
    repo: SqlRepository,
) -> None:
    await _saves_finds_and_marks(repo)


async def test_the_memory_fake_does_the_same() -> None:
    await _saves_finds_and_marks(MemoryNames())


async def test_names_travel_in_an_export(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    await repo.save_names(names=[KnownName(WS, NameKind.CHANNEL, "C1", "negotiations", T0)])
    data = await repo.export_all()
    assert data["names"] == [
        {
            "workspace_id": WS,
            "kind": "channel",
            "subject_id": "C1",
            "name": "negotiations",
            "refreshed_at": T0.isoformat(),
        }
    ]
    target = await open_repo(other_database)
    await target.import_all(data)
    assert await target.find_names(workspace_id=WS, kind=NameKind.CHANNEL, subject_ids=["C1"]) == {
        "C1": "negotiations"
    }


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"kind": "team"}, "names[0].kind: unknown value 'team'"),
        ({"name": "<@U1> admin"}, "names[0].name: empty, or holds one of < > |"),
        ({"name": "x" * 101}, "names[0].name: 101 characters (at most 100)"),
    ],
)
async def test_an_import_refuses_a_bad_name(row: dict[str, str], problem: str) -> None:
    good = {
        "workspace_id": WS,
        "kind": "user",
        "subject_id": "U1",
        "name": "Alex",
        "refreshed_at": T0.isoformat(),
    }
    export = {"format": "parley-export", "version": 2, "names": [good | row]}
    with pytest.raises(InvalidInput) as refused:
        rows_to_import(export)
    assert str(refused.value).startswith(problem)
