"""The ``Installations`` port (Slack bots, installs and OAuth states), on SQLite and
PostgreSQL alike; and a random story of installs, rotations, revocations and
uninstalls told to SQLite and to a plain model of what the port promises."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from bot.domain import SlackInstallation
from storage.db import make_engine
from storage.repository import SqlRepository

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

T0 = datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)


def installation(
    team_id: str | None = "T1",
    *,
    user_id: str = "U1",
    token: str | None = "xoxb-1",
    at: datetime = T0,
    enterprise_id: str | None = None,
) -> SlackInstallation:
    return SlackInstallation(
        enterprise_id=enterprise_id,
        team_id=team_id,
        user_id=user_id,
        installed_at=at,
        app_id="A1",
        team_name="Acme",
        token_type="bot",
        bot_token=token,
        bot_id="B1" if token else None,
        bot_user_id="UBOT" if token else None,
        bot_scopes=("commands", "chat:write") if token else (),
    )


async def bot_token(
    repo: SqlRepository, team_id: str | None = "T1", enterprise_id: str | None = None
) -> str | None:
    bot = await repo.find_slack_bot(enterprise_id=enterprise_id, team_id=team_id)
    return bot.bot_token if bot is not None else None


async def test_every_field_of_an_installation_reads_back(repo: SqlRepository) -> None:
    full = SlackInstallation(
        enterprise_id="E1",
        team_id="T1",
        user_id="U1",
        installed_at=T0,
        app_id="A1",
        enterprise_name="Grid Co",
        enterprise_url="https://grid.enterprise.slack.com/",
        team_name="Acme",
        is_enterprise_install=False,
        token_type="bot",
        bot_token="xoxe.xoxb-1",
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes=("commands", "chat:write"),
        bot_refresh_token="xoxe-1-refresh",
        bot_token_expires_at=T0 + timedelta(hours=12),
        user_token="xoxp-1",
        user_scopes=("identify",),
        user_refresh_token="xoxe-1-user-refresh",
        user_token_expires_at=T0 + timedelta(hours=12),
        incoming_webhook_url="https://hooks.slack.com/services/T1/B1/x",
        incoming_webhook_channel="#general",
        incoming_webhook_channel_id="C1",
        incoming_webhook_configuration_url="https://acme.slack.com/services/B1",
    )
    await repo.save_slack_installation(installation=full)
    assert await repo.find_slack_installation(enterprise_id="E1", team_id="T1") == full
    assert await repo.find_slack_installation(enterprise_id="E1", team_id="T1", user_id="U1") == (
        full
    )
    assert await repo.find_slack_bot(enterprise_id="E1", team_id="T1") == full.bot()


async def test_workspaces_and_orgs_are_kept_apart(repo: SqlRepository) -> None:
    await repo.save_slack_installation(installation=installation("T1", token="xoxb-T1"))
    await repo.save_slack_installation(
        installation=installation("T1", enterprise_id="E1", token="xoxb-E1-T1")
    )
    await repo.save_slack_installation(
        installation=replace(
            installation(None, enterprise_id="E1", token="xoxb-E1"), is_enterprise_install=True
        )
    )
    assert await bot_token(repo, "T1") == "xoxb-T1"
    assert await bot_token(repo, "T1", enterprise_id="E1") == "xoxb-E1-T1"
    assert await bot_token(repo, None, enterprise_id="E1") == "xoxb-E1"
    assert await bot_token(repo, "T2") is None
    assert await repo.find_slack_installation(enterprise_id=None, team_id="T2") is None
    org = await repo.find_slack_installation(enterprise_id="E1", team_id=None)
    assert org is not None and org.is_enterprise_install and org.team_id is None


async def test_the_latest_install_wins_and_each_installer_keeps_theirs(
    repo: SqlRepository,
) -> None:
    await repo.save_slack_installation(installation=installation(user_id="U1", token="xoxb-a"))
    later = T0 + timedelta(days=1)
    await repo.save_slack_installation(
        installation=installation(user_id="U2", token="xoxb-b", at=later)
    )
    latest = await repo.find_slack_installation(enterprise_id=None, team_id="T1")
    assert latest is not None and (latest.user_id, latest.installed_at) == ("U2", later)
    first = await repo.find_slack_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert first is not None and first.installed_at == T0
    assert first.bot_token == "xoxb-b"  # the workspace's bot now, not the one U1 installed
    assert await repo.find_slack_installation(enterprise_id=None, team_id="T1", user_id="U3") is (
        None
    )

    await repo.save_slack_installation(
        installation=installation(user_id="U1", token="xoxb-c", at=later + timedelta(hours=1))
    )
    again = await repo.find_slack_installation(enterprise_id=None, team_id="T1")
    assert again is not None and (again.user_id, again.bot_token) == ("U1", "xoxb-c")


async def test_an_install_without_a_bot_leaves_the_bot_alone(repo: SqlRepository) -> None:
    await repo.save_slack_installation(installation=installation(token="xoxb-1"))
    await repo.save_slack_installation(
        installation=installation(user_id="U2", token=None, at=T0 + timedelta(hours=1))
    )
    assert await bot_token(repo) == "xoxb-1"
    user_only = await repo.find_slack_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert user_only is not None and user_only.bot_token == "xoxb-1"


async def test_a_rotated_bot_token_is_what_installations_read(repo: SqlRepository) -> None:
    await repo.save_slack_installation(installation=installation(token="xoxb-old"))
    old = await repo.find_slack_bot(enterprise_id=None, team_id="T1")
    assert old is not None
    rotated = replace(old, bot_token="xoxb-new", bot_token_expires_at=T0 + timedelta(hours=12))
    await repo.save_slack_bot(bot=rotated)
    assert await repo.find_slack_bot(enterprise_id=None, team_id="T1") == rotated
    found = await repo.find_slack_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert (found.bot_token, found.bot_token_expires_at) == ("xoxb-new", T0 + timedelta(hours=12))


async def test_a_revoked_bot_is_forgotten_with_its_token(repo: SqlRepository) -> None:
    await repo.save_slack_installation(installation=installation("T1", token="xoxb-T1"))
    await repo.save_slack_installation(installation=installation("T2", token="xoxb-T2"))
    await repo.delete_slack_bot(enterprise_id=None, team_id="T1")
    assert await bot_token(repo, "T1") is None
    kept = await repo.find_slack_installation(enterprise_id=None, team_id="T1")
    assert kept is not None and kept.user_id == "U1"
    assert (kept.bot_token, kept.bot_id, kept.bot_scopes) == (None, None, ())
    assert await bot_token(repo, "T2") == "xoxb-T2"


async def test_installations_are_deleted_per_installer_or_all_at_once(
    repo: SqlRepository,
) -> None:
    for user in ("U1", "U2"):
        await repo.save_slack_installation(installation=installation("T1", user_id=user))
    await repo.save_slack_installation(installation=installation("T2", user_id="U1"))
    await repo.delete_slack_installations(enterprise_id=None, team_id="T1", user_id="U1")
    assert await repo.find_slack_installation(enterprise_id=None, team_id="T1", user_id="U1") is (
        None
    )
    remaining = await repo.find_slack_installation(enterprise_id=None, team_id="T1")
    assert remaining is not None and remaining.user_id == "U2"
    assert await bot_token(repo, "T1") == "xoxb-1"  # the bot is delete_slack_bot's business

    await repo.delete_slack_installations(enterprise_id=None, team_id="T1")
    assert await repo.find_slack_installation(enterprise_id=None, team_id="T1") is None
    assert await repo.find_slack_installation(enterprise_id=None, team_id="T2") is not None


async def test_an_oauth_state_is_good_once_and_until_it_expires(repo: SqlRepository) -> None:
    until = T0 + timedelta(minutes=10)
    await repo.issue_oauth_state(state="s1", expires_at=until, now=T0)
    await repo.issue_oauth_state(state="s2", expires_at=until, now=T0)
    assert await repo.consume_oauth_state(state="s1", now=until - timedelta(microseconds=1))
    assert not await repo.consume_oauth_state(state="s1", now=T0)  # used
    assert not await repo.consume_oauth_state(state="s2", now=until)  # expired
    assert not await repo.consume_oauth_state(state="never-issued", now=T0)


async def test_issuing_a_state_drops_the_expired_ones(repo: SqlRepository) -> None:
    await repo.issue_oauth_state(state="old", expires_at=T0 + timedelta(minutes=10), now=T0)
    later = T0 + timedelta(minutes=11)
    await repo.issue_oauth_state(state="new", expires_at=later + timedelta(minutes=10), now=later)
    # Asked as of a moment it was still valid, the dropped state is gone all the same.
    assert not await repo.consume_oauth_state(state="old", now=T0)
    assert await repo.consume_oauth_state(state="new", now=later)


async def test_of_two_redirects_with_one_state_only_one_gets_through(
    database: Database, open_repo: RepoFactory
) -> None:
    first, second = await open_repo(database), await open_repo(database)
    await first.issue_oauth_state(state="s", expires_at=T0 + timedelta(minutes=10), now=T0)
    for _ in range(3):  # each round a fresh state raced by both connections
        results = await asyncio.gather(
            first.consume_oauth_state(state="s", now=T0),
            second.consume_oauth_state(state="s", now=T0),
        )
        assert sorted(results) == [False, True]
        await first.issue_oauth_state(state="s", expires_at=T0 + timedelta(minutes=10), now=T0)


# --- a random story, against a model ------------------------------------------------------
WORKSPACES = ((None, "T1"), (None, "T2"), ("E1", "T1"), ("E1", None))
USERS = ("U1", "U2")
Workspace = tuple[str | None, str | None]

ACTIONS = st.one_of(
    st.tuples(
        st.just("install"),
        st.sampled_from(WORKSPACES),
        st.sampled_from(USERS),
        st.integers(0, 3),  # installed this many hours after T0 (ties happen)
        st.booleans(),  # with a bot token
    ),
    st.tuples(st.just("rotate"), st.sampled_from(WORKSPACES)),
    st.tuples(st.just("revoke"), st.sampled_from(WORKSPACES)),
    st.tuples(st.just("revoke_user"), st.sampled_from(WORKSPACES), st.sampled_from(USERS)),
    st.tuples(st.just("uninstall"), st.sampled_from(WORKSPACES)),
)


@dataclass
class Model:
    """What the port promises, kept in dictionaries."""

    bots: dict[Workspace, str] = field(default_factory=dict)
    installs: dict[tuple[Workspace, str], datetime] = field(default_factory=dict)

    def latest(self, workspace: Workspace) -> str | None:
        mine = [(at, user) for (ws, user), at in self.installs.items() if ws == workspace]
        # Newest first; of installs at the same instant, the first installer by id.
        return min(mine, key=lambda pair: (-pair[0].timestamp(), pair[1]))[1] if mine else None


async def tell(repo: SqlRepository, model: Model, actions: list[tuple[object, ...]]) -> None:
    for step, action in enumerate(actions):
        kind, workspace = action[0], action[1]
        assert isinstance(workspace, tuple)
        enterprise_id, team_id = workspace
        where = {"enterprise_id": enterprise_id, "team_id": team_id}
        if kind == "install":
            _, _, user, hours, with_bot = action
            assert isinstance(user, str) and isinstance(hours, int)
            token = f"xoxb-{step}" if with_bot else None
            at = T0 + timedelta(hours=hours)
            await repo.save_slack_installation(
                installation=installation(
                    team_id, enterprise_id=enterprise_id, user_id=user, token=token, at=at
                )
            )
            model.installs[workspace, user] = at
            if token is not None:
                model.bots[workspace] = token
        elif kind == "rotate":
            bot = await repo.find_slack_bot(**where)
            if bot is not None:
                await repo.save_slack_bot(bot=replace(bot, bot_token=f"xoxb-{step}-rotated"))
                model.bots[workspace] = f"xoxb-{step}-rotated"
        elif kind == "revoke":
            await repo.delete_slack_bot(**where)
            model.bots.pop(workspace, None)
        elif kind == "revoke_user":
            await repo.delete_slack_installations(**where, user_id=str(action[2]))
            model.installs.pop((workspace, str(action[2])), None)
        else:
            await repo.delete_slack_bot(**where)
            await repo.delete_slack_installations(**where)
            model.bots.pop(workspace, None)
            model.installs = {k: v for k, v in model.installs.items() if k[0] != workspace}
        for ws in WORKSPACES:
            await check(repo, model, ws)


async def check(repo: SqlRepository, model: Model, workspace: Workspace) -> None:
    enterprise_id, team_id = workspace
    where = {"enterprise_id": enterprise_id, "team_id": team_id}
    assert await bot_token(repo, team_id, enterprise_id) == model.bots.get(workspace)
    latest = await repo.find_slack_installation(**where)
    assert (latest.user_id if latest else None) == model.latest(workspace)
    for user in USERS:
        found = await repo.find_slack_installation(**where, user_id=user)
        expected = model.installs.get((workspace, user))
        assert (found.installed_at if found else None) == expected
        if found is not None:
            assert found.bot_token == model.bots.get(workspace)


# Stories that random ones reach too seldom.
SAME_HOUR_INSTALLS: list[tuple[object, ...]] = [
    ("install", (None, "T1"), "U2", 1, True),
    ("install", (None, "T1"), "U1", 1, False),
    ("install", ("E1", "T1"), "U1", 2, True),
]
REVOKED_THEN_REINSTALLED: list[tuple[object, ...]] = [
    ("install", ("E1", None), "U1", 0, True),
    ("revoke", ("E1", None)),
    ("rotate", ("E1", None)),
    ("install", ("E1", None), "U2", 0, True),
    ("revoke_user", ("E1", None), "U2"),
    ("uninstall", ("E1", None)),
]


@settings(
    max_examples=40,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a database each
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=12))
@example(actions=SAME_HOUR_INSTALLS)
@example(actions=REVOKED_THEN_REINSTALLED)
def test_a_story_of_installs_reads_as_the_model_says(
    actions: list[tuple[object, ...]], sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / f"story-{secrets.token_hex(4)}.db"
    shutil.copyfile(sqlite_template, path)

    async def run() -> None:
        repo = SqlRepository(make_engine(f"sqlite+aiosqlite:///{path}"))
        try:
            await tell(repo, Model(), actions)
        finally:
            await repo.close()

    asyncio.run(run())
