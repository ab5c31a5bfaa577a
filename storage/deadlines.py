"""``bot.ports.DeadlineStore``: deadlines, positions, position requests and history.

Every query filters by ``workspace_id``: a deadline of another workspace is
``NotFound`` when written to and invisible when read; lookups by number or
title also filter by channel, except ``find_deadlines_of_person`` (a person's
own and asked-on deadlines, for a direct message). Each write appends its
history event (and, when asked, replaces the deadline's pending alerts and writes
notices of the change) in the same transaction. Deadlines are numbered per
negotiation (one channel today) from a counter row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from bot.domain import (
    AlertStatus,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    NewDeadline,
    PlannedAlert,
    PlannedNotice,
    Position,
    PositionRequest,
)
from bot.errors import InvalidInput, NotFound
from storage.adding import add_deadline
from storage.connections import SqlStore
from storage.errors import guarded
from storage.notices import add_notices
from storage.rows import (
    DEADLINE_COLUMNS,
    EVENT_COLUMNS,
    POSITION_COLUMNS,
    POSITIONS_OF_DEADLINE,
    REQUEST_COLUMNS,
    REQUESTS_OF_DEADLINE,
    A,
    D,
    E,
    P,
    R,
    alert_values,
    deadline_from_row,
    event_from_row,
    event_values,
    offsets_to_text,
    owners_to_text,
    position_from_row,
    position_values,
    request_from_row,
    states_from_rows,
)

# --- prepared statements (compiled once, cached by SQLAlchemy) ---------------

_GET_BY_NUMBER = select(*DEADLINE_COLUMNS).where(
    D.c.workspace_id == bindparam("ws"),
    D.c.channel_id == bindparam("channel"),
    D.c.number == bindparam("number"),
)
_GET_BY_ID = select(*DEADLINE_COLUMNS).where(
    D.c.workspace_id == bindparam("ws"), D.c.id == bindparam("id")
)
_FIND_BY_TITLE = (
    select(*DEADLINE_COLUMNS)
    .where(
        D.c.workspace_id == bindparam("ws"),
        D.c.channel_id == bindparam("channel"),
        D.c.title_key.like(bindparam("like"), escape="\\"),
    )
    .order_by(D.c.due_at, D.c.number)
)
_OWNED = select(D.c.id).where(D.c.workspace_id == bindparam("ws"), D.c.id == bindparam("id"))


def _list_statement(by_channel: bool, by_status: bool) -> Select[Any]:
    stmt = select(*DEADLINE_COLUMNS).where(D.c.workspace_id == bindparam("ws"))
    if by_channel:
        stmt = stmt.where(D.c.channel_id == bindparam("channel"))
    if by_status:
        stmt = stmt.where(D.c.status.in_(bindparam("statuses", expanding=True)))
    return stmt.order_by(D.c.due_at, D.c.number).limit(bindparam("limit"))


_LIST = {
    (by_channel, by_status): _list_statement(by_channel, by_status)
    for by_channel in (False, True)
    for by_status in (False, True)
}
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_DEADLINES_BY_IDS = select(*DEADLINE_COLUMNS).where(
    D.c.workspace_id == bindparam("ws"), D.c.id.in_(_IDS)
)
_POSITIONS_BY_IDS = (
    select(*POSITION_COLUMNS)
    .where(P.c.workspace_id == bindparam("ws"), P.c.deadline_id.in_(_IDS))
    .order_by(P.c.deadline_id, P.c.recorded_at, P.c.stakeholder)
)
_REQUESTS_BY_IDS = (
    select(*REQUEST_COLUMNS)
    .where(R.c.workspace_id == bindparam("ws"), R.c.deadline_id.in_(_IDS))
    .order_by(R.c.deadline_id, R.c.asked_at, R.c.user_id)
)
_EVENTS = (
    select(*EVENT_COLUMNS)
    .where(E.c.workspace_id == bindparam("ws"), E.c.deadline_id == bindparam("id"))
    .order_by(E.c.id)
)


# What recording a position again replaces (the key stays).
_POSITION_CHANGES = (
    "label",
    "stance",
    "terms",
    "recorded_by",
    "recorded_at",
    "offer_version",
    "salt",
    "commitment",
    "by_silence",
)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(prefix: str) -> str:
    return _like_escape(prefix.casefold()) + "%"


def _person_statement(*, by_number: bool, by_prefix: bool, by_status: bool) -> Select[Any]:
    """A person's deadlines: a coarse match on the owners' JSON (exact on ``asked``),
    made exact by the caller on the decoded owners."""
    asked = D.c.id.in_(
        select(R.c.deadline_id).where(
            R.c.workspace_id == bindparam("ws"), R.c.user_id == bindparam("user")
        )
    )
    stmt = select(*DEADLINE_COLUMNS, asked.label("asked")).where(
        D.c.workspace_id == bindparam("ws"),
        or_(D.c.owners.like(bindparam("owner_like"), escape="\\"), asked),
    )
    if by_number:
        stmt = stmt.where(D.c.number == bindparam("number"))
    if by_prefix:
        stmt = stmt.where(D.c.title_key.like(bindparam("like"), escape="\\"))
    if by_status:
        stmt = stmt.where(D.c.status.in_(bindparam("statuses", expanding=True)))
    return stmt.order_by(D.c.due_at, D.c.number).limit(bindparam("limit"))


_OF_PERSON = {
    (by_number, by_prefix, by_status): _person_statement(
        by_number=by_number, by_prefix=by_prefix, by_status=by_status
    )
    for by_number in (False, True)
    for by_prefix in (False, True)
    for by_status in (False, True)
}


async def _check_owned(conn: AsyncConnection, workspace_id: str, deadline_ids: set[int]) -> None:
    for deadline_id in deadline_ids:
        found = await conn.scalar(_OWNED, {"ws": workspace_id, "id": deadline_id})
        if found is None:
            raise NotFound(f"No deadline with id {deadline_id} in this workspace.")


class SqlDeadlineStore(SqlStore):
    """The DeadlineStore port on shared ``Connections``."""

    @guarded
    async def create_deadline(
        self, *, draft: NewDeadline, event: Event, alerts: Sequence[PlannedAlert]
    ) -> Deadline:
        return await add_deadline(self._db, draft=draft, event=event, alerts=alerts)

    @guarded
    async def get_deadline(
        self, *, workspace_id: str, channel_id: str, number: int
    ) -> Deadline | None:
        params = {"ws": workspace_id, "channel": channel_id, "number": number}
        async with self._db.read() as conn:
            row = (await conn.execute(_GET_BY_NUMBER, params)).first()
        return None if row is None else deadline_from_row(row)

    @guarded
    async def get_deadline_by_id(self, *, workspace_id: str, deadline_id: int) -> Deadline | None:
        async with self._db.read() as conn:
            result = await conn.execute(_GET_BY_ID, {"ws": workspace_id, "id": deadline_id})
            row = result.first()
        return None if row is None else deadline_from_row(row)

    @guarded
    async def find_deadlines_by_title(
        self, *, workspace_id: str, channel_id: str, prefix: str
    ) -> list[Deadline]:
        params = {"ws": workspace_id, "channel": channel_id, "like": _like_prefix(prefix)}
        async with self._db.read() as conn:
            rows = (await conn.execute(_FIND_BY_TITLE, params)).all()
        return [deadline_from_row(row) for row in rows]

    @guarded
    async def find_deadlines_of_person(
        self,
        *,
        workspace_id: str,
        user_id: str,
        number: int | None = None,
        prefix: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]:
        params: dict[str, Any] = {
            "ws": workspace_id,
            "user": user_id,
            "owner_like": "%" + _like_escape(owners_to_text([user_id])[1:-1]) + "%",
            "limit": limit,
        }
        if number is not None:
            params["number"] = number
        if prefix is not None:
            params["like"] = _like_prefix(prefix)
        if statuses is not None:
            params["statuses"] = sorted(status.value for status in statuses)
        stmt = _OF_PERSON[number is not None, prefix is not None, statuses is not None]
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt, params)).all()
        found = [(deadline_from_row(row[:-1]), bool(row[-1])) for row in rows]
        return [deadline for deadline, asked in found if asked or user_id in deadline.owners]

    @guarded
    async def list_deadlines(
        self,
        *,
        workspace_id: str,
        channel_id: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]:
        params: dict[str, Any] = {"ws": workspace_id, "limit": limit}
        if channel_id is not None:
            params["channel"] = channel_id
        if statuses is not None:
            params["statuses"] = sorted(status.value for status in statuses)
        stmt = _LIST[channel_id is not None, statuses is not None]

        async def load() -> tuple[Deadline, ...]:
            async with self._db.read() as conn:
                rows = (await conn.execute(stmt, params)).all()
            return tuple(deadline_from_row(row) for row in rows)

        key = ("list_deadlines", workspace_id, channel_id, statuses, limit)
        return list(await self._db.read_cached(key, load))

    @guarded
    async def update_deadline(
        self,
        *,
        deadline: Deadline,
        event: Event,
        alerts: Sequence[PlannedAlert] | None,
        notice: PlannedNotice | None = None,
    ) -> Deadline:
        ws = deadline.workspace_id
        stmt = (
            update(D)
            .where(D.c.workspace_id == ws, D.c.id == deadline.id)
            .values(
                due_at=deadline.due_at,
                tz=deadline.tz,
                status=deadline.status.value,
                reminder_offsets=offsets_to_text(deadline.reminder_offsets),
                updated_at=deadline.updated_at,
                sequence=D.c.sequence + 1,
                # Sealing and settling are one-way: a write from an older copy never undoes them.
                sealed=true() if deadline.sealed else D.c.sealed,
                silence_rule=deadline.silence.text,
                settled_at=func.coalesce(D.c.settled_at, deadline.settled_at),
            )
            .returning(*DEADLINE_COLUMNS)
        )

        async def work(conn: AsyncConnection) -> Deadline:
            row = (await conn.execute(stmt)).first()
            if row is None:
                raise NotFound(f"No deadline {deadline.ref} in this workspace.")
            await conn.execute(insert(E), event_values(ws, deadline.id, event))
            if alerts is not None:
                await conn.execute(
                    delete(A).where(
                        A.c.workspace_id == ws,
                        A.c.deadline_id == deadline.id,
                        A.c.status == AlertStatus.PENDING.value,
                    )
                )
                if alerts:
                    await conn.execute(insert(A), alert_values(ws, deadline.id, alerts))
            if notice is not None:
                await add_notices(
                    conn,
                    dialect=self._db.dialect,
                    workspace_id=ws,
                    deadline_id=deadline.id,
                    planned=notice,
                )
            return deadline_from_row(row)

        return await self._db.write(work)

    @guarded
    async def update_owners(
        self, *, deadline: Deadline, previous: Sequence[str], event: Event
    ) -> Deadline:
        ws = deadline.workspace_id
        stmt = (
            update(D)
            .where(
                D.c.workspace_id == ws,
                D.c.id == deadline.id,
                D.c.owners == owners_to_text(previous),
            )
            .values(
                owner_id=deadline.owners[0],
                owners=owners_to_text(deadline.owners),
                updated_at=deadline.updated_at,
                sequence=D.c.sequence + 1,
            )
            .returning(*DEADLINE_COLUMNS)
        )

        async def work(conn: AsyncConnection) -> Deadline:
            row = (await conn.execute(stmt)).first()
            if row is None:
                await _check_owned(conn, ws, {deadline.id})
                raise InvalidInput(
                    f"The owners of {deadline.ref} changed meanwhile; nothing was changed. "
                    "Try again."
                )
            await conn.execute(insert(E), event_values(ws, deadline.id, event))
            return deadline_from_row(row)

        return await self._db.write(work)

    @guarded
    async def record_position(self, *, workspace_id: str, position: Position, event: Event) -> None:
        upsert = self._db.insert(P).values(position_values(workspace_id, position))
        upsert = upsert.on_conflict_do_update(
            index_elements=[P.c.deadline_id, P.c.stakeholder],
            set_={name: upsert.excluded[name] for name in _POSITION_CHANGES},
        )
        answered = (
            update(R)
            .where(
                R.c.workspace_id == workspace_id,
                R.c.deadline_id == position.deadline_id,
                R.c.user_id == position.stakeholder,
                R.c.answered_at.is_(None),
            )
            .values(answered_at=position.recorded_at)
        )

        async def work(conn: AsyncConnection) -> None:
            await _check_owned(conn, workspace_id, {position.deadline_id})
            # The upsert comes first: on PostgreSQL its row lock orders concurrent
            # writers, so event ids follow commit order.
            await conn.execute(upsert)
            await conn.execute(insert(E), event_values(workspace_id, position.deadline_id, event))
            await conn.execute(answered)

        await self._db.write(work)

    @guarded
    async def settle_deadline(
        self,
        *,
        deadline: Deadline,
        at: datetime,
        positions: Sequence[Position],
        events: Sequence[Event],
    ) -> bool:
        ws = deadline.workspace_id
        settle = (
            update(D)
            .where(D.c.workspace_id == ws, D.c.id == deadline.id, D.c.settled_at.is_(None))
            .values(settled_at=at, updated_at=at, sequence=D.c.sequence + 1)
        )
        # A position recorded meanwhile is no longer silent: it stays.
        silent = self._db.insert(P).on_conflict_do_nothing(
            index_elements=[P.c.deadline_id, P.c.stakeholder]
        )

        async def work(conn: AsyncConnection) -> bool:
            if (await conn.execute(settle)).rowcount != 1:
                await _check_owned(conn, ws, {deadline.id})
                return False
            if positions:
                await conn.execute(silent, [position_values(ws, p) for p in positions])
            for event in events:
                await conn.execute(insert(E), event_values(ws, deadline.id, event))
            return True

        return await self._db.write(work)

    @guarded
    async def extend_by_silence(
        self,
        *,
        deadline: Deadline,
        previous_due: datetime,
        event: Event,
        alerts: Sequence[PlannedAlert],
        keep_alert_ids: Sequence[int],
    ) -> bool:
        ws = deadline.workspace_id
        extend = (
            update(D)
            .where(
                D.c.workspace_id == ws,
                D.c.id == deadline.id,
                D.c.due_at == previous_due,
                D.c.status == DeadlineStatus.OPEN.value,
                D.c.settled_at.is_(None),
                D.c.silence_extended.is_(False),
            )
            .values(
                due_at=deadline.due_at,
                silence_extended=True,
                updated_at=deadline.updated_at,
                sequence=D.c.sequence + 1,
            )
        )
        drop = delete(A).where(
            A.c.workspace_id == ws,
            A.c.deadline_id == deadline.id,
            A.c.status == AlertStatus.PENDING.value,
            A.c.id.not_in(list(keep_alert_ids)),
        )

        async def work(conn: AsyncConnection) -> bool:
            if (await conn.execute(extend)).rowcount != 1:
                await _check_owned(conn, ws, {deadline.id})
                return False
            await conn.execute(insert(E), event_values(ws, deadline.id, event))
            await conn.execute(drop)
            if alerts:
                await conn.execute(insert(A), alert_values(ws, deadline.id, alerts))
            return True

        return await self._db.write(work)

    @guarded
    async def list_positions(self, *, workspace_id: str, deadline_id: int) -> list[Position]:
        params = {"ws": workspace_id, "id": deadline_id}
        async with self._db.read() as conn:
            rows = (await conn.execute(POSITIONS_OF_DEADLINE, params)).all()
        return [position_from_row(row) for row in rows]

    @guarded
    async def add_position_requests(
        self, *, workspace_id: str, requests: Sequence[PositionRequest], event: Event
    ) -> None:
        stmt = self._db.insert(R).on_conflict_do_nothing(
            index_elements=[R.c.deadline_id, R.c.user_id]
        )
        values = [
            {
                "deadline_id": request.deadline_id,
                "user_id": request.user_id,
                "workspace_id": workspace_id,
                "asked_by": request.asked_by,
                "asked_at": request.asked_at,
                "answered_at": request.answered_at,
            }
            for request in requests
        ]

        async def work(conn: AsyncConnection) -> None:
            owned = {request.deadline_id for request in requests} | {event.deadline_id}
            await _check_owned(conn, workspace_id, owned)
            if values:
                await conn.execute(stmt, values)
            await conn.execute(insert(E), event_values(workspace_id, event.deadline_id, event))

        await self._db.write(work)

    @guarded
    async def list_position_requests(
        self, *, workspace_id: str, deadline_id: int
    ) -> list[PositionRequest]:
        params = {"ws": workspace_id, "id": deadline_id}
        async with self._db.read() as conn:
            rows = (await conn.execute(REQUESTS_OF_DEADLINE, params)).all()
        return [request_from_row(row) for row in rows]

    @guarded
    async def list_events(self, *, workspace_id: str, deadline_id: int) -> list[Event]:
        async with self._db.read() as conn:
            rows = (await conn.execute(_EVENTS, {"ws": workspace_id, "id": deadline_id})).all()
        return [event_from_row(row) for row in rows]

    @guarded
    async def load_deadline_states(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[DeadlineState]:
        if not deadline_ids:
            return []
        params = {"ws": workspace_id, "ids": sorted(set(deadline_ids))}
        async with self._db.read(snapshot=True) as conn:
            deadlines = (await conn.execute(_DEADLINES_BY_IDS, params)).all()
            positions = (await conn.execute(_POSITIONS_BY_IDS, params)).all()
            requests = (await conn.execute(_REQUESTS_BY_IDS, params)).all()
        return states_from_rows(deadlines, positions, requests)
