"""``bot.ports.PartyStore``: the parties of each negotiation, and who a deadline expects.

A party row is keyed by its negotiation and its case-folded name; its reps are a
JSON array. A deadline's expectation row exists only once ``/deadline expect``
set one; it goes with its deadline (the composite foreign key).
"""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import Event, Party
from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import PT, E, X, event_values


class SqlPartyStore(SqlStore):
    """The PartyStore port on shared ``Connections``."""

    @guarded
    async def list_parties(self, *, workspace_id: str, negotiation: str) -> list[Party]:
        stmt = (
            select(PT.c.name, PT.c.reps, PT.c.declared_by, PT.c.declared_at)
            .where(PT.c.workspace_id == workspace_id, PT.c.negotiation_key == negotiation)
            .order_by(PT.c.declared_at, PT.c.key)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            Party(
                negotiation=negotiation,
                name=name,
                reps=tuple(json.loads(reps)),
                declared_by=declared_by,
                declared_at=declared_at,
            )
            for name, reps, declared_by, declared_at in rows
        ]

    @guarded
    async def save_party(self, *, workspace_id: str, party: Party) -> None:
        upsert = self._db.insert(PT).values(
            negotiation_key=party.negotiation,
            key=party.key,
            workspace_id=workspace_id,
            name=party.name,
            reps=json.dumps(list(party.reps)),
            declared_by=party.declared_by,
            declared_at=party.declared_at,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[PT.c.negotiation_key, PT.c.key],
            set_={"reps": upsert.excluded["reps"]},
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(upsert)

        await self._db.write(work)

    @guarded
    async def delete_party(self, *, workspace_id: str, negotiation: str, key: str) -> None:
        stmt = delete(PT).where(
            PT.c.workspace_id == workspace_id,
            PT.c.negotiation_key == negotiation,
            PT.c.key == key,
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(stmt)

        await self._db.write(work)

    @guarded
    async def get_expected(self, *, workspace_id: str, deadline_id: int) -> tuple[str, ...] | None:
        stmt = select(X.c.parties).where(
            X.c.workspace_id == workspace_id, X.c.deadline_id == deadline_id
        )
        async with self._db.read() as conn:
            found = await conn.scalar(stmt)
        return None if found is None else tuple(json.loads(found))

    @guarded
    async def set_expected(
        self, *, workspace_id: str, deadline_id: int, keys: tuple[str, ...] | None, event: Event
    ) -> None:
        drop = delete(X).where(X.c.workspace_id == workspace_id, X.c.deadline_id == deadline_id)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(drop)
            if keys is not None:
                await conn.execute(
                    insert(X).values(
                        deadline_id=deadline_id, workspace_id=workspace_id, parties=json.dumps(keys)
                    )
                )
            await conn.execute(insert(E), event_values(workspace_id, deadline_id, event))

        await self._db.write(work)
