"""The statement that claims an idempotency key in ``replay_key``.

One ``INSERT … ON CONFLICT`` stores the key, or takes over a copy that has
expired, and returns the key only then. Two transactions claiming the same key
at once serialize on its primary key: the second waits for the first to end
and gets nothing back if it committed. ``storage.replay`` runs it on its own;
``storage.connections`` runs it at the start of each write transaction of a
command that carries keys (``bot.once``), so the claim commits, or rolls back,
with the command's writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import ReplayKeyRow

RK = cast(Table, ReplayKeyRow.__table__)  # type: ignore[attr-defined]


async def claim_key(
    conn: AsyncConnection, insert: Any, *, key: str, now: datetime, expires_at: datetime
) -> bool:
    """Claim ``key`` in ``conn``'s transaction (``insert``: the dialect's INSERT);
    False when an unexpired copy is there."""
    statement = (
        insert(RK)
        .values(key=key, expires_at=expires_at)
        .on_conflict_do_update(
            index_elements=[RK.c.key],
            set_={"expires_at": expires_at},
            where=RK.c.expires_at <= now,
        )
        .returning(RK.c.key)
    )
    return (await conn.execute(statement)).first() is not None
