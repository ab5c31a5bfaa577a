"""How every store reaches the database: one-statement reads, snapshots, and writes.

- ``read()`` gives a connection for ONE statement, run without an explicit
  transaction (``storage.db.single_statement_reader``); on a SQLite file it is
  the inline connection on the event loop's thread (``storage.inline_sqlite``).
- ``read(snapshot=True)`` gives a transaction for several statements that must
  agree (REPEATABLE READ on PostgreSQL). Snapshots are the large reads (feeds,
  export, a claim's context): on SQLite they go to aiosqlite's thread so the
  event loop keeps serving.
- ``write(work)`` runs ``work`` in one write transaction (``BEGIN IMMEDIATE`` on
  SQLite, see ``storage.db.writer``), retried a few times when SQLite reports
  the database locked or PostgreSQL a deadlock. ``write_statement(work)`` is the
  same for work of ONE statement, which PostgreSQL then runs in autocommit.
- A write of a command that carries idempotency keys (``bot.once``) claims
  them first, in the same transaction (``storage.claims``): a key claimed
  already stops the transaction with ``AlreadyHandled`` before anything is
  written; a transaction that fails or rolls back takes its claim with it.
  ``write_statement`` hands its work the one key to claim in its statement
  (more than one: the transaction of ``write``, which claims them first).
- ``read_cached(key, load)`` is a read model for a hot read (``/deadline
  list``): what ``load()`` gave for ``key`` is kept and given again while
  nothing was written since, and loaded again after any write. On a SQLite
  file "nothing written" is exact and costs one ``PRAGMA data_version``: a
  write of this process counts itself, one of another process or connection
  moves SQLite's counter. On PostgreSQL, writes of the ``deadline`` table are
  heard from every replica through LISTEN/NOTIFY (``storage.changes``), a few
  milliseconds after their commit; while not listening, every read loads, as
  it does on SQLite in memory.

``SqlStore`` is the base of every store: it holds the shared ``Connections``.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager, nullcontext
from typing import Any, TypeVar, cast

from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool

from bot import once
from storage.changes import NOTIFY, ChangeFeed, watch_writes, wrote_deadlines
from storage.claims import claim_key
from storage.db import inline_sqlite_engine, single_statement_reader, writer
from storage.errors import retryable
from storage.inline_sqlite import InlineSqlite

_T = TypeVar("_T")

CACHED_READS = 1024  # keys kept by ``read_cached``, least recently used dropped first


class Connections:
    """The reads and write transactions of every store, on one AsyncEngine
    (see ``storage.db.make_engine``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # The dialect's INSERT, which has ON CONFLICT on both backends.
        self.insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self._writer = writer(engine)
        self._reader = single_statement_reader(engine)
        self._snapshot_reader = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if self.dialect == "postgresql"
            else engine
        )
        # A :memory: SQLite database is one shared connection (StaticPool): take turns.
        self._serial = asyncio.Lock() if isinstance(engine.sync_engine.pool, StaticPool) else None
        sqlite_file = self.dialect == "sqlite" and self._serial is None
        # SQLite has one writer at a time. Queueing this process's writers here
        # instead of in SQLite's busy handler (which sleeps in growing steps)
        # keeps a burst of commands from turning into second-long waits.
        self._write_turn = asyncio.Lock() if sqlite_file else None
        self._inline = InlineSqlite(inline_sqlite_engine(engine)) if sqlite_file else None
        self._writes = 0  # write transactions of this process, finished or failed
        self._cached: OrderedDict[Hashable, tuple[tuple[int, int], Any]] = OrderedDict()
        # PostgreSQL: deadline changes of every replica (storage.changes).
        self._changes = ChangeFeed(engine) if self.dialect == "postgresql" else None
        if self._changes is not None:
            watch_writes(engine.sync_engine)

    async def close(self) -> None:
        if self._changes is not None:
            await self._changes.close()
        if self._inline is not None:
            await self._inline.close()
        await self.engine.dispose()

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for one read statement, or for several in one ``snapshot``."""
        if self._inline is not None and not snapshot:
            with self._inline.reading() as inline:
                yield inline
            return
        engine = self._snapshot_reader if snapshot else self._reader
        async with self._serial or nullcontext(), engine.connect() as conn:
            if snapshot:
                await conn.begin()
            yield conn

    async def read_cached(self, key: Hashable, load: Callable[[], Awaitable[_T]]) -> _T:
        """``load()``, or what it gave for ``key`` if nothing was written since (see the
        module docstring). The value is shared: give callers copies of what they may change."""
        if self._inline is not None:
            version = (self._writes, self._inline.data_version())
        else:
            heard = self._changes.version() if self._changes is not None else None
            if heard is None:
                return await load()
            version = (self._writes, heard)
        kept = self._cached.get(key)
        if kept is not None and kept[0] == version:
            self._cached.move_to_end(key)
            return cast(_T, kept[1])
        value = await load()
        self._cached[key] = (version, value)
        self._cached.move_to_end(key)
        if len(self._cached) > CACHED_READS:
            self._cached.popitem(last=False)
        return value

    async def write(self, work: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        """Run ``work`` in one write transaction, retrying lock timeouts and deadlocks;
        the running command's unclaimed keys are claimed in it (see the module docstring)."""
        keys = once.pending()
        try:
            if not keys:
                return await self._write(work)
            result = await self._write(self._claiming(keys, work))
            for key in keys:
                key.claimed = True
            return result
        finally:
            # Counted whatever happened: a write that failed may still have committed.
            self._writes += 1

    async def write_statement(
        self, work: Callable[[AsyncConnection, once.Key | None], Awaitable[_T]]
    ) -> _T:
        """``write(work)`` for ``work`` that runs ONE statement: on PostgreSQL without
        BEGIN and COMMIT (a statement is atomic by itself), two round trips fewer.

        Exactly once holds there too: ``work`` gets the running command's one
        unclaimed key (or None) and claims it in its statement, which then writes
        nothing, and ``work`` raises ``AlreadyHandled``, when the key was claimed
        already. With more keys, or not on PostgreSQL, ``work`` gets None and runs
        in ``write``'s transaction, which claims the keys before it."""
        keys = once.pending() if self.dialect == "postgresql" else ()
        if self.dialect != "postgresql" or len(keys) > 1:
            return await self.write(lambda conn: work(conn, None))
        key = keys[0] if keys else None
        try:
            result = await self._retrying(self._reader, lambda conn: work(conn, key))
            if key is not None:
                key.claimed = True
            return result
        finally:
            self._writes += 1

    def _claiming(
        self, keys: tuple[once.Key, ...], work: Callable[[AsyncConnection], Awaitable[_T]]
    ) -> Callable[[AsyncConnection], Awaitable[_T]]:
        """``work``, after claiming ``keys`` in its transaction."""

        async def claimed_then_work(conn: AsyncConnection) -> _T:
            for key in keys:
                claimed = await claim_key(
                    conn, self.insert, key=key.digest, now=key.now, expires_at=key.expires_at
                )
                if not claimed:
                    raise once.AlreadyHandled(key)
            return await work(conn)

        return claimed_then_work

    async def _write(self, work: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        if self._inline is not None:
            done, result = await self._inline.write(work)
            if done:
                return cast(_T, result)
        return await self._retrying(self._writer, work)

    async def _retrying(
        self, engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[_T]]
    ) -> _T:
        attempt = 0
        while True:
            try:
                turn = self._serial or self._write_turn or nullcontext()
                async with turn, engine.begin() as conn:
                    if self._changes is None:
                        return await work(conn)
                    wrote_deadlines(conn)  # forget a mark left by a failed transaction
                    result = await work(conn)
                    if wrote_deadlines(conn):
                        await conn.execute(NOTIFY)  # heard by every replica on commit
                    return result
            except exc.DBAPIError as error:
                attempt += 1
                if attempt >= 4 or not retryable(error):
                    raise
                await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)


class SqlStore:
    """A store on shared ``Connections``: the base of every ``storage`` store."""

    def __init__(self, db: Connections) -> None:
        self._db = db
