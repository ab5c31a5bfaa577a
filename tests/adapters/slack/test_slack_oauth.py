"""Multi-workspace mode: OAuth install stores an installation on Parley's database;
requests are authorized from it; app_uninstalled and tokens_revoked remove it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.main import open_runtime
from bot.runtime import Runtime
from tests.adapters.slack.slack_world import SECRET, SlackWorld, check_everything_sent, open_world
from tests.conftest import PostgresServer
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.tcp_proxy import TcpProxy
from tests.storage.legacy_slack_tables import legacy_slack_database

CLIENT_ID = "1111.2222"
ISO_DUE = "2026-11-27T17:00-05:00"


@pytest.fixture(scope="module")
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A database of the module's own on the test PostgreSQL server, dropped at the end."""
    url = asyncio.run(postgres.create_database())
    yield url
    asyncio.run(postgres.drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def oauth_runtime(
    request: pytest.FixtureRequest, database_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> AsyncIterator[Runtime]:
    if database_url.startswith("postgresql"):
        postgres: PostgresServer = request.getfixturevalue("postgres")
        await postgres.empty(database_url)  # what the module's earlier tests left
    settings = oauth_settings(database_url, slack_api)
    async with open_runtime(settings, clock=clock, migrate=True) as runtime:
        yield runtime


def oauth_settings(database_url: str, slack_api: FakeSlackApi) -> Settings:
    return load_settings(
        database_url=database_url,
        public_url="https://parley.example.com",
        slack_signing_secret=SECRET,
        slack_bot_token="",
        slack_client_id=CLIENT_ID,
        slack_client_secret="client-secret",
        slack_api_url=slack_api.api_url,
    )


@pytest.fixture
async def slack(oauth_runtime: Runtime, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async for world in open_world(oauth_runtime, slack_api):
        yield world
    check_everything_sent(slack_api)


async def install(slack: SlackWorld, *, code: str = "code-1") -> str:
    """Walk the install page and the OAuth redirect as a browser would; return the page."""
    page = await slack.http.get("/slack/install")
    assert page.status == 200
    html = await page.text()
    state = re.search(r"state=([\w-]+)", html)
    assert state is not None, html
    assert f"client_id={CLIENT_ID}" in html
    assert "scope=commands,chat:write" in html
    assert "redirect_uri=https://parley.example.com/slack/oauth_redirect" in html
    # The state cookie is Secure, so a client over plain HTTP would not send it back itself.
    cookie = page.cookies["slack-app-oauth-state"].value
    assert cookie == state.group(1)
    done = await slack.http.get(
        "/slack/oauth_redirect",
        params={"code": code, "state": cookie},
        headers={"Cookie": f"slack-app-oauth-state={cookie}"},
    )
    assert done.status == 200, await done.text()
    return await done.text()


async def stored_bot_token(slack: SlackWorld, team_id: str = "T1") -> str | None:
    """What the database holds, read through storage (not the adapter's cache)."""
    bot = await slack.runtime.repository.find_slack_bot(enterprise_id=None, team_id=team_id)
    return bot.bot_token if bot is not None else None


async def test_oauth_install_stores_the_installation(slack: SlackWorld) -> None:
    page = await install(slack)
    assert "Thank you" in page or "success" in page.lower()
    [access] = slack.api.calls_to("oauth.v2.access")
    assert access.params["code"] == "code-1"
    assert access.headers["Authorization"].startswith("Basic ")
    assert await stored_bot_token(slack) == "xoxb-T1-installed"
    stored = await slack.runtime.repository.find_slack_installation(
        enterprise_id=None, team_id="T1"
    )
    assert stored is not None
    assert (stored.user_id, stored.team_name, stored.app_id) == ("U1", "Acme", "A1")
    assert (stored.bot_token, stored.bot_user_id) == ("xoxb-T1-installed", slack.api.bot_user_id)
    assert "commands" in stored.bot_scopes


async def test_an_install_link_expires_after_ten_minutes(
    slack: SlackWorld, clock: ManualClock
) -> None:
    page = await slack.http.get("/slack/install")
    state = page.cookies["slack-app-oauth-state"].value
    clock.advance(timedelta(minutes=10, seconds=1))
    response = await slack.http.get(
        "/slack/oauth_redirect",
        params={"code": "late", "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )
    assert response.status == 401
    assert slack.api.calls_to("oauth.v2.access") == []
    assert await stored_bot_token(slack) is None


@pytest.mark.parametrize("case", ["forged", "reused"])
async def test_a_forged_or_reused_state_is_refused(slack: SlackWorld, case: str) -> None:
    state = "forged"
    if case == "reused":
        page = await slack.http.get("/slack/install")
        state = page.cookies["slack-app-oauth-state"].value
        first = await slack.http.get(
            "/slack/oauth_redirect",
            params={"code": "c", "state": state},
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        assert first.status == 200
    response = await slack.http.get(
        "/slack/oauth_redirect",
        params={"code": "c2", "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )
    assert response.status == 401
    assert [c.params["code"] for c in slack.api.calls_to("oauth.v2.access")] == (
        ["c"] if case == "reused" else []
    )


async def test_commands_use_the_installed_token(slack: SlackWorld) -> None:
    await install(slack)
    ack = await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    assert ack["response_type"] == "in_channel"
    await slack.command("/position ask D1 <@U2|bob>")
    [dm] = await slack.api.wait_for("chat.postMessage")
    assert dm.token == "xoxb-T1-installed"
    # Authorization is cached: auth.test ran once at install and once for the first request.
    await slack.command("/deadline list")
    assert len(slack.api.calls_to("auth.test")) == 2


async def test_a_workspace_that_never_installed_gets_nothing_done(slack: SlackWorld) -> None:
    slack.team_id = "T9"
    response = await slack.post(
        "team_id=T9&channel_id=C1&user_id=U1&command=%2Fdeadline&text=add+X+due+2026-11-27T17%3A00Z"
    )
    assert response.status == 200
    assert "installation" in (await response.text()).lower()
    assert await slack.runtime.repository.list_deadlines(workspace_id="slack:T9") == []


async def test_app_uninstalled_deletes_the_installation(slack: SlackWorld) -> None:
    await install(slack)
    await slack.command("/deadline help")  # warms the installation cache
    response = await slack.event({"type": "app_uninstalled"}, event_id="EvUninstall")
    assert response.status == 200
    assert await stored_bot_token(slack) is None
    installations = slack.runtime.repository
    assert await installations.find_slack_installation(enterprise_id=None, team_id="T1") is None
    assert await slack.adapter.bot_token("T1") is None  # not served from the cache either
    after = await slack.post("team_id=T1&channel_id=C1&user_id=U1&command=%2Fdeadline&text=help")
    assert "installation" in (await after.text()).lower()


async def test_tokens_revoked_deletes_the_bot_token(slack: SlackWorld) -> None:
    await install(slack)
    event: dict[str, Any] = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}}
    response = await slack.event(event, event_id="EvRevoked")
    assert response.status == 200
    assert await stored_bot_token(slack) is None


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nothing was migrated into yet."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'earlier.db'}"
    url: str = request.getfixturevalue("pg_empty_url")
    return url


async def test_a_workspace_installed_before_the_upgrade_still_runs_commands(
    empty_database_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> None:
    """An earlier Parley kept installations in slack_sdk's own tables; after the
    migration the same token authorizes commands and posts."""
    earlier = Installation(
        app_id="A1",
        team_id="T1",
        team_name="Acme",
        bot_token="xoxb-T1-before-upgrade",
        bot_id=slack_api.bot_id,
        bot_user_id=slack_api.bot_user_id,
        bot_scopes="commands,chat:write,im:write,users:read",
        user_id="U1",
        installed_at=clock.now().timestamp() - 86400,
    )
    await legacy_slack_database(empty_database_url, [earlier])
    settings = oauth_settings(empty_database_url, slack_api)
    async with open_runtime(settings, clock=clock, migrate=True) as runtime:
        async for slack in open_world(runtime, slack_api):
            ack = await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
            assert ack["response_type"] == "in_channel"
            await slack.command("/position ask D1 <@U2|bob>")
            [dm] = await slack_api.wait_for("chat.postMessage")
            assert dm.token == "xoxb-T1-before-upgrade"
            assert [call.token for call in slack_api.calls_to("auth.test")] == [
                "xoxb-T1-before-upgrade"
            ]
    check_everything_sent(slack_api)


async def test_single_workspace_mode_has_no_install_routes(
    sqlite_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> None:
    settings = load_settings(
        database_url=sqlite_url,
        slack_signing_secret=SECRET,
        slack_bot_token="xoxb-1",
        slack_api_url=slack_api.api_url,
        slack_client_id="",
        slack_client_secret="",
    )
    async with open_runtime(settings, clock=clock) as runtime:
        async for world in open_world(runtime, slack_api):
            assert (await world.http.get("/slack/install")).status == 404
            uninstalled = await world.event({"type": "app_uninstalled"})
            assert uninstalled.status == 200


async def test_an_event_whose_handler_failed_runs_when_slack_retries_it(
    pg_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> None:
    """The database goes away while app_uninstalled is handled: bolt answers 500, and
    Slack's retry (same event_id, new signature) is not taken for a replay."""
    target = make_url(pg_url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = target.set(port=proxy.port).render_as_string(hide_password=False)
        settings = oauth_settings(url, slack_api).model_copy(update={"parley_replicas": 2})
        async with open_runtime(settings, clock=clock) as runtime:
            async for slack in open_world(runtime, slack_api):
                await install(slack)
                await slack.command("/deadline help")  # the installation, cached
                await proxy.cut()
                failed = await slack.event({"type": "app_uninstalled"}, event_id="EvBlip")
                assert failed.status == 500
                await proxy.restore()
                retried = await slack.event({"type": "app_uninstalled"}, event_id="EvBlip")
                assert retried.status == 200
                assert await stored_bot_token(slack) is None
                replayed = await slack.event({"type": "app_uninstalled"}, event_id="EvBlip")
                assert (replayed.status, await replayed.text()) == (200, "")
