"""Engines and migrations: the only place that knows how each database is opened.

SQLite: every connection runs in WAL mode with ``busy_timeout=5000``,
``foreign_keys=ON`` and ``synchronous=NORMAL``. The sqlite3 driver's own
transaction handling is switched off and SQLAlchemy's ``begin`` event emits the
BEGIN itself (the recipe in SQLAlchemy's SQLite docs): plain deferred ``BEGIN``
for reads, ``BEGIN IMMEDIATE`` on connections carrying the
``sqlite_begin="IMMEDIATE"`` execution option (see :func:`writer`), so a writer
takes the write lock up front and waits in the busy handler instead of failing
half-way with "database is locked"; none at all for single-statement reads
(:func:`single_statement_reader`).

PostgreSQL: asyncpg; a pooled connection idle for ``IDLE_PING_SECONDS`` is
pinged before it is handed out (a dead one is replaced), and one in steady use
is not: ``pool_pre_ping`` pinged on every checkout, three round trips (BEGIN,
``;``, ROLLBACK) before every statement, half the work of a ``/deadline list``.
A connection that dies while in use fails its statement, and the pool then
replaces every connection it holds. Timeouts are short so that an
unreachable database turns into ``StorageUnavailable`` while a Slack command
can still be answered (Slack waits 3 s): 1.5 s to connect, 10 s for one
statement, 5 s to wait for a pooled connection. ``?timeout=`` and
``?command_timeout=`` in the URL (seconds) override the first two, e.g. for a
large ``parley export``.

Schema: a database ``serve`` does not migrate (PostgreSQL) may be older than
this code. :class:`SchemaGate` holds back every statement until the database's
alembic revision is this code's head, so that an old schema answers "run
``parley migrate``" (``MigrationNeeded``) instead of failing query by query.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, NullPool, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import MigrationNeeded, StorageUnavailable
from storage.errors import guarded

# A package resource, not a path beside this file: alembic opens it through
# importlib.resources, so an installed wheel finds its migrations as a checkout does.
MIGRATIONS = "storage:migrations"

# Any constant will do: it only has to be the same for every replica.
_MIGRATION_LOCK_ID = 0x7061726C6579  # "parley"

# The execution option that lets the schema check itself through a closed SchemaGate.
_SCHEMA_CHECK = "parley_schema_check"

CONNECT_TIMEOUT = 1.5
COMMAND_TIMEOUT = 10.0
POOL_TIMEOUT = 5.0
IDLE_PING_SECONDS = 5.0
# Connections kept open (the most SQLAlchemy's default allowed at once: 5 + 10
# overflow). With overflow, connections past the fifth were closed whenever the
# pool had five idle ones and opened again moments later, a TLS attempt and a
# login each: under 50 concurrent commands, a new connection every few requests.
POOL_SIZE = 15

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def _async_url(database_url: str) -> URL:
    """The URL with an async driver: plain ``sqlite://`` / ``postgres(ql)://`` URLs
    (as hosting platforms hand them out) get aiosqlite / asyncpg."""
    url = make_url(database_url)
    backend = url.drivername.split("+", 1)[0]
    if backend == "sqlite" and url.drivername != "sqlite+aiosqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgres", "postgresql") and url.drivername != "postgresql+asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    return url


def is_sqlite(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


def make_engine(database_url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS) -> AsyncEngine:
    url = _async_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        _install_sqlite_hooks(engine.sync_engine, busy_timeout_ms=5000)
        return engine
    # asyncpg wants numbers; SQLAlchemy would hand it URL query values as strings.
    connect_args: dict[str, Any] = {
        "timeout": CONNECT_TIMEOUT,
        "command_timeout": COMMAND_TIMEOUT,
    }
    for key in ("timeout", "command_timeout"):
        if key in url.query:
            connect_args[key] = float(cast(str, url.query[key]))
            url = url.difference_update_query([key])
    engine = create_async_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT,
        connect_args=connect_args,
    )
    _ping_idle_connections(engine.sync_engine, idle_ping_seconds)
    return engine


def _ping_idle_connections(sync_engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before handing it out if it sat idle for a while;
    raising ``DisconnectionError`` makes the pool connect afresh instead."""

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"an idle pooled connection is gone: {error}") from error


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) for write transactions: ``BEGIN IMMEDIATE`` on SQLite."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def single_statement_reader(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) for reads made of ONE statement, run without an
    explicit transaction: a lone SELECT is consistent by itself, and skipping
    BEGIN/ROLLBACK saves round trips (on SQLite, hops to aiosqlite's thread) on
    the hot read path. Reads of several statements use the engine itself."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="NONE")
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def inline_sqlite_engine(engine: AsyncEngine) -> Engine:
    """A synchronous engine on the same SQLite file, for statements run on the
    event loop's own thread (see ``storage.inline_sqlite``): a local SQLite
    statement takes microseconds, less than a round trip to aiosqlite's thread.

    Its connections never wait for another process's write lock
    (``busy_timeout=0``): the stores then fall back to the async engine,
    which waits in its own thread, so the event loop is never blocked on a lock.
    """
    url = engine.url.set(drivername="sqlite+pysqlite")
    inline = create_engine(url, poolclass=NullPool)
    _install_sqlite_hooks(inline, busy_timeout_ms=0)
    return inline


def _install_sqlite_hooks(sync_engine: Engine, *, busy_timeout_ms: int) -> None:

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver; the "begin" hook below emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin")
        if mode == "IMMEDIATE":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif mode != "NONE":  # NONE: the driver runs each statement in autocommit
            conn.exec_driver_sql("BEGIN")


def alembic_config() -> Config:
    """An alembic Config built in code, pointing at the migrations inside this package."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("path_separator", "os")
    return config


async def run_migrations(database_url: str, *, revision: str = "head") -> None:
    """``alembic upgrade head`` (or up to ``revision``) on ``database_url``."""
    engine = make_engine(database_url)
    try:
        await run_migrations_on(engine, revision=revision)
    finally:
        await engine.dispose()


async def run_migrations_on(engine: AsyncEngine, *, revision: str = "head") -> None:
    """``alembic upgrade head`` (or up to ``revision``) through an existing engine, in
    one transaction.

    Useful where a second engine would not see the same database (SQLite in memory).
    On PostgreSQL an advisory lock keeps replicas starting together from racing.
    """
    async with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        await conn.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


class SchemaGate:
    """Holds back every statement on ``engine`` until its database's schema is this
    code's (its alembic revision is the head).

    ``check`` reads the revision and opens or closes the gate by it. While closed,
    each statement raises instead of running against tables it was not written for:
    ``MigrationNeeded`` while the database is behind (or has no schema), and
    ``StorageUnavailable`` while it could not be asked. A revision this code does
    not know was made by a newer Parley, whose migrations keep older code working
    through a rolling upgrade: it opens the gate. Once open, the gate is gone.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        script = ScriptDirectory.from_config(alembic_config())
        self.head = cast(str, script.get_current_head())  # one line of migrations
        self._known = {migration.revision for migration in script.walk_revisions()}
        self._engine = engine
        self._refusal: StorageUnavailable | None = StorageUnavailable("schema not checked yet")
        self.opened = asyncio.Event()
        event.listen(engine.sync_engine, "before_cursor_execute", self._hold)

    @property
    def refusal(self) -> StorageUnavailable | None:
        """Why statements are held back; None once the gate is open."""
        return self._refusal

    async def check(self) -> StorageUnavailable | None:
        """Read the database's revision, open or close the gate by it; the refusal in force."""
        if self._refusal is None:
            return None
        try:
            revision = await self._revision()
        except StorageUnavailable as error:
            self._refusal = error
            return error
        if revision == self.head or (revision is not None and revision not in self._known):
            event.remove(self._engine.sync_engine, "before_cursor_execute", self._hold)
            self._refusal = None
            self.opened.set()
            return None
        found = "has no Parley schema" if revision is None else f"is at revision {revision}"
        self._refusal = MigrationNeeded(
            f"the database {found}, this Parley needs {self.head}: run `parley migrate`"
        )
        return self._refusal

    @guarded
    async def _revision(self) -> str | None:
        async with self._engine.connect() as conn:
            await conn.execution_options(**{_SCHEMA_CHECK: True})
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    def _hold(self, conn: Connection, *_statement: Any) -> None:
        refusal = self._refusal
        if refusal is not None and not conn.get_execution_options().get(_SCHEMA_CHECK):
            # A new exception each time: raising one object again grows its traceback.
            raise type(refusal)(*refusal.args) from refusal.__cause__
