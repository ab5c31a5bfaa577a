"""``bot.ports.Repository`` on SQLAlchemy Core (async), for SQLite and PostgreSQL.

Reads run one Core statement on a pooled connection and build the domain
dataclasses straight from the rows: no ORM session, no model objects (the hot
path runs on every Slack request). Writes run in one transaction each, through
``storage.db.writer`` (``BEGIN IMMEDIATE`` on SQLite), retried a few times when
SQLite reports the database locked or PostgreSQL a deadlock.

Every query filters by ``workspace_id``; the alert-outbox calls are the one
exception by design (the dispatcher serves every workspace, and each ``Alert``
says which one it belongs to).

Errors: connection-level failures become ``StorageUnavailable``; a deadline of
another workspace is ``NotFound``; a bad import is ``InvalidInput``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import secrets
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from sqlalchemy import (
    Connection,
    Interval,
    Select,
    Table,
    bindparam,
    case,
    delete,
    exc,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import Integer, String, Text
from sqlmodel import SQLModel

from bot.domain import (
    Alert,
    AlertStatus,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    EventKind,
    FeedKind,
    FeedScope,
    FeedToken,
    NewDeadline,
    PlannedAlert,
    Position,
    PositionRequest,
    Stance,
)
from bot.errors import InvalidInput, NotFound, ParleyError, StorageUnavailable
from storage.db import inline_sqlite_engine, single_statement_reader, writer
from storage.tables import (
    AlertRow,
    ConversationReferenceRow,
    DeadlineRow,
    EventRow,
    FeedTokenRow,
    PositionRequestRow,
    PositionRow,
    WorkspaceCounterRow,
)
from storage.types import UTCDateTime

if TYPE_CHECKING:
    from bot.ports import Repository

EXPORT_FORMAT = "parley-export"
EXPORT_VERSION = 1

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


D = _table(DeadlineRow)
C = _table(WorkspaceCounterRow)
P = _table(PositionRow)
R = _table(PositionRequestRow)
E = _table(EventRow)
A = _table(AlertRow)
FT = _table(FeedTokenRow)
CR = _table(ConversationReferenceRow)

# Export sections, in an order that satisfies the foreign keys on import.
_SECTIONS: tuple[tuple[str, Table], ...] = (
    ("counters", C),
    ("deadlines", D),
    ("positions", P),
    ("position_requests", R),
    ("events", E),
    ("alerts", A),
)
_SERIAL_TABLES = (D, E, A)


# --- error translation ------------------------------------------------------

# SQLSTATE classes that mean "cannot reach or use the server right now": connection
# exception, invalid authorization, insufficient resources, operator intervention.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "53", "57"})
_UNAVAILABLE_SQLSTATES = frozenset({"3D000"})  # the database does not exist
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, exc.OperationalError | exc.InterfaceError)
            or _unavailable_cause(error.orig)
        )
    # exc.TimeoutError: no pooled connection came free in time.
    return isinstance(error, exc.TimeoutError) or _unavailable_cause(error)


def _unavailable_cause(error: BaseException | None) -> bool:
    # SQLAlchemy's asyncpg adapter wraps asyncpg's exception: look through the chain.
    for _ in range(5):
        if error is None:
            return False
        if isinstance(error, OSError):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        error = error.__cause__
    return False


def _guarded(
    method: Callable[_P, Awaitable[_T]],
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """Turn connection-level failures of ``method`` into ``StorageUnavailable``."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except ParleyError:
            raise
        except Exception as error:
            if _unavailable(error):
                raise StorageUnavailable(f"database unavailable: {error}") from error
            raise

    return wrapper


def _retryable(error: exc.DBAPIError) -> bool:
    if isinstance(error, exc.OperationalError) and "locked" in str(error.orig).lower():
        return True  # SQLite: busy_timeout ran out
    return getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES


# --- value conversion -------------------------------------------------------


def _offsets_to_text(offsets: Iterable[timedelta]) -> str:
    return ",".join(str(int(offset.total_seconds())) for offset in offsets)


@functools.lru_cache(maxsize=256)  # a handful of distinct reminder sets, read on every row
def _offsets_from_text(value: str) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=int(part)) for part in value.split(",") if part)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


_DEADLINE_COLS = (
    D.c.id,
    D.c.workspace_id,
    D.c.number,
    D.c.channel_id,
    D.c.platform,
    D.c.title,
    D.c.due_at,
    D.c.tz,
    D.c.owner_id,
    D.c.status,
    D.c.reminder_offsets,
    D.c.created_at,
    D.c.updated_at,
    D.c.sequence,
    D.c.uid,
)


def _deadline(row: Sequence[Any]) -> Deadline:
    (id_, ws, number, channel, platform, title, due_at, tz, owner, status, offsets, created,
     updated, sequence, uid) = row  # fmt: skip
    return Deadline(
        id=id_,
        workspace_id=ws,
        number=number,
        channel_id=channel,
        platform=platform,
        title=title,
        due_at=due_at,
        tz=tz,
        owner_id=owner,
        status=DeadlineStatus(status),
        reminder_offsets=_offsets_from_text(offsets),
        created_at=created,
        updated_at=updated,
        sequence=sequence,
        uid=uid,
    )


def _request(row: Sequence[Any]) -> PositionRequest:
    deadline_id, user_id, asked_by, asked_at, answered_at = row
    return PositionRequest(
        deadline_id=deadline_id,
        user_id=user_id,
        asked_by=asked_by,
        asked_at=asked_at,
        answered_at=answered_at,
    )


_POSITION_COLS = (
    P.c.deadline_id,
    P.c.stakeholder,
    P.c.label,
    P.c.stance,
    P.c.terms,
    P.c.recorded_by,
    P.c.recorded_at,
)


def _position(row: Sequence[Any]) -> Position:
    deadline_id, stakeholder, label, stance, terms, recorded_by, recorded_at = row
    return Position(
        deadline_id=deadline_id,
        stakeholder=stakeholder,
        label=label,
        stance=Stance(stance),
        terms=terms,
        recorded_by=recorded_by,
        recorded_at=recorded_at,
    )


_ALERT_COLS = (
    A.c.id,
    A.c.deadline_id,
    A.c.workspace_id,
    A.c.offset_seconds,
    A.c.due_at,
    A.c.status,
    A.c.attempts,
)


def _alert(row: Sequence[Any]) -> Alert:
    id_, deadline_id, ws, offset, due_at, status, attempts = row
    return Alert(
        id=id_,
        deadline_id=deadline_id,
        workspace_id=ws,
        offset=timedelta(seconds=offset),
        due_at=due_at,
        status=AlertStatus(status),
        attempts=attempts,
    )


def _event_values(workspace_id: str, deadline_id: int, event: Event) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "deadline_id": deadline_id,
        "kind": str(event.kind),
        "at": event.at,
        "actor_id": event.actor_id,
        "data": json.dumps(event.data, separators=(",", ":")),
    }


def _alert_values(
    workspace_id: str, deadline_id: int, alerts: Sequence[PlannedAlert]
) -> list[dict[str, Any]]:
    return [
        {
            "workspace_id": workspace_id,
            "deadline_id": deadline_id,
            "offset_seconds": int(alert.offset.total_seconds()),
            "due_at": alert.due_at,
            "not_before": alert.due_at,
            "status": AlertStatus.PENDING.value,
            "attempts": 0,
        }
        for alert in alerts
    ]


# --- prepared statements (compiled once, cached by SQLAlchemy) ---------------

_GET_BY_NUMBER = select(*_DEADLINE_COLS).where(
    D.c.workspace_id == bindparam("ws"), D.c.number == bindparam("number")
)
_GET_BY_ID = select(*_DEADLINE_COLS).where(
    D.c.workspace_id == bindparam("ws"), D.c.id == bindparam("id")
)
_FIND_BY_TITLE = (
    select(*_DEADLINE_COLS)
    .where(D.c.workspace_id == bindparam("ws"), D.c.title_key.like(bindparam("like"), escape="\\"))
    .order_by(D.c.due_at, D.c.number)
)
_OWNED = select(D.c.id).where(D.c.workspace_id == bindparam("ws"), D.c.id == bindparam("id"))


def _list_statement(by_channel: bool, by_status: bool) -> Select[Any]:
    stmt = select(*_DEADLINE_COLS).where(D.c.workspace_id == bindparam("ws"))
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
_POSITIONS = (
    select(*_POSITION_COLS)
    .where(P.c.workspace_id == bindparam("ws"), P.c.deadline_id == bindparam("id"))
    .order_by(P.c.recorded_at, P.c.stakeholder)
)
_REQUESTS = (
    select(R.c.deadline_id, R.c.user_id, R.c.asked_by, R.c.asked_at, R.c.answered_at)
    .where(R.c.workspace_id == bindparam("ws"), R.c.deadline_id == bindparam("id"))
    .order_by(R.c.asked_at, R.c.user_id)
)
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_DEADLINES_BY_IDS = select(*_DEADLINE_COLS).where(
    D.c.workspace_id == bindparam("ws"), D.c.id.in_(_IDS)
)
_POSITIONS_BY_IDS = (
    select(*_POSITION_COLS)
    .where(P.c.workspace_id == bindparam("ws"), P.c.deadline_id.in_(_IDS))
    .order_by(P.c.deadline_id, P.c.recorded_at, P.c.stakeholder)
)
_REQUESTS_BY_IDS = (
    select(R.c.deadline_id, R.c.user_id, R.c.asked_by, R.c.asked_at, R.c.answered_at)
    .where(R.c.workspace_id == bindparam("ws"), R.c.deadline_id.in_(_IDS))
    .order_by(R.c.deadline_id, R.c.asked_at, R.c.user_id)
)
_EVENTS = (
    select(E.c.deadline_id, E.c.kind, E.c.at, E.c.actor_id, E.c.data)
    .where(E.c.workspace_id == bindparam("ws"), E.c.deadline_id == bindparam("id"))
    .order_by(E.c.id)
)
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


# A unit of work waiting for the shared inline transaction, and what became of it.
_Queued = tuple[Callable[[AsyncConnection], Awaitable[Any]], "asyncio.Future[tuple[bool, Any]]"]
_Outcome = tuple["asyncio.Future[tuple[bool, Any]]", BaseException | None, Any]


def _run_now(coroutine: Awaitable[_T]) -> _T:
    """The result of a coroutine that never waits (a unit of work on the inline connection)."""
    assert isinstance(coroutine, Coroutine)
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return cast(_T, stop.value)
    coroutine.close()
    raise RuntimeError("a unit of work on the inline SQLite connection tried to wait")


class _InlineConnection:
    """Runs statements at once on a synchronous SQLite connection, on the calling thread.

    It offers the AsyncConnection methods the repository's statements use, so one
    body of statement code serves both paths. Nothing inside really waits, so a
    unit of work runs to its end without another task stepping in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._connection.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._connection.scalar(statement, parameters)


class SqlRepository:
    """The Repository port on one AsyncEngine (see ``storage.db.make_engine``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._writer = writer(engine)
        self._reader = single_statement_reader(engine)
        self._snapshot_reader = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if self._dialect == "postgresql"
            else engine
        )
        self._insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        self._counter_next = self._counter_statement()
        self._claimer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # A :memory: SQLite database is one shared connection (StaticPool): take turns.
        self._serial = asyncio.Lock() if isinstance(engine.sync_engine.pool, StaticPool) else None
        sqlite_file = self._dialect == "sqlite" and self._serial is None
        # SQLite has one writer at a time. Queueing this process's writers here
        # instead of in SQLite's busy handler (which sleeps in growing steps)
        # keeps a burst of commands from turning into second-long waits.
        self._write_turn = asyncio.Lock() if sqlite_file else None
        # On a SQLite file, statements run on the event loop's thread through one
        # kept synchronous connection: a local SQLite statement takes a few
        # microseconds, a round trip to aiosqlite's thread (and a pool checkout)
        # far more. In WAL mode each autocommit read sees everything committed
        # before it, and readers never wait for the writer.
        self._inline_engine = inline_sqlite_engine(engine) if sqlite_file else None
        self._inline: Connection | None = None
        self._queued: list[_Queued] = []

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._inline_engine is not None:
            self._inline_engine.dispose()
        await self._engine.dispose()

    # --- plumbing ----------------------------------------------------------

    @asynccontextmanager
    async def _read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for one read statement, or for several in one ``snapshot``."""
        if self._inline_engine is not None and not snapshot:
            # Snapshots are the large reads (feeds, export, a claim's context):
            # they go to aiosqlite's thread so the event loop keeps serving.
            inline = self._inline_connection()
            try:
                yield cast(AsyncConnection, _InlineConnection(inline))
            finally:
                inline.rollback()  # a no-op after a single statement
            return
        engine = self._snapshot_reader if snapshot else self._reader
        async with self._serial or nullcontext(), engine.connect() as conn:
            if snapshot:
                await conn.begin()
            yield conn

    def _inline_connection(self) -> Connection:
        if self._inline is None:
            assert self._inline_engine is not None
            # Transactions on it are begun by hand (BEGIN / BEGIN IMMEDIATE).
            self._inline = self._inline_engine.connect().execution_options(sqlite_begin="NONE")
        return self._inline

    async def _write_inline(
        self, work: Callable[[AsyncConnection], Awaitable[_T]]
    ) -> tuple[bool, _T | None]:
        """Run ``work`` in a write transaction on the inline connection.

        Writes queued in the same turn of the event loop share one transaction
        (each in its own savepoint, so one that fails takes nothing else with
        it): a SQLite commit costs more than the statements of a new deadline.
        Returns ``(False, None)`` without running ``work`` when another process
        holds SQLite's write lock; the caller then waits for it off the loop.
        """
        future: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        self._queued.append((work, future))
        if len(self._queued) == 1:
            asyncio.get_running_loop().call_soon(self._commit_queued)
        return await future

    def _commit_queued(self) -> None:
        batch, self._queued = self._queued, []
        try:
            outcomes = self._commit_batch(batch)
        except Exception as failure:  # the database itself failed: every writer hears of it
            outcomes = [(future, failure, None) for _, future in batch]
        for future, error, value in outcomes:
            if future.done():  # the caller went away; what it wrote stays written
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

    def _commit_batch(self, batch: list[_Queued]) -> list[_Outcome]:
        """Run the queued units of work in one transaction; what each one gave or raised."""
        conn = self._inline_connection()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except exc.OperationalError as error:
            conn.rollback()
            if not _retryable(error):
                raise
            return [(future, None, (False, None)) for _, future in batch]
        shared = len(batch) > 1
        outcomes: list[_Outcome] = []
        for n, (work, future) in enumerate(batch):
            if shared:
                conn.exec_driver_sql(f"SAVEPOINT w{n}")
            try:
                value = _run_now(work(cast(AsyncConnection, _InlineConnection(conn))))
            except Exception as error:
                if shared:
                    conn.exec_driver_sql(f"ROLLBACK TO w{n}")
                    conn.exec_driver_sql(f"RELEASE w{n}")
                outcomes.append((future, error, None))
            else:
                if shared:
                    conn.exec_driver_sql(f"RELEASE w{n}")
                outcomes.append((future, None, (True, value)))
        try:
            if shared or outcomes[0][1] is None:
                conn.commit()
            else:
                conn.rollback()
        except Exception:
            conn.rollback()
            raise
        return outcomes

    async def _write(self, work: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        """Run ``work`` in one write transaction, retrying lock timeouts and deadlocks."""
        if self._inline_engine is not None:
            done, result = await self._write_inline(work)
            if done:
                return cast(_T, result)
        attempt = 0
        while True:
            try:
                turn = self._serial or self._write_turn or nullcontext()
                async with turn, self._writer.begin() as conn:
                    return await work(conn)
            except exc.DBAPIError as error:
                attempt += 1
                if attempt >= 4 or not _retryable(error):
                    raise
                await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)

    async def _next_number(self, conn: AsyncConnection, workspace_id: str) -> int:
        return int((await conn.execute(self._counter_next, {"ws": workspace_id})).scalar_one())

    def _counter_statement(self) -> Any:
        stmt = self._insert(C).values(workspace_id=bindparam("ws"), last_number=1)
        return stmt.on_conflict_do_update(
            index_elements=[C.c.workspace_id],
            set_={"last_number": C.c.last_number + 1},
        ).returning(C.c.last_number)

    @staticmethod
    async def _check_owned(
        conn: AsyncConnection, workspace_id: str, deadline_ids: set[int]
    ) -> None:
        for deadline_id in deadline_ids:
            found = await conn.scalar(_OWNED, {"ws": workspace_id, "id": deadline_id})
            if found is None:
                raise NotFound(f"No deadline with id {deadline_id} in this workspace.")

    # --- deadlines -----------------------------------------------------------

    @_guarded
    async def create_deadline(
        self, *, draft: NewDeadline, event: Event, alerts: Sequence[PlannedAlert]
    ) -> Deadline:
        ws = draft.workspace_id
        reserved: int | None = None
        if self._dialect == "postgresql":
            # The workspace's counter row is locked from the increment to the
            # commit. Taking the number in a transaction of its own keeps that
            # lock for one statement, not for the whole insert: concurrent adds in
            # one workspace otherwise queue behind each other. A failed insert
            # leaves a gap in the numbering, never a duplicate.
            reserved = await self._write(lambda conn: self._next_number(conn, ws))

        async def work(conn: AsyncConnection) -> Deadline:
            number = reserved if reserved is not None else await self._next_number(conn, ws)
            values = {
                "workspace_id": ws,
                "number": number,
                "channel_id": draft.channel_id,
                "platform": draft.platform,
                "title": draft.title,
                "title_key": draft.title.casefold(),
                "due_at": draft.due_at,
                "tz": draft.tz,
                "owner_id": draft.owner_id,
                "status": DeadlineStatus.OPEN.value,
                "reminder_offsets": _offsets_to_text(draft.reminder_offsets),
                "created_at": draft.created_at,
                "updated_at": draft.created_at,
                "sequence": 0,
                "uid": secrets.token_hex(16),
            }
            # Read back what was stored: instants come back in UTC, like every read.
            row = (await conn.execute(insert(D).returning(*_DEADLINE_COLS), values)).one()
            deadline = _deadline(row)
            await conn.execute(insert(E), _event_values(ws, deadline.id, event))
            if alerts:
                await conn.execute(insert(A), _alert_values(ws, deadline.id, alerts))
            return deadline

        return await self._write(work)

    @_guarded
    async def get_deadline(self, *, workspace_id: str, number: int) -> Deadline | None:
        async with self._read() as conn:
            result = await conn.execute(_GET_BY_NUMBER, {"ws": workspace_id, "number": number})
            row = result.first()
        return None if row is None else _deadline(row)

    @_guarded
    async def get_deadline_by_id(self, *, workspace_id: str, deadline_id: int) -> Deadline | None:
        async with self._read() as conn:
            result = await conn.execute(_GET_BY_ID, {"ws": workspace_id, "id": deadline_id})
            row = result.first()
        return None if row is None else _deadline(row)

    @_guarded
    async def find_deadlines_by_title(self, *, workspace_id: str, prefix: str) -> list[Deadline]:
        async with self._read() as conn:
            result = await conn.execute(
                _FIND_BY_TITLE, {"ws": workspace_id, "like": _like_prefix(prefix)}
            )
            rows = result.all()
        return [_deadline(row) for row in rows]

    @_guarded
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
        async with self._read() as conn:
            rows = (await conn.execute(stmt, params)).all()
        return [_deadline(row) for row in rows]

    @_guarded
    async def update_deadline(
        self, *, deadline: Deadline, event: Event, alerts: Sequence[PlannedAlert] | None
    ) -> Deadline:
        ws = deadline.workspace_id
        stmt = (
            update(D)
            .where(D.c.workspace_id == ws, D.c.id == deadline.id)
            .values(
                due_at=deadline.due_at,
                tz=deadline.tz,
                status=deadline.status.value,
                reminder_offsets=_offsets_to_text(deadline.reminder_offsets),
                updated_at=deadline.updated_at,
                sequence=D.c.sequence + 1,
            )
            .returning(*_DEADLINE_COLS)
        )

        async def work(conn: AsyncConnection) -> Deadline:
            row = (await conn.execute(stmt)).first()
            if row is None:
                raise NotFound(f"No deadline {deadline.ref} in this workspace.")
            await conn.execute(insert(E), _event_values(ws, deadline.id, event))
            if alerts is not None:
                await conn.execute(
                    delete(A).where(
                        A.c.workspace_id == ws,
                        A.c.deadline_id == deadline.id,
                        A.c.status == AlertStatus.PENDING.value,
                    )
                )
                if alerts:
                    await conn.execute(insert(A), _alert_values(ws, deadline.id, alerts))
            return _deadline(row)

        return await self._write(work)

    # --- positions -----------------------------------------------------------

    @_guarded
    async def record_position(self, *, workspace_id: str, position: Position, event: Event) -> None:
        upsert = self._insert(P).values(
            deadline_id=position.deadline_id,
            stakeholder=position.stakeholder,
            workspace_id=workspace_id,
            label=position.label,
            stance=position.stance.value,
            terms=position.terms,
            recorded_by=position.recorded_by,
            recorded_at=position.recorded_at,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[P.c.deadline_id, P.c.stakeholder],
            set_={
                name: upsert.excluded[name]
                for name in ("label", "stance", "terms", "recorded_by", "recorded_at")
            },
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
            await self._check_owned(conn, workspace_id, {position.deadline_id})
            # The upsert comes first: on PostgreSQL its row lock orders concurrent
            # writers, so event ids follow commit order.
            await conn.execute(upsert)
            await conn.execute(insert(E), _event_values(workspace_id, position.deadline_id, event))
            await conn.execute(answered)

        await self._write(work)

    @_guarded
    async def list_positions(self, *, workspace_id: str, deadline_id: int) -> list[Position]:
        async with self._read() as conn:
            rows = (await conn.execute(_POSITIONS, {"ws": workspace_id, "id": deadline_id})).all()
        return [_position(row) for row in rows]

    @_guarded
    async def add_position_requests(
        self, *, workspace_id: str, requests: Sequence[PositionRequest], event: Event
    ) -> None:
        stmt = self._insert(R).on_conflict_do_nothing(index_elements=[R.c.deadline_id, R.c.user_id])
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
            await self._check_owned(conn, workspace_id, owned)
            if values:
                await conn.execute(stmt, values)
            await conn.execute(insert(E), _event_values(workspace_id, event.deadline_id, event))

        await self._write(work)

    @_guarded
    async def list_position_requests(
        self, *, workspace_id: str, deadline_id: int
    ) -> list[PositionRequest]:
        async with self._read() as conn:
            rows = (await conn.execute(_REQUESTS, {"ws": workspace_id, "id": deadline_id})).all()
        return [_request(row) for row in rows]

    @_guarded
    async def list_events(self, *, workspace_id: str, deadline_id: int) -> list[Event]:
        async with self._read() as conn:
            rows = (await conn.execute(_EVENTS, {"ws": workspace_id, "id": deadline_id})).all()
        return [
            Event(
                deadline_id=row[0],
                kind=EventKind(row[1]),
                at=row[2],
                actor_id=row[3],
                data=json.loads(row[4]),
            )
            for row in rows
        ]

    # --- alert outbox --------------------------------------------------------

    @_guarded
    async def next_alert_due(self) -> datetime | None:
        """The earliest instant a pending alert can be claimed: its ``not_before``
        (its due time, or a later retry time), or the end of a current lease."""
        async with self._read(snapshot=True) as conn:
            first_free = await conn.scalar(_FIRST_FREE)
            upto = _END_OF_TIME if first_free is None else first_free
            return cast(datetime | None, await conn.scalar(_NEXT_ALERT, {"upto": upto}))

    @_guarded
    async def claim_due_alerts(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Alert]:
        due = (A.c.status == AlertStatus.PENDING.value) & (A.c.not_before <= now)
        if self._dialect == "postgresql":
            # The lease runs on the database clock, shared by every replica.
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
            stmt = (
                update(A)
                .where(A.c.id == candidates.c.id)
                .values(
                    lease_until=db_now + literal(timedelta(seconds=lease_seconds), Interval()),
                    claimed_by=self._claimer,
                )
                .returning(*_ALERT_COLS)
            )
        else:
            # SQLite: BEGIN IMMEDIATE already makes this the only writer.
            candidates_ids = (
                select(A.c.id)
                .where(due, or_(A.c.lease_until.is_(None), A.c.lease_until <= now))
                .order_by(A.c.not_before, A.c.id)
                .limit(limit)
            )
            stmt = (
                update(A)
                .where(A.c.id.in_(candidates_ids.scalar_subquery()))
                .values(
                    lease_until=now + timedelta(seconds=lease_seconds), claimed_by=self._claimer
                )
                .returning(*_ALERT_COLS)
            )

        async def work(conn: AsyncConnection) -> list[Alert]:
            return [_alert(row) for row in (await conn.execute(stmt)).all()]

        alerts = await self._write(work)
        return sorted(alerts, key=lambda alert: (alert.due_at, alert.id))

    @_guarded
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
        await self._write(lambda conn: conn.execute(stmt))

    @_guarded
    async def renew_leases(
        self, *, alert_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        if not alert_ids:
            return []
        until: Any = (
            func.now() + literal(timedelta(seconds=lease_seconds), Interval())
            if self._dialect == "postgresql"
            else now + timedelta(seconds=lease_seconds)
        )
        stmt = (
            update(A)
            .where(
                A.c.id.in_(list(alert_ids)),
                A.c.status == AlertStatus.PENDING.value,
                A.c.claimed_by == self._claimer,
            )
            .values(lease_until=until)
            .returning(A.c.id)
        )

        async def work(conn: AsyncConnection) -> list[int]:
            return sorted(row[0] for row in (await conn.execute(stmt)).all())

        return await self._write(work)

    @_guarded
    async def load_deadline_states(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[DeadlineState]:
        if not deadline_ids:
            return []
        ids = sorted(set(deadline_ids))
        params = {"ws": workspace_id, "ids": ids}
        async with self._read(snapshot=True) as conn:
            deadline_rows = (await conn.execute(_DEADLINES_BY_IDS, params)).all()
            position_rows = (await conn.execute(_POSITIONS_BY_IDS, params)).all()
            request_rows = (await conn.execute(_REQUESTS_BY_IDS, params)).all()
        positions: dict[int, list[Position]] = defaultdict(list)
        for position in map(_position, position_rows):
            positions[position.deadline_id].append(position)
        requests: dict[int, list[PositionRequest]] = defaultdict(list)
        for request in map(_request, request_rows):
            requests[request.deadline_id].append(request)
        return [
            DeadlineState(
                deadline=deadline,
                positions=tuple(positions[deadline.id]),
                requests=tuple(requests[deadline.id]),
            )
            for deadline in map(_deadline, deadline_rows)
        ]

    @_guarded
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
        await self._write(lambda conn: conn.execute(stmt))

    @_guarded
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
        await self._write(lambda conn: conn.execute(stmt))

    @_guarded
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
        await self._write(lambda conn: conn.execute(stmt))

    @_guarded
    async def count_due_alerts(self, *, now: datetime) -> int:
        stmt = select(func.count()).where(
            A.c.status == AlertStatus.PENDING.value, A.c.not_before <= now
        )
        async with self._read() as conn:
            return int(await conn.scalar(stmt) or 0)

    # --- conversation references (where a platform lets Parley post later) -----

    @_guarded
    async def save_conversation_reference(
        self,
        *,
        workspace_id: str,
        conversation_id: str,
        group_id: str,
        reference: str,
        updated_at: datetime,
    ) -> None:
        upsert = self._insert(CR).values(
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            group_id=group_id,
            reference=reference,
            updated_at=updated_at,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[CR.c.workspace_id, CR.c.conversation_id],
            set_={name: upsert.excluded[name] for name in ("group_id", "reference", "updated_at")},
        )
        await self._write(lambda conn: conn.execute(upsert))

    @_guarded
    async def get_conversation_reference(
        self, *, workspace_id: str, conversation_id: str
    ) -> str | None:
        stmt = select(CR.c.reference).where(
            CR.c.workspace_id == workspace_id, CR.c.conversation_id == conversation_id
        )
        async with self._read() as conn:
            return cast(str | None, await conn.scalar(stmt))

    @_guarded
    async def latest_conversation_reference(self, *, workspace_id: str) -> str | None:
        stmt = (
            select(CR.c.reference)
            .where(CR.c.workspace_id == workspace_id)
            .order_by(CR.c.updated_at.desc(), CR.c.conversation_id)
            .limit(1)
        )
        async with self._read() as conn:
            return cast(str | None, await conn.scalar(stmt))

    @_guarded
    async def delete_conversation_references(
        self, *, workspace_id: str, group_id: str | None = None, conversation_id: str | None = None
    ) -> int:
        if (group_id is None) == (conversation_id is None):
            raise ValueError("name exactly one of group_id and conversation_id")
        stmt = delete(CR).where(CR.c.workspace_id == workspace_id)
        if group_id is not None:
            stmt = stmt.where(CR.c.group_id == group_id)
        else:
            stmt = stmt.where(CR.c.conversation_id == conversation_id)

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(stmt)).rowcount

        return await self._write(work)

    # --- whole database ------------------------------------------------------

    @_guarded
    async def export_all(self) -> dict[str, Any]:
        """Every row, table by table, in key order::

            {"format": "parley-export", "version": 1, "deadlines": [...], "positions": [...],
             "position_requests": [...], "events": [...], "alerts": [...], "counters": [...]}

        Rows are objects keyed by column name; instants are ISO 8601 with offset,
        ``reminder_offsets`` a list of seconds, event ``data`` an object.
        """
        data: dict[str, Any] = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION}
        async with self._read(snapshot=True) as conn:
            for section, table in _SECTIONS:
                columns = _export_columns(table)
                rows = await conn.execute(select(*columns).order_by(*table.primary_key.columns))
                data[section] = [
                    _export_row(table, dict(zip((c.name for c in columns), row, strict=True)))
                    for row in rows
                ]
        return data

    @_guarded
    async def import_all(self, data: dict[str, Any]) -> None:
        """Restore an ``export_all`` dump into an empty database, ids and all."""
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise InvalidInput(f"Not a Parley export (expected format {EXPORT_FORMAT!r}).")
        if data.get("version") != EXPORT_VERSION:
            raise InvalidInput(f"Unsupported export version {data.get('version')!r}.")
        rows = {section: _import_rows(table, data.get(section, [])) for section, table in _SECTIONS}
        # Counters never lag behind the numbers in use, even for a hand-edited file.
        counters = {row["workspace_id"]: row["last_number"] for row in rows["counters"]}
        for row in rows["deadlines"]:
            ws = row["workspace_id"]
            counters[ws] = max(counters.get(ws, 0), row["number"])
        rows["counters"] = [{"workspace_id": ws, "last_number": n} for ws, n in counters.items()]

        async def work(conn: AsyncConnection) -> None:
            for _, table in _SECTIONS:
                if await conn.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
                    raise InvalidInput("The database is not empty: import needs an empty one.")
            for section, table in _SECTIONS:
                if rows[section]:
                    await conn.execute(insert(table), rows[section])
            if self._dialect == "postgresql":
                for table in _SERIAL_TABLES:
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )

        try:
            await self._write(work)
        except (exc.IntegrityError, exc.DataError) as error:
            raise InvalidInput(f"The export is inconsistent: {error.orig}") from error

    @_guarded
    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("SELECT 1"))

    # --- calendar feeds --------------------------------------------------------

    @_guarded
    async def add_feed_token(self, *, token: FeedToken, revoke_others: bool = False) -> None:
        scope = token.scope
        revoke = (
            update(FT)
            .where(
                FT.c.workspace_id == scope.workspace_id,
                FT.c.kind == scope.kind.value,
                FT.c.subject == scope.subject,
                FT.c.revoked_at.is_(None),
            )
            .values(revoked_at=token.created_at)
        )
        values = {
            "token_hash": token.token_hash,
            "workspace_id": scope.workspace_id,
            "kind": scope.kind.value,
            "subject": scope.subject,
            "created_at": token.created_at,
            "created_by": token.created_by,
        }

        async def work(conn: AsyncConnection) -> None:
            if revoke_others:
                await conn.execute(revoke)
            await conn.execute(insert(FT), values)

        await self._write(work)

    @_guarded
    async def find_feed_token(self, *, token_hash: str) -> FeedToken | None:
        async with self._read() as conn:
            row = (await conn.execute(_FEED_TOKEN, {"hash": token_hash})).first()
        if row is None:
            return None
        token_hash_, ws, kind, subject, created_at, created_by = row
        return FeedToken(
            token_hash=token_hash_,
            scope=FeedScope(ws, FeedKind(kind), subject),
            created_at=created_at,
            created_by=created_by,
        )

    @_guarded
    async def feed_marker(self, *, workspace_id: str) -> str:
        async with self._read() as conn:
            newest = await conn.scalar(_FEED_MARKER, {"ws": workspace_id})
        return str(newest)

    @_guarded
    async def feed_fingerprint(self, *, scope: FeedScope, cancelled_since: datetime) -> str:
        stmt = _feed_fingerprint(scope, cancelled_since)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).one()
        return "|".join(str(value) for value in row)

    @_guarded
    async def list_feed_items(
        self, *, scope: FeedScope, cancelled_since: datetime
    ) -> list[DeadlineState]:
        shown = _feed_filter(scope, cancelled_since)
        ids = select(D.c.id).where(shown)
        ws = scope.workspace_id
        listed = select(*_DEADLINE_COLS).where(shown).order_by(D.c.due_at, D.c.number)
        async with self._read(snapshot=True) as conn:
            deadlines = (await conn.execute(listed)).all()
            positions = (
                await conn.execute(
                    select(*_POSITION_COLS)
                    .where(P.c.workspace_id == ws, P.c.deadline_id.in_(ids))
                    .order_by(P.c.recorded_at, P.c.stakeholder)
                )
            ).all()
            requests = (
                await conn.execute(
                    select(*_REQUEST_COLS)
                    .where(R.c.workspace_id == ws, R.c.deadline_id.in_(ids))
                    .order_by(R.c.asked_at, R.c.user_id)
                )
            ).all()
        return _feed_items(deadlines, positions, requests)

    @_guarded
    async def get_feed_item(self, *, uid: str) -> DeadlineState | None:
        async with self._read(snapshot=True) as conn:
            row = (await conn.execute(select(*_DEADLINE_COLS).where(D.c.uid == uid))).first()
            if row is None:
                return None
            params = {"ws": row[1], "id": row[0]}
            positions = (await conn.execute(_POSITIONS, params)).all()
            requests = (await conn.execute(_REQUESTS, params)).all()
        return _feed_items([row], positions, requests)[0]


# --- calendar feed queries --------------------------------------------------------

_REQUEST_COLS = (R.c.deadline_id, R.c.user_id, R.c.asked_by, R.c.asked_at, R.c.answered_at)
_FEED_TOKEN = select(
    FT.c.token_hash,
    FT.c.workspace_id,
    FT.c.kind,
    FT.c.subject,
    FT.c.created_at,
    FT.c.created_by,
).where(FT.c.token_hash == bindparam("hash"), FT.c.revoked_at.is_(None))


# Every write a feed shows appends a history event in the same transaction.
_FEED_MARKER = select(func.max(E.c.id)).where(E.c.workspace_id == bindparam("ws"))


def _feed_filter(scope: FeedScope, cancelled_since: datetime) -> ColumnElement[bool]:
    """The deadlines a feed shows: the scope's, less those cancelled before the cutoff."""
    ws = scope.workspace_id
    if scope.kind is FeedKind.CHANNEL:
        mine: ColumnElement[bool] = D.c.channel_id == scope.subject
    else:
        asked = select(R.c.deadline_id).where(R.c.workspace_id == ws, R.c.user_id == scope.subject)
        mine = or_(D.c.owner_id == scope.subject, D.c.id.in_(asked))
    shown = or_(D.c.status != DeadlineStatus.CANCELLED.value, D.c.updated_at >= cancelled_since)
    return (D.c.workspace_id == ws) & mine & shown


def _feed_fingerprint(scope: FeedScope, cancelled_since: datetime) -> Select[Any]:
    """One row of counts, sums and maxima over a feed's deadlines, positions and
    requests: every write the feed shows raises a sequence, adds a row or moves a
    timestamp, stance count or text length, so the row changes with the feed."""
    shown = _feed_filter(scope, cancelled_since)
    ids = select(D.c.id).where(shown)
    ws = scope.workspace_id
    deadlines = (
        select(
            func.count().label("deadlines"),
            func.coalesce(func.sum(D.c.sequence), 0).label("sequences"),
            func.coalesce(func.sum(D.c.id), 0).label("ids"),
            func.max(D.c.updated_at).label("updated"),
        )
        .where(shown)
        .subquery()
    )
    stances = [
        func.coalesce(func.sum(case((P.c.stance == stance.value, 1), else_=0)), 0).label(
            f"stance_{stance.value}"
        )
        for stance in Stance
    ]
    positions = (
        select(
            func.count().label("positions"),
            func.max(P.c.recorded_at).label("recorded"),
            func.coalesce(func.sum(func.length(P.c.terms) + func.length(P.c.label)), 0).label(
                "text"
            ),
            *stances,
        )
        .where(P.c.workspace_id == ws, P.c.deadline_id.in_(ids))
        .subquery()
    )
    requests = (
        select(
            func.count().label("requests"),
            func.count(R.c.answered_at).label("answered"),
            func.max(R.c.asked_at).label("asked"),
            func.max(R.c.answered_at).label("answered_last"),
        )
        .where(R.c.workspace_id == ws, R.c.deadline_id.in_(ids))
        .subquery()
    )
    return select(deadlines, positions, requests).select_from(
        deadlines.join(positions, true()).join(requests, true())
    )


def _feed_items(
    deadlines: Sequence[Any], positions: Sequence[Any], requests: Sequence[Any]
) -> list[DeadlineState]:
    by_deadline: dict[int, tuple[list[Position], list[PositionRequest]]] = {
        row[0]: ([], []) for row in deadlines
    }
    for row in positions:
        by_deadline[row[0]][0].append(_position(row))
    for deadline_id, user_id, asked_by, asked_at, answered_at in requests:
        by_deadline[deadline_id][1].append(
            PositionRequest(
                deadline_id=deadline_id,
                user_id=user_id,
                asked_by=asked_by,
                asked_at=asked_at,
                answered_at=answered_at,
            )
        )
    return [
        DeadlineState(
            deadline=_deadline(row),
            positions=tuple(by_deadline[row[0]][0]),
            requests=tuple(by_deadline[row[0]][1]),
        )
        for row in deadlines
    ]


# --- export / import helpers ---------------------------------------------------


_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("deadline", "status"): frozenset(DeadlineStatus),
    ("position", "stance"): frozenset(Stance),
    ("event", "kind"): frozenset(EventKind),
    ("alert", "status"): frozenset(AlertStatus),
}


def _export_columns(table: Table) -> list[Any]:
    return [column for column in table.columns if column.name != "title_key"]


def _export_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    for name, value in row.items():
        if isinstance(value, datetime):
            row[name] = value.isoformat()
    if table is D:
        offsets = _offsets_from_text(row["reminder_offsets"])
        row["reminder_offsets"] = [int(offset.total_seconds()) for offset in offsets]
    elif table is E:
        row["data"] = json.loads(row["data"])
    return row


def _import_rows(table: Table, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise InvalidInput(f"Export section for {table.name!r} is not a list.")
    return [_import_row(table, row) for row in rows]


def _import_row(table: Table, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InvalidInput(f"A {table.name} row is not an object.")
    columns = {column.name: column for column in _export_columns(table)}
    unknown = set(row) - set(columns)
    if unknown:
        raise InvalidInput(f"Unknown {table.name} fields: {', '.join(sorted(unknown))}.")
    values: dict[str, Any] = {}
    for name, column in columns.items():
        value = row.get(name)
        if name not in row or value is None:
            if not column.nullable:
                raise InvalidInput(f"A {table.name} row lacks {name!r}.")
            values[name] = None
        elif table is D and name == "reminder_offsets":
            if not isinstance(value, list) or not all(type(v) is int for v in value):
                raise InvalidInput("reminder_offsets must be a list of seconds.")
            values[name] = ",".join(str(v) for v in value)
        elif table is E and name == "data":
            if not isinstance(value, dict):
                raise InvalidInput("Event data must be an object.")
            values[name] = json.dumps(value, separators=(",", ":"))
        else:
            values[name] = _import_value(table, column.name, column.type, value)
    if table is D:
        values["title_key"] = values["title"].casefold()
    return values


def _import_value(table: Table, name: str, type_: Any, value: Any) -> Any:
    where = f"{table.name}.{name}"
    if isinstance(type_, UTCDateTime):
        try:
            stamp = datetime.fromisoformat(value)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"{where}: not an ISO 8601 instant: {value!r}.") from error
        if stamp.tzinfo is None:
            raise InvalidInput(f"{where}: instant without a UTC offset: {value!r}.")
        return stamp
    if isinstance(type_, Integer):
        if type(value) is not int:
            raise InvalidInput(f"{where}: not an integer: {value!r}.")
        return value
    if isinstance(type_, String | Text):
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: not a string: {value!r}.")
        allowed = _ENUMS.get((table.name, name))
        if allowed is not None and value not in allowed:
            raise InvalidInput(f"{where}: unknown value {value!r}.")
        return value
    raise AssertionError(f"no import rule for {where}")  # pragma: no cover


if TYPE_CHECKING:
    _check: type[Repository] = SqlRepository
