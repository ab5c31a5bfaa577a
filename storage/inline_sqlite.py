"""Statements on a SQLite file, run on the event loop's own thread, writes batched.

A local SQLite statement takes a few microseconds; a round trip to aiosqlite's
thread (and a pool checkout) takes far more. So on a SQLite file the stores run
their statements through one kept synchronous connection on the calling thread
(``storage.db.inline_sqlite_engine``). In WAL mode each autocommit read sees
everything committed before it, and readers never wait for the writer.

Writes queued in the same turn of the event loop share one transaction, each in
its own savepoint so that one that fails takes nothing else with it: a SQLite
commit costs more than the statements of a new deadline. When another process
holds SQLite's write lock, nothing is run (the inline connection never waits:
``busy_timeout=0``) and the caller falls back to waiting off the loop.

Statement code is written once against ``AsyncConnection``: ``_InlineConnection``
offers the two methods it uses, on the synchronous connection. Transaction
control (BEGIN, savepoints) goes straight to the sqlite3 connection: through
SQLAlchemy, each cost more than the statement it framed; so do the writes'
INSERT, UPDATE and DELETE statements, once compiled (``storage.direct_dml``).

``data_version`` is SQLite's own change counter: it moves whenever another
connection (another process, or aiosqlite's threads) commits.

Checkpoints (copying the write-ahead log back into the database file, with an
fsync) would run inside whichever commit found the log past 1,000 pages, on the
event loop: with adds arriving all the time that was a commit in seven, and a
wait on the disk for every request behind it. The inline connection does not
checkpoint: at most every ``CHECKPOINT_SECONDS`` after a commit, a passive
checkpoint runs on a connection of its own in a worker thread (it waits for no
reader or writer, and SQLite leaves the lock while it copies).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, exc
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.direct_dml import DirectDml
from storage.errors import retryable

_T = TypeVar("_T")

CHECKPOINT_SECONDS = 0.5

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

    It offers the AsyncConnection methods the stores' statements use, so one
    body of statement code serves both paths. Nothing inside really waits, so a
    unit of work runs to its end without another task stepping in.
    """

    def __init__(self, connection: Connection, dml: DirectDml | None = None) -> None:
        self._connection = connection
        self._dml = dml  # writes: INSERT, UPDATE and DELETE straight on the driver

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if self._dml is not None:
            return self._dml.execute(self._connection, statement, parameters)
        return self._connection.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._connection.scalar(statement, parameters)


class InlineSqlite:
    """One synchronous connection to a SQLite file, shared by every store of a process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._driver: sqlite3.Connection | None = None
        self._queued: list[_Queued] = []
        self._dml = DirectDml()
        # Checkpoints: one task at a time, on a connection of their own used in worker
        # threads under the lock (closing waits for a checkpoint in progress).
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        self._checkpointed_at = 0.0  # time.monotonic() of the last checkpoint
        self._log_grew = False  # committed since the last checkpoint began

    async def close(self) -> None:
        if self._checkpointing is not None:
            self._checkpointing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointing
        with self._checkpoint_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = self._driver = None
        self._engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[AsyncConnection]:
        """The connection for one read statement, in autocommit."""
        connection = self._connect()
        try:
            yield cast(AsyncConnection, _InlineConnection(connection))
        finally:
            connection.rollback()  # a no-op after a single statement

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` on the inline connection: it changes when
        another connection commits (this one's own commits leave it as it is)."""
        self._connect()
        assert self._driver is not None
        row = self._driver.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    async def write(
        self, work: Callable[[AsyncConnection], Awaitable[_T]]
    ) -> tuple[bool, _T | None]:
        """Run ``work`` in a write transaction, shared with the writes queued with it.

        Returns ``(False, None)`` without running ``work`` when another process
        holds SQLite's write lock; the caller then waits for it off the loop.
        """
        future: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        self._queued.append((work, future))
        if len(self._queued) == 1:
            asyncio.get_running_loop().call_soon(self._commit_queued)
        return await future

    def _connect(self) -> Connection:
        if self._connection is None:
            # Transactions on it are begun by hand (BEGIN / BEGIN IMMEDIATE).
            self._connection = self._engine.connect().execution_options(sqlite_begin="NONE")
            driver = self._connection.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            driver.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring
            self._driver = driver
        return self._connection

    def _checkpoint_soon(self) -> None:
        """After a commit: a checkpoint off the loop, ``CHECKPOINT_SECONDS`` after the last."""
        self._log_grew = True
        if self._checkpointing is None:
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoints())

    async def _checkpoints(self) -> None:
        try:
            while self._log_grew:
                wait = self._checkpointed_at + CHECKPOINT_SECONDS - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._log_grew = False
                try:
                    await asyncio.to_thread(self._checkpoint_in_thread)
                except sqlite3.Error:
                    self._log_grew = True  # tried again later; the log only grows meanwhile
                self._checkpointed_at = time.monotonic()
        finally:
            self._checkpointing = None

    def _checkpoint_in_thread(self) -> None:
        with self._checkpoint_lock:
            if self._checkpointer is None:
                path = self._engine.url.database
                assert path is not None
                self._checkpointer = sqlite3.connect(
                    path, isolation_level=None, check_same_thread=False
                )
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _commit_queued(self) -> None:
        batch, self._queued = self._queued, []
        try:
            outcomes = self._commit_batch(batch)
        except Exception as failure:  # the database itself failed: every writer hears of it
            outcomes = [(future, failure, None) for _, future in batch]
        self._checkpoint_soon()
        for future, error, value in outcomes:
            if future.done():  # the caller went away; what it wrote stays written
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

    def _commit_batch(self, batch: list[_Queued]) -> list[_Outcome]:
        """Run the queued units of work in one transaction; what each one gave or raised."""
        conn = self._connect()
        driver = self._driver
        assert driver is not None
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except exc.OperationalError as error:
            conn.rollback()
            if not retryable(error):
                raise
            return [(future, None, (False, None)) for _, future in batch]
        shared = len(batch) > 1
        outcomes: list[_Outcome] = []
        for n, (work, future) in enumerate(batch):
            if shared:
                driver.execute(f"SAVEPOINT w{n}")
            try:
                value = _run_now(work(cast(AsyncConnection, _InlineConnection(conn, self._dml))))
            except Exception as error:
                if shared:
                    driver.execute(f"ROLLBACK TO w{n}")
                    driver.execute(f"RELEASE w{n}")
                outcomes.append((future, error, None))
            else:
                if shared:
                    driver.execute(f"RELEASE w{n}")
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
