"""The secrets that sign each channel's "Add to calendar" links (see ``bot.feeds``).

One secret per (workspace, channel), made when the channel's first link is;
revoking the channel's feeds deletes it, and the next link is signed with a
new one. Two replicas making the first link at once both offer a secret; the
first stored wins and both read it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.connections import SqlStore
from storage.errors import guarded
from storage.tables import EventLinkKeyRow

LK = cast(Table, EventLinkKeyRow.__table__)  # type: ignore[attr-defined]

_SECRET = select(LK.c.secret).where(
    LK.c.workspace_id == bindparam("ws"), LK.c.channel_id == bindparam("channel")
)


class SqlEventLinkStore(SqlStore):
    """The event link part of the FeedStore port on shared ``Connections``."""

    @guarded
    async def event_link_secret(
        self, *, workspace_id: str, channel_id: str, create: str | None = None, now: datetime
    ) -> str | None:
        where = {"ws": workspace_id, "channel": channel_id}
        async with self._db.read() as conn:
            found = await conn.scalar(_SECRET, where)
        if found is not None or create is None:
            return found
        offered = (
            self._db.insert(LK)
            .values(workspace_id=workspace_id, channel_id=channel_id, secret=create, created_at=now)
            .on_conflict_do_nothing(index_elements=[LK.c.workspace_id, LK.c.channel_id])
        )

        async def work(conn: AsyncConnection) -> str | None:
            await conn.execute(offered)
            return await conn.scalar(_SECRET, where)

        return await self._db.write(work)

    @guarded
    async def drop_event_link_secret(self, *, workspace_id: str, channel_id: str) -> None:
        dropped = delete(LK).where(LK.c.workspace_id == workspace_id, LK.c.channel_id == channel_id)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(dropped)

        await self._db.write(work)
