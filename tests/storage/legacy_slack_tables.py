"""A database as Parley left it before its own Slack tables: migrated up to the
revision before ``*_installations``, with slack_sdk's SQLAlchemy stores holding the
installations (what the Slack adapter created and wrote until then)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import alembic_config, make_engine

CLIENT_ID = "1111.2222"
SDK_TABLES = {"slack_installations", "slack_bots", "slack_oauth_states"}


def takeover_revision() -> tuple[str, str]:
    """The migration that takes slack_sdk's tables over, and the one before it."""
    script = ScriptDirectory.from_config(alembic_config())
    [takeover] = [
        revision
        for revision in script.walk_revisions()
        if Path(str(revision.path)).name.endswith("_installations.py")
    ]
    assert isinstance(takeover.down_revision, str)
    return takeover.revision, takeover.down_revision


async def migrate(engine: AsyncEngine, *, to: str, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, to)

    async with engine.begin() as conn:
        await conn.run_sync(run)


def sdk_stores(
    engine: AsyncEngine,
) -> tuple[AsyncSQLAlchemyInstallationStore, AsyncSQLAlchemyOAuthStateStore]:
    return (
        AsyncSQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine),
        AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
    )


async def legacy_slack_database(url: str, installations: Sequence[Installation]) -> None:
    """Make ``url`` (an empty database) what an earlier Parley left: its own tables
    before the takeover, and slack_sdk's, holding ``installations`` saved in order."""
    engine = make_engine(url)
    try:
        await migrate(engine, to=takeover_revision()[1])
        store, states = sdk_stores(engine)
        await store.create_tables()  # type: ignore[no-untyped-call]
        await states.create_tables()  # type: ignore[no-untyped-call]
        for installation in installations:
            await store.async_save(installation)
    finally:
        await engine.dispose()
