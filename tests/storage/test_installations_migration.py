"""The migration that takes slack_sdk's tables over: what an earlier Parley stored
there is found through the ``Installations`` port afterwards, on SQLite and
PostgreSQL, and a downgrade gives it back to slack_sdk's stores."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine, run_migrations_on
from storage.repository import SqlRepository
from tests.storage.legacy_slack_tables import (
    CLIENT_ID,
    SDK_TABLES,
    legacy_slack_database,
    migrate,
    sdk_stores,
    takeover_revision,
)

INSTALLED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def install(
    team_id: str | None,
    *,
    user_id: str = "U1",
    token: str | None = None,
    at: datetime = INSTALLED,
    enterprise_id: str | None = None,
    user_token: str | None = None,
) -> Installation:
    """What bolt's OAuth flow saved for an install into ``team_id``."""
    return Installation(
        app_id="A1",
        enterprise_id=enterprise_id,
        team_id=team_id,
        team_name="Acme",
        bot_token=token or f"xoxb-{team_id}",
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes="commands,chat:write",
        user_id=user_id,
        user_token=user_token,
        user_scopes="identify" if user_token else "",
        is_enterprise_install=team_id is None,
        token_type="bot",
        installed_at=at.timestamp(),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: nothing migrated yet."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'earlier.db'}"
    url: str = request.getfixturevalue("pg_empty_url")
    return url


@pytest.fixture
async def engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_url)
    yield engine
    await engine.dispose()


@contextlib.asynccontextmanager
async def repository(url: str) -> AsyncIterator[SqlRepository]:
    repo = SqlRepository(make_engine(url))
    try:
        yield repo
    finally:
        await repo.close()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_the_upgrade_takes_over_what_slack_sdk_stored(
    empty_url: str, engine: AsyncEngine
) -> None:
    await legacy_slack_database(
        empty_url,
        [
            install("T1", token="xoxb-T1-first", at=INSTALLED - timedelta(days=30)),
            install("T1", token="xoxb-T1-reinstalled", at=INSTALLED),
            install("T1", user_id="U2", user_token="xoxp-U2", at=INSTALLED - timedelta(days=1)),
            install(None, enterprise_id="E1", token="xoxb-E1-org"),
            install("T3", token="xoxb-T3-revoked"),
        ],
    )
    store, states = sdk_stores(engine)
    await store.async_delete_bot(enterprise_id=None, team_id="T3")  # tokens_revoked, back then
    live_state = await states.async_issue()  # an install in progress during the upgrade
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO slack_oauth_states (state, expire_at) VALUES ('stale', :at)"),
            {"at": datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)},
        )

    await run_migrations_on(engine)

    assert not (await table_names(engine)) & SDK_TABLES
    async with repository(empty_url) as repo:
        bot = await repo.find_slack_bot(enterprise_id=None, team_id="T1")
        assert bot is not None
        assert (bot.bot_token, bot.bot_user_id, bot.bot_scopes) == (
            "xoxb-T1-reinstalled",
            "UBOT",
            ("commands", "chat:write"),
        )
        assert bot.installed_at == INSTALLED
        org = await repo.find_slack_bot(enterprise_id="E1", team_id=None)
        assert org is not None and org.bot_token == "xoxb-E1-org" and org.is_enterprise_install
        assert await repo.find_slack_bot(enterprise_id=None, team_id="T3") is None

        latest = await repo.find_slack_installation(enterprise_id=None, team_id="T1")
        assert latest is not None
        assert (latest.user_id, latest.team_name, latest.installed_at) == ("U1", "Acme", INSTALLED)
        u2 = await repo.find_slack_installation(enterprise_id=None, team_id="T1", user_id="U2")
        assert u2 is not None
        assert (u2.user_token, u2.user_scopes, u2.bot_token) == (
            "xoxp-U2",
            ("identify",),
            "xoxb-T1-reinstalled",  # the workspace's bot, not the one of this older install
        )
        revoked = await repo.find_slack_installation(enterprise_id=None, team_id="T3")
        assert revoked is not None and revoked.bot_token is None

        now = datetime.now(UTC)
        assert await repo.consume_oauth_state(state=live_state, now=now)
        assert not await repo.consume_oauth_state(state="stale", now=now - timedelta(minutes=5))


async def test_a_database_that_never_used_oauth_just_gets_the_new_tables(
    engine: AsyncEngine,
) -> None:
    await run_migrations_on(engine)
    names = await table_names(engine)
    assert {"slack_bot", "slack_installation", "slack_oauth_state"} <= names
    assert not names & SDK_TABLES


async def test_a_downgrade_gives_the_installations_back_to_slack_sdk(
    empty_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await legacy_slack_database(empty_url, [install("T1", token="xoxb-T1-kept")])
    await run_migrations_on(engine)
    takeover, before = takeover_revision()

    monkeypatch.delenv("SLACK_CLIENT_ID", raising=False)
    with pytest.raises(RuntimeError, match="SLACK_CLIENT_ID"):
        await migrate(engine, to=before, down=True)
    assert "slack_bot" in await table_names(engine)  # nothing was half done

    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    await migrate(engine, to=before, down=True)
    assert await table_names(engine) >= SDK_TABLES
    store, _ = sdk_stores(engine)
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-T1-kept"
    installation = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert installation is not None
    assert (installation.user_id, installation.bot_token) == ("U1", "xoxb-T1-kept")
    assert installation.installed_at == INSTALLED.timestamp()

    await migrate(engine, to=takeover)  # and up again
    async with repository(empty_url) as repo:
        again = await repo.find_slack_bot(enterprise_id=None, team_id="T1")
    assert again is not None and again.bot_token == "xoxb-T1-kept"
