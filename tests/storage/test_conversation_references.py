"""Conversation references (Teams proactive messages), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.repository import SqlRepository

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
WORKSPACE = "teams:tenant-a"
OTHER_WORKSPACE = "teams:tenant-b"


async def test_save_replaces_and_get_reads_back(repo: SqlRepository) -> None:
    ws = WORKSPACE
    await repo.save_conversation_reference(
        workspace_id=ws,
        conversation_id="19:a",
        group_id="team",
        reference='{"v": 1}',
        updated_at=T0,
    )
    await repo.save_conversation_reference(
        workspace_id=ws,
        conversation_id="19:a",
        group_id="team",
        reference='{"v": 2}',
        updated_at=T0 + timedelta(minutes=1),
    )
    assert await repo.get_conversation_reference(workspace_id=ws, conversation_id="19:a") == (
        '{"v": 2}'
    )
    assert await repo.get_conversation_reference(workspace_id=ws, conversation_id="19:b") is None
    # Another workspace never sees it.
    other = OTHER_WORKSPACE
    assert await repo.get_conversation_reference(workspace_id=other, conversation_id="19:a") is None
    assert await repo.latest_conversation_reference(workspace_id=other) is None


async def test_latest_is_the_most_recently_refreshed(repo: SqlRepository) -> None:
    ws = WORKSPACE
    for minute, conversation in ((0, "19:old"), (5, "19:new"), (2, "19:mid")):
        await repo.save_conversation_reference(
            workspace_id=ws,
            conversation_id=conversation,
            group_id=conversation,
            reference=conversation,
            updated_at=T0 + timedelta(minutes=minute),
        )
    assert await repo.latest_conversation_reference(workspace_id=ws) == "19:new"


async def test_delete_by_group_or_by_conversation(repo: SqlRepository) -> None:
    ws = WORKSPACE
    for conversation, group in (("19:gen", "team"), ("19:ops", "team"), ("a:1", "a:1")):
        await repo.save_conversation_reference(
            workspace_id=ws,
            conversation_id=conversation,
            group_id=group,
            reference="{}",
            updated_at=T0,
        )
    other = OTHER_WORKSPACE
    assert await repo.delete_conversation_references(workspace_id=other, group_id="team") == 0
    assert await repo.delete_conversation_references(workspace_id=ws, group_id="team") == 2
    assert await repo.get_conversation_reference(workspace_id=ws, conversation_id="19:gen") is None
    assert await repo.get_conversation_reference(workspace_id=ws, conversation_id="a:1") == "{}"
    assert await repo.delete_conversation_references(workspace_id=ws, conversation_id="a:1") == 1
    assert await repo.latest_conversation_reference(workspace_id=ws) is None
    with pytest.raises(ValueError):
        await repo.delete_conversation_references(workspace_id=ws)
