"""Deadline changes made by any replica, heard through PostgreSQL's LISTEN/NOTIFY.

``Connections.read_cached`` keeps a hot read (``/deadline list``) while nothing it
reads has changed. On a SQLite file SQLite itself says so; on PostgreSQL several
replicas write, and one only knows what another wrote by being told:

- every write transaction that writes the ``deadline`` table (spotted from its
  SQL, whatever built it: ``watch_writes``) ends with ``NOTIFY``
  (``pg_notify('parley_deadlines', '')``), delivered to every listener when, and
  only if, it commits. A statement that notifies by itself (``storage.adding``)
  is left as it is;
- ``ChangeFeed`` holds one connection of its own that LISTENs, and counts what it
  hears. Its ``version()`` moves with every notification, and is None while it
  is not listening (not yet connected, or the connection was lost: it connects
  again, pinging every ``PING_SECONDS`` to notice a dead one). None means "do
  not cache": reads then go to the database as they did without a read model.

A replica's own writes count at once (``Connections`` counts them). Another
replica's count as soon as its notification arrives, a few milliseconds after
its commit: a read on this replica within that moment may still show the list
from before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
from typing import Any

import asyncpg
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("parley.storage")

CHANNEL = "parley_deadlines"
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")
PING_SECONDS = 2.0  # how often the listening connection is checked
RETRY_SECONDS = 1.0  # the wait before connecting again after a failure
CONNECT_SECONDS = 5.0
APPLICATION_NAME = "parley-change-feed"  # the listening connection, in pg_stat_activity

_FLAG = "parley_deadlines_written"
_WRITES_DEADLINES = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?deadline\"?[\s(]")


def watch_writes(sync_engine: Engine) -> None:
    """Mark a connection that ran a statement writing the ``deadline`` table."""

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(
        conn: Connection, _cursor: Any, statement: str, *_rest: Any
    ) -> None:  # fmt: skip
        if _WRITES_DEADLINES.search(statement) and "pg_notify" not in statement:
            conn.info[_FLAG] = True


def wrote_deadlines(conn: AsyncConnection) -> bool:
    """Whether ``conn`` wrote the ``deadline`` table since this was last asked."""
    return bool(conn.sync_connection is not None and conn.sync_connection.info.pop(_FLAG, False))


class ChangeFeed:
    """This process's count of deadline changes anywhere (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        _, self._connect_args = engine.dialect.create_connect_args(engine.url)
        for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            self._connect_args.pop(sqlalchemy_only, None)
        self._version = 0
        self._listening = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def version(self) -> int | None:
        """A number that moves whenever a deadline changed; None while not listening."""
        if self._task is None and not self._closed:
            # A context of its own: not the request's that happened to start it (its log fields).
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="change-feed", context=contextvars.Context()
            )
        return self._version if self._listening else None

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _heard(self, *_args: Any) -> None:
        self._version += 1

    async def _run(self) -> None:
        warned = False  # one warning per outage, not one a second
        while True:
            try:
                await self._listen()
            except Exception as error:
                if not warned:
                    log.warning("not listening for deadline changes (lists read the database "
                                "meanwhile): %r", error)  # fmt: skip
                    warned = True
            else:
                warned = False
            finally:
                self._listening = False
                self._version += 1
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(
            **self._connect_args,
            timeout=CONNECT_SECONDS,
            server_settings={"application_name": APPLICATION_NAME},
        )
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._heard)
            self._version += 1  # whatever changed while not listening
            self._listening = True
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                if not lost.is_set():
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_SECONDS)
        finally:
            self._listening = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CONNECT_SECONDS)
