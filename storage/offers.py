"""``bot.ports.OfferStore``: the offer versions on each deadline (O1, O2, ...).

A version is the next number on its deadline, taken while the deadline's row is
locked (``FOR UPDATE`` on PostgreSQL; SQLite writes one at a time), so two
replicas recording at once get O2 and O3, not two O2s. Offers go with their
deadline (the composite foreign key).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import Event, Offer
from bot.errors import NotFound
from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import OF, OFFER_COLUMNS, D, E, event_values, offer_from_row


class SqlOfferStore(SqlStore):
    """The OfferStore port on shared ``Connections``."""

    @guarded
    async def list_offers(self, *, workspace_id: str, deadline_id: int) -> list[Offer]:
        stmt = (
            select(*OFFER_COLUMNS)
            .where(OF.c.workspace_id == workspace_id, OF.c.deadline_id == deadline_id)
            .order_by(OF.c.version)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [offer_from_row(row) for row in rows]

    @guarded
    async def record_offer(self, *, workspace_id: str, offer: Offer, event: Event) -> Offer:
        lock = (
            select(D.c.id)
            .where(D.c.workspace_id == workspace_id, D.c.id == offer.deadline_id)
            .with_for_update()
        )
        last = select(func.max(OF.c.version)).where(
            OF.c.workspace_id == workspace_id, OF.c.deadline_id == offer.deadline_id
        )

        async def work(conn: AsyncConnection) -> Offer:
            if await conn.scalar(lock) is None:
                raise NotFound(f"No deadline {offer.deadline_id} in this workspace.")
            stored = replace(offer, version=(await conn.scalar(last) or 0) + 1)
            await conn.execute(
                insert(OF).values(
                    deadline_id=stored.deadline_id,
                    version=stored.version,
                    workspace_id=workspace_id,
                    title=stored.title,
                    url=stored.url,
                    party=stored.party,
                    recorded_by=stored.recorded_by,
                    recorded_at=stored.recorded_at,
                )
            )
            noted = replace(event, data={**event.data, "version": stored.version})
            await conn.execute(insert(E), event_values(workspace_id, stored.deadline_id, noted))
            return stored

        return await self._db.write(work)
