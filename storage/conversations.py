"""``bot.ports.ConversationStore``: where a platform lets Parley post later.

One row per (workspace, conversation) holds the platform's own reference (JSON
text, opaque here) and the group an installation covers (a Teams team, or the
conversation itself), so that removing the app drops the group's rows at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import CR


class SqlConversationStore(SqlStore):
    """The ConversationStore port on shared ``Connections``."""

    @guarded
    async def save_conversation_reference(
        self,
        *,
        workspace_id: str,
        conversation_id: str,
        group_id: str,
        reference: str,
        updated_at: datetime,
    ) -> None:
        upsert = self._db.insert(CR).values(
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            group_id=group_id,
            reference=reference,
            updated_at=updated_at,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[CR.c.workspace_id, CR.c.conversation_id],
            set_={name: upsert.excluded[name] for name in ("group_id", "reference", "updated_at")},
        )
        await self._db.write(lambda conn: conn.execute(upsert))

    @guarded
    async def get_conversation_reference(
        self, *, workspace_id: str, conversation_id: str
    ) -> str | None:
        stmt = select(CR.c.reference).where(
            CR.c.workspace_id == workspace_id, CR.c.conversation_id == conversation_id
        )
        async with self._db.read() as conn:
            return cast(str | None, await conn.scalar(stmt))

    @guarded
    async def latest_conversation_reference(self, *, workspace_id: str) -> str | None:
        stmt = (
            select(CR.c.reference)
            .where(CR.c.workspace_id == workspace_id)
            .order_by(CR.c.updated_at.desc(), CR.c.conversation_id)
            .limit(1)
        )
        async with self._db.read() as conn:
            return cast(str | None, await conn.scalar(stmt))

    @guarded
    async def delete_conversation_references(
        self, *, workspace_id: str, group_id: str | None = None, conversation_id: str | None = None
    ) -> int:
        if (group_id is None) == (conversation_id is None):
            raise ValueError("name exactly one of group_id and conversation_id")
        stmt = delete(CR).where(CR.c.workspace_id == workspace_id)
        if group_id is not None:
            stmt = stmt.where(CR.c.group_id == group_id)
        else:
            stmt = stmt.where(CR.c.conversation_id == conversation_id)

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(stmt)).rowcount

        return await self._db.write(work)
