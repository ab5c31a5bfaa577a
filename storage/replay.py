"""``bot.ports.ReplayStore``: the requests already handled, shared by the replicas.

One statement claims a key: an ``INSERT … ON CONFLICT`` that stores it, or
takes over a copy that has expired, and returns the key only then. Two
replicas claiming the same key at once serialize on its primary key, and only
one of them gets it back. Expired keys are deleted by ``prune_replay_keys``
(the replay guard calls it about once a minute); until then the claim itself
treats them as gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.connections import SqlStore
from storage.errors import guarded
from storage.tables import ReplayKeyRow

RK = cast(Table, ReplayKeyRow.__table__)  # type: ignore[attr-defined]


class SqlReplayStore(SqlStore):
    """The ReplayStore port on shared ``Connections``."""

    @guarded
    async def claim_replay_key(self, *, key: str, now: datetime, expires_at: datetime) -> bool:
        statement = (
            self._db.insert(RK)
            .values(key=key, expires_at=expires_at)
            .on_conflict_do_update(
                index_elements=[RK.c.key],
                set_={"expires_at": expires_at},
                where=RK.c.expires_at <= now,
            )
            .returning(RK.c.key)
        )

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).first() is not None

        return await self._db.write(work)

    @guarded
    async def prune_replay_keys(self, *, now: datetime) -> int:
        async def work(conn: AsyncConnection) -> int:
            result = await conn.execute(delete(RK).where(RK.c.expires_at <= now))
            return int(result.rowcount or 0)

        return await self._db.write(work)
