"""``bot.ports.NoticeOutbox``: the direct messages that tell people of changes.

``add_notices`` writes a change to the outbox inside the transaction of the
change itself (``storage.deadlines`` calls it; a store for any other change
that people are told of calls it the same way). Per person it either appends
the change to their pending notice on the deadline, when that notice is neither
claimed nor due yet, or adds a new notice due at ``PlannedNotice.due_at``. On
PostgreSQL those notices are read ``FOR UPDATE``, so a claim taking one at the
same moment either waits for the append or makes the change start a notice of
its own; on SQLite the write transaction is the only writer.

Claims work as the alert outbox's (``storage.outbox``): a lease and the
claimer's name, ``FOR UPDATE SKIP LOCKED`` and the database clock on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Interval, Table, case, func, insert, literal, or_, select, type_coerce
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.domain import AlertStatus, Change, ChangeKind, Notice, PlannedNotice
from storage.connections import Connections, SqlStore
from storage.errors import guarded
from storage.tables import NoticeRow
from storage.types import UTCDateTime

N = cast(Table, NoticeRow.__table__)  # type: ignore[attr-defined]
# A notice goes through the states an alert does.
PENDING, SENT, FAILED = AlertStatus.PENDING.value, AlertStatus.SENT.value, AlertStatus.FAILED.value

_COLUMNS = (
    N.c.id,
    N.c.workspace_id,
    N.c.deadline_id,
    N.c.user_id,
    N.c.changes,
    N.c.due_at,
    N.c.attempts,
)
_NEXT_NOTICE = select(
    func.min(
        type_coerce(
            case(
                (
                    N.c.lease_until.is_not(None) & (N.c.lease_until > N.c.not_before),
                    N.c.lease_until,
                ),
                else_=N.c.not_before,
            ),
            UTCDateTime(),
        )
    )
).where(N.c.status == PENDING)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def change_to_json(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind.value,
        "at": change.at.isoformat(),
        "actor": change.actor_id,
        "from": _instant(change.previous_due),
        "to": _instant(change.new_due),
        "reason": change.reason,
        **({"detail": change.detail} if change.detail else {}),
    }


def change_from_json(data: dict[str, Any]) -> Change:
    return Change(
        kind=ChangeKind(data["kind"]),
        at=datetime.fromisoformat(data["at"]),
        actor_id=str(data["actor"]),
        previous_due=_moment(data.get("from")),
        new_due=_moment(data.get("to")),
        reason=str(data.get("reason") or ""),
        detail=str(data.get("detail") or ""),
    )


def _notice_from_row(row: Sequence[Any]) -> Notice:
    id_, ws, deadline_id, user_id, changes, due_at, attempts = row
    return Notice(
        id=id_,
        workspace_id=ws,
        deadline_id=deadline_id,
        user_id=user_id,
        changes=tuple(change_from_json(item) for item in json.loads(changes)),
        due_at=due_at,
        attempts=attempts,
    )


async def add_notices(
    conn: AsyncConnection,
    *,
    dialect: str,
    workspace_id: str,
    deadline_id: int,
    planned: PlannedNotice,
) -> None:
    """Tell ``planned.change`` to its people, in the caller's write transaction."""
    user_ids = list(dict.fromkeys(planned.user_ids))
    if not user_ids:
        return
    change = planned.change
    open_notices = (
        select(N.c.id, N.c.user_id, N.c.changes)
        .where(
            N.c.workspace_id == workspace_id,
            N.c.deadline_id == deadline_id,
            N.c.user_id.in_(user_ids),
            N.c.status == PENDING,
            N.c.lease_until.is_(None),
            N.c.due_at > change.at,
        )
        .order_by(N.c.id)
    )
    if dialect == "postgresql":
        open_notices = open_notices.with_for_update()
    gathering: dict[str, tuple[int, str]] = {}
    for notice_id, user_id, changes in (await conn.execute(open_notices)).all():
        gathering.setdefault(user_id, (notice_id, changes))
    told = change_to_json(change)
    for notice_id, changes in gathering.values():
        appended = json.dumps([*json.loads(changes), told])
        await conn.execute(sql_update(N).where(N.c.id == notice_id).values(changes=appended))
    fresh = [
        {
            "workspace_id": workspace_id,
            "deadline_id": deadline_id,
            "user_id": user_id,
            "changes": json.dumps([told]),
            "due_at": planned.due_at,
            "not_before": planned.due_at,
            "status": PENDING,
            "attempts": 0,
        }
        for user_id in user_ids
        if user_id not in gathering
    ]
    if fresh:
        await conn.execute(insert(N), fresh)


class SqlNoticeOutbox(SqlStore):
    """The NoticeOutbox port on shared ``Connections``."""

    def __init__(self, db: Connections) -> None:
        super().__init__(db)
        self._notice_claimer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def _notice_lease(self, now: datetime, lease_seconds: float) -> Any:
        if self._db.dialect == "postgresql":
            # The lease runs on the database clock, shared by every replica.
            return func.now() + literal(timedelta(seconds=lease_seconds), Interval())
        return now + timedelta(seconds=lease_seconds)

    @guarded
    async def next_notice_due(self) -> datetime | None:
        async with self._db.read() as conn:
            return cast(datetime | None, await conn.scalar(_NEXT_NOTICE))

    @guarded
    async def claim_due_notices(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Notice]:
        due = (N.c.status == PENDING) & (N.c.not_before <= now)
        if self._db.dialect == "postgresql":
            db_now: ColumnElement[Any] = func.now()
            candidates = (
                select(N.c.id)
                .where(due, or_(N.c.lease_until.is_(None), N.c.lease_until <= db_now))
                .order_by(N.c.not_before, N.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .cte("claimable")
                .prefix_with("MATERIALIZED")
            )
            claimed = N.c.id == candidates.c.id
        else:
            candidate_ids = (
                select(N.c.id)
                .where(due, or_(N.c.lease_until.is_(None), N.c.lease_until <= now))
                .order_by(N.c.not_before, N.c.id)
                .limit(limit)
            )
            claimed = N.c.id.in_(candidate_ids.scalar_subquery())
        stmt = (
            sql_update(N)
            .where(claimed)
            .values(
                lease_until=self._notice_lease(now, lease_seconds),
                claimed_by=self._notice_claimer,
            )
            .returning(*_COLUMNS)
        )

        async def work(conn: AsyncConnection) -> list[Notice]:
            return [_notice_from_row(row) for row in (await conn.execute(stmt)).all()]

        notices = await self._db.write(work)
        return sorted(notices, key=lambda notice: (notice.due_at, notice.id))

    @guarded
    async def renew_notice_leases(
        self, *, notice_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        if not notice_ids:
            return []
        stmt = (
            sql_update(N)
            .where(*self._held(notice_ids))
            .values(lease_until=self._notice_lease(now, lease_seconds))
            .returning(N.c.id)
        )

        async def work(conn: AsyncConnection) -> list[int]:
            return sorted(row[0] for row in (await conn.execute(stmt)).all())

        return await self._db.write(work)

    def _held(self, notice_ids: Sequence[int]) -> tuple[ColumnElement[bool], ...]:
        return (
            N.c.id.in_(list(notice_ids)),
            N.c.status == PENDING,
            N.c.claimed_by == self._notice_claimer,
        )

    @guarded
    async def mark_notice_sent(self, *, notice_id: int, sent_at: datetime) -> None:
        stmt = (
            sql_update(N)
            .where(N.c.id == notice_id)
            .values(status=SENT, sent_at=sent_at, lease_until=None, claimed_by=None)
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def mark_notice_failed(self, *, notice_id: int, error: str) -> None:
        stmt = (
            sql_update(N)
            .where(N.c.id == notice_id)
            .values(
                status=FAILED,
                attempts=N.c.attempts + 1,
                last_error=error,
                lease_until=None,
                claimed_by=None,
            )
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def release_notice(self, *, notice_id: int, retry_at: datetime, error: str) -> None:
        stmt = (
            sql_update(N)
            .where(N.c.id == notice_id, N.c.status == PENDING)
            .values(
                not_before=retry_at,
                attempts=N.c.attempts + 1,
                last_error=error,
                lease_until=None,
                claimed_by=None,
            )
        )
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def release_notice_leases(self, *, notice_ids: Sequence[int]) -> None:
        if not notice_ids:
            return
        stmt = (
            sql_update(N).where(*self._held(notice_ids)).values(lease_until=None, claimed_by=None)
        )
        await self._db.write(lambda conn: conn.execute(stmt))
