"""``bot.ports.AlertOutbox``: claiming due alerts with a lease, and settling them.

The one store not scoped to a workspace: the dispatcher serves every workspace,
and each ``Alert`` says which one it belongs to. Its rows are written with the
deadline changes (``storage.deadlines``).

A claim sets a lease and the claimer's name (host, process and a random part,
one per store). PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` and runs the
lease on the database clock, shared by every replica; on SQLite ``BEGIN
IMMEDIATE`` already makes the claim the only writer. The dispatcher renews
right before each post (``renew_leases``: an ``UPDATE ... RETURNING`` of the
rows still pending under this claimer, serialized with a concurrent claim by
the row lock) and posts only what comes back; ``mark_alerts_sent`` then
applies whoever holds the row, so a replica that took it over finds it sent.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Interval, bindparam, case, func, literal, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.domain import Alert, AlertStatus
from storage.connections import Connections, SqlStore
from storage.errors import guarded
from storage.rows import ALERT_COLUMNS, A, alert_from_row
from storage.types import UTCDateTime

# When a pending alert can next be claimed: at not_before, or when its lease runs out.
_CLAIMABLE_AT = type_coerce(
    case(
        (
            A.c.lease_until.is_not(None) & (A.c.lease_until > A.c.not_before),
            A.c.lease_until,
        ),
        else_=A.c.not_before,
    ),
    UTCDateTime(),
)
# The earliest pending alert that no one holds: an ordered read of
# ix_alert_status_not_before that stops at its first row.
_FIRST_FREE = (
    select(A.c.not_before)
    .where(A.c.status == AlertStatus.PENDING.value, A.c.lease_until.is_(None))
    .order_by(A.c.not_before)
    .limit(1)
)
# No row is claimable before its not_before, so only rows due no later than the first
# free one can be claimable sooner: the held ones and that one, a range of the same
# index, not every pending alert (a bound value, so PostgreSQL plans the index range).
_NEXT_ALERT = select(func.min(_CLAIMABLE_AT)).where(
    A.c.status == AlertStatus.PENDING.value,
    A.c.not_before <= bindparam("upto", type_=UTCDateTime()),
)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
# Both in one statement, for SQLite: a lone SELECT runs on the event loop's own
# connection (storage.inline_sqlite), where a snapshot of two would go to a thread.
_NEXT_ALERT_AT_ONCE = select(func.min(_CLAIMABLE_AT)).where(
    A.c.status == AlertStatus.PENDING.value,
    A.c.not_before
    <= func.coalesce(_FIRST_FREE.scalar_subquery(), literal(_END_OF_TIME, UTCDateTime())),
)


class SqlAlertOutbox(SqlStore):
    """The AlertOutbox port on shared ``Connections``."""

    def __init__(self, db: Connections) -> None:
        super().__init__(db)
        self._claimer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def _lease_until(self, now: datetime, lease_seconds: float) -> Any:
        if self._db.dialect == "postgresql":
            # The lease runs on the database clock, shared by every replica.
            return func.now() + literal(timedelta(seconds=lease_seconds), Interval())
        return now + timedelta(seconds=lease_seconds)

    @guarded
    async def next_alert_due(self) -> datetime | None:
        """The earliest instant a pending alert can be claimed: its ``not_before``
        (its due time, or a later retry time), or the end of a current lease."""
        if self._db.dialect == "sqlite":
            async with self._db.read() as conn:
                return cast(datetime | None, await conn.scalar(_NEXT_ALERT_AT_ONCE))
        async with self._db.read(snapshot=True) as conn:
            first_free = await conn.scalar(_FIRST_FREE)
            upto = _END_OF_TIME if first_free is None else first_free
            return cast(datetime | None, await conn.scalar(_NEXT_ALERT, {"upto": upto}))

    @guarded
    async def claim_due_alerts(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Alert]:
        due = (A.c.status == AlertStatus.PENDING.value) & (A.c.not_before <= now)
        lease = self._lease_until(now, lease_seconds)
        if self._db.dialect == "postgresql":
            db_now: ColumnElement[Any] = func.now()
            candidates = (
                select(A.c.id)
                .where(due, or_(A.c.lease_until.is_(None), A.c.lease_until <= db_now))
                .order_by(A.c.not_before, A.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .cte("claimable")
                .prefix_with("MATERIALIZED")
            )
            claimed = A.c.id == candidates.c.id
        else:
            candidate_ids = (
                select(A.c.id)
                .where(due, or_(A.c.lease_until.is_(None), A.c.lease_until <= now))
                .order_by(A.c.not_before, A.c.id)
                .limit(limit)
            )
            claimed = A.c.id.in_(candidate_ids.scalar_subquery())
        stmt = (
            update(A)
            .where(claimed)
            .values(lease_until=lease, claimed_by=self._claimer)
            .returning(*ALERT_COLUMNS)
        )

        async def work(conn: AsyncConnection) -> list[Alert]:
            return [alert_from_row(row) for row in (await conn.execute(stmt)).all()]

        alerts = await self._db.write(work)
        return sorted(alerts, key=lambda alert: (alert.due_at, alert.id))

    @guarded
    async def mark_alerts_sent(self, *, alert_ids: Sequence[int], sent_at: datetime) -> None:
        if not alert_ids:
            return
        stmt = (
            update(A)
            .where(A.c.id.in_(list(alert_ids)))
            .values(
                status=AlertStatus.SENT.value, sent_at=sent_at, lease_until=None, claimed_by=None
            )
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def renew_leases(
        self, *, alert_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        if not alert_ids:
            return []
        stmt = (
            update(A)
            .where(
                A.c.id.in_(list(alert_ids)),
                A.c.status == AlertStatus.PENDING.value,
                A.c.claimed_by == self._claimer,
            )
            .values(lease_until=self._lease_until(now, lease_seconds))
            .returning(A.c.id)
        )

        async def work(conn: AsyncConnection) -> list[int]:
            return sorted(row[0] for row in (await conn.execute(stmt)).all())

        return await self._db.write(work)

    @guarded
    async def mark_alert_failed(self, *, alert_id: int, error: str) -> None:
        stmt = (
            update(A)
            .where(A.c.id == alert_id)
            .values(
                status=AlertStatus.FAILED.value,
                attempts=A.c.attempts + 1,
                last_error=error,
                lease_until=None,
                claimed_by=None,
            )
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def release_alert(self, *, alert_id: int, retry_at: datetime, error: str) -> None:
        stmt = (
            update(A)
            .where(A.c.id == alert_id, A.c.status == AlertStatus.PENDING.value)
            .values(
                not_before=retry_at,
                attempts=A.c.attempts + 1,
                last_error=error,
                lease_until=None,
                claimed_by=None,
            )
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def release_leases(self, *, alert_ids: Sequence[int]) -> None:
        if not alert_ids:
            return
        stmt = (
            update(A)
            .where(
                A.c.id.in_(list(alert_ids)),
                A.c.status == AlertStatus.PENDING.value,
                A.c.claimed_by == self._claimer,
            )
            .values(lease_until=None, claimed_by=None)
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def count_due_alerts(self, *, now: datetime) -> int:
        stmt = select(func.count()).where(
            A.c.status == AlertStatus.PENDING.value, A.c.not_before <= now
        )
        async with self._db.read() as conn:
            return int(await conn.scalar(stmt) or 0)
