"""``bot.ports.ReplayStore``: the requests already handled, shared by the replicas.

One statement claims a key (``storage.claims``): an ``INSERT … ON CONFLICT``
that stores it, or takes over a copy that has expired, and returns the key
only then. Two replicas claiming the same key at once serialize on its
primary key, and only one of them gets it back. A command claims its keys in
its own write transaction (``storage.connections``); ``claim_replay_key`` is
for a command that wrote nothing. Expired keys are deleted by ``prune_replay_keys``
(the replay guard calls it about once a minute); until then the claim itself
treats them as gone.

The deployment's secrets (``deployment_secret``) live here too: the key that
signs buttons is made by the first replica that needs one (two offering one at
once: the first stored wins, and both read it back).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.claims import RK, claim_key
from storage.connections import SqlStore
from storage.errors import guarded
from storage.tables import DeploymentSecretRow

DS = cast(Table, DeploymentSecretRow.__table__)  # type: ignore[attr-defined]
_SECRET = select(DS.c.secret).where(DS.c.name == bindparam("name"))


class SqlReplayStore(SqlStore):
    """The ReplayStore port on shared ``Connections``."""

    @guarded
    async def claim_replay_key(self, *, key: str, now: datetime, expires_at: datetime) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            return await claim_key(conn, self._db.insert, key=key, now=now, expires_at=expires_at)

        return await self._db.write(work)

    @guarded
    async def release_replay_key(self, *, key: str) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(delete(RK).where(RK.c.key == key))

        await self._db.write(work)

    @guarded
    async def prune_replay_keys(self, *, now: datetime) -> int:
        async def work(conn: AsyncConnection) -> int:
            result = await conn.execute(delete(RK).where(RK.c.expires_at <= now))
            return int(result.rowcount or 0)

        return await self._db.write(work)

    @guarded
    async def deployment_secret(self, *, name: str, create: str, now: datetime) -> str:
        async with self._db.read() as conn:
            found = await conn.scalar(_SECRET, {"name": name})
        if found is not None:
            return str(found)
        offered = (
            self._db.insert(DS)
            .values(name=name, secret=create, created_at=now)
            .on_conflict_do_nothing(index_elements=[DS.c.name])
        )

        async def work(conn: AsyncConnection) -> str:
            await conn.execute(offered)
            return str(await conn.scalar(_SECRET, {"name": name}))

        return await self._db.write(work)
