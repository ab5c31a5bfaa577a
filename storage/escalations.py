"""``bot.ports.EscalationStore``: each deadline's escalation ladder and last manual nudge.

One ``escalation`` row per deadline that has either; it goes with its deadline
(the composite foreign key). The hourly limit of ``/position nudge`` is one
conditional upsert (``ON CONFLICT ... DO UPDATE ... WHERE``), so two replicas
nudging at once record one nudge between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import AlertStatus, Deadline, Event, PlannedAlert
from bot.escalation import Ladder, ladder_from_text, ladder_text
from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import A, E, L, alert_values, event_values


class SqlEscalationStore(SqlStore):
    """The EscalationStore port on shared ``Connections``."""

    @guarded
    async def get_ladders(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> dict[int, Ladder]:
        if not deadline_ids:
            return {}
        stmt = select(L.c.deadline_id, L.c.ladder).where(
            L.c.workspace_id == workspace_id,
            L.c.deadline_id.in_(sorted(set(deadline_ids))),
            L.c.ladder.is_not(None),
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {deadline_id: ladder_from_text(text) for deadline_id, text in rows}

    @guarded
    async def set_ladder(
        self,
        *,
        deadline: Deadline,
        ladder: Ladder | None,
        event: Event,
        alerts: Sequence[PlannedAlert],
    ) -> None:
        ws = deadline.workspace_id
        text = None if ladder is None else ladder_text(ladder)
        upsert = self._db.insert(L).values(deadline_id=deadline.id, workspace_id=ws, ladder=text)
        upsert = upsert.on_conflict_do_update(
            index_elements=[L.c.deadline_id], set_={"ladder": upsert.excluded["ladder"]}
        )
        drop = delete(A).where(
            A.c.workspace_id == ws,
            A.c.deadline_id == deadline.id,
            A.c.status == AlertStatus.PENDING.value,
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(upsert)
            await conn.execute(insert(E), event_values(ws, deadline.id, event))
            await conn.execute(drop)
            if alerts:
                await conn.execute(insert(A), alert_values(ws, deadline.id, alerts))

        await self._db.write(work)

    @guarded
    async def claim_nudge(
        self,
        *,
        workspace_id: str,
        deadline_id: int,
        now: datetime,
        not_before: datetime,
        event: Event,
    ) -> datetime | None:
        new = self._db.insert(L).values(
            deadline_id=deadline_id, workspace_id=workspace_id, nudged_at=now
        )
        upsert = new.on_conflict_do_update(
            index_elements=[L.c.deadline_id],
            set_={"nudged_at": new.excluded["nudged_at"]},
            where=or_(L.c.nudged_at.is_(None), L.c.nudged_at <= not_before),
        ).returning(L.c.deadline_id)
        last = select(L.c.nudged_at).where(
            L.c.workspace_id == workspace_id, L.c.deadline_id == deadline_id
        )

        async def work(conn: AsyncConnection) -> datetime | None:
            if (await conn.execute(upsert)).first() is not None:
                await conn.execute(insert(E), event_values(workspace_id, deadline_id, event))
                return None
            return await conn.scalar(last)

        return await self._db.write(work)
