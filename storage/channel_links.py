"""``bot.channel_links.LinkStore`` and the alert outbox's per-channel deliveries.

``channel_link`` holds one row per member of a linked set, naming the set's
home; ``link_code`` the one-time codes by their SHA-256 (taken by one
conditional UPDATE, so a code works once whatever the replicas do);
``alert_delivery`` which channels of a linked set an alert was posted to, so a
retried alert skips them (``bot.scheduler``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channel_links import LinkCode, LinkedChannel
from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import AD, CL, LC

_LINK_COLUMNS = (
    CL.c.workspace_id,
    CL.c.channel_id,
    CL.c.platform,
    CL.c.home_workspace_id,
    CL.c.home_channel_id,
    CL.c.linked_by,
    CL.c.linked_by_name,
    CL.c.linked_at,
)


def _link(row: Sequence[Any]) -> LinkedChannel:
    return LinkedChannel(*row)


class SqlLinkStore(SqlStore):
    """Linked channels, link codes and per-channel alert deliveries."""

    @guarded
    async def add_link_code(self, *, code: LinkCode) -> None:
        values = {
            "code_hash": code.code_hash,
            "workspace_id": code.workspace_id,
            "channel_id": code.channel_id,
            "platform": code.platform,
            "created_by": code.created_by,
            "created_at": code.created_at,
            "expires_at": code.expires_at,
        }

        async def work(conn: AsyncConnection) -> None:
            # Spent and expired codes go as new ones come: the table holds live ones.
            await conn.execute(
                delete(LC).where(or_(LC.c.used_at.is_not(None), LC.c.expires_at <= code.created_at))
            )
            await conn.execute(LC.insert().values(**values))

        await self._db.write(work)

    @guarded
    async def take_link_code(self, *, code_hash: str, now: datetime) -> LinkCode | None:
        take = (
            update(LC)
            .where(LC.c.code_hash == code_hash, LC.c.used_at.is_(None), LC.c.expires_at > now)
            .values(used_at=now)
        )
        read = select(
            LC.c.code_hash,
            LC.c.workspace_id,
            LC.c.channel_id,
            LC.c.platform,
            LC.c.created_by,
            LC.c.created_at,
            LC.c.expires_at,
        ).where(LC.c.code_hash == code_hash)

        async def work(conn: AsyncConnection) -> LinkCode | None:
            if (await conn.execute(take)).rowcount != 1:
                return None
            row = (await conn.execute(read)).one()
            return LinkCode(*row)

        return await self._db.write(work)

    @guarded
    async def channel_link(self, *, workspace_id: str, channel_id: str) -> LinkedChannel | None:
        stmt = select(*_LINK_COLUMNS).where(
            CL.c.workspace_id == workspace_id, CL.c.channel_id == channel_id
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _link(row)

    @guarded
    async def linked_channels(
        self, *, home_workspace_id: str, home_channel_id: str
    ) -> list[LinkedChannel]:
        stmt = select(*_LINK_COLUMNS).where(
            CL.c.home_workspace_id == home_workspace_id, CL.c.home_channel_id == home_channel_id
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        links = [_link(row) for row in rows]
        return sorted(links, key=lambda link: (not link.is_home, link.linked_at, link.channel_id))

    @guarded
    async def add_links(self, *, links: Sequence[LinkedChannel]) -> None:
        rows = [
            {column.name: getattr(link, column.name) for column in _LINK_COLUMNS} for link in links
        ]

        async def work(conn: AsyncConnection) -> None:
            for row in rows:
                await conn.execute(self._db.insert(CL).values(**row).on_conflict_do_nothing())

        await self._db.write(work)

    @guarded
    async def remove_links(self, *, channels: Sequence[tuple[str, str]]) -> None:
        if not channels:
            return
        stmt = delete(CL).where(
            or_(*(and_(CL.c.workspace_id == ws, CL.c.channel_id == ch) for ws, ch in channels))
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(stmt)

        await self._db.write(work)

    @guarded
    async def delivered_to(self, *, alert_ids: Sequence[int]) -> set[tuple[str, str]]:
        stmt = (
            select(AD.c.workspace_id, AD.c.channel_id)
            .where(AD.c.alert_id.in_(list(alert_ids)))
            .distinct()
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {(ws, ch) for ws, ch in rows}

    @guarded
    async def record_delivery(
        self, *, alert_ids: Sequence[int], workspace_id: str, channel_id: str, at: datetime
    ) -> None:
        async def work(conn: AsyncConnection) -> None:
            for alert_id in alert_ids:
                await conn.execute(
                    self._db.insert(AD)
                    .values(
                        alert_id=alert_id,
                        workspace_id=workspace_id,
                        channel_id=channel_id,
                        sent_at=at,
                    )
                    .on_conflict_do_nothing()
                )

        await self._db.write(work)
