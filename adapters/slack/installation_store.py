"""slack_sdk's async installation and OAuth state stores, kept by Parley's storage.

Bolt's OAuth flow, its authorize and its token revocation listeners speak
slack_sdk's ``Installation``, ``Bot`` and store interfaces; Parley's storage
speaks ``bot.domain.SlackInstallation`` and ``SlackBot`` through the
``bot.ports.Installations`` port. The two classes here translate, so slack_sdk
types stay in this adapter and the adapter never sees a database.

slack_sdk's ``custom_values`` are not kept: Parley sets none.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.domain import SlackBot, SlackInstallation
from bot.ports import Clock, Installations

STATE_BYTES = 24  # 192 random bits per OAuth state


def _instant(timestamp: float | None) -> datetime | None:
    """slack_sdk's Unix timestamps as Parley's aware UTC instants."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=UTC)


def installation_to_parley(installation: Installation) -> SlackInstallation:
    return SlackInstallation(
        enterprise_id=installation.enterprise_id,
        team_id=installation.team_id,
        user_id=installation.user_id,
        installed_at=datetime.fromtimestamp(installation.installed_at, tz=UTC),
        app_id=installation.app_id,
        enterprise_name=installation.enterprise_name,
        enterprise_url=installation.enterprise_url,
        team_name=installation.team_name,
        is_enterprise_install=installation.is_enterprise_install,
        token_type=installation.token_type,
        bot_token=installation.bot_token,
        bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id,
        bot_scopes=tuple(installation.bot_scopes or ()),
        bot_refresh_token=installation.bot_refresh_token,
        bot_token_expires_at=_instant(installation.bot_token_expires_at),
        user_token=installation.user_token,
        user_scopes=tuple(installation.user_scopes or ()),
        user_refresh_token=installation.user_refresh_token,
        user_token_expires_at=_instant(installation.user_token_expires_at),
        incoming_webhook_url=installation.incoming_webhook_url,
        incoming_webhook_channel=installation.incoming_webhook_channel,
        incoming_webhook_channel_id=installation.incoming_webhook_channel_id,
        incoming_webhook_configuration_url=installation.incoming_webhook_configuration_url,
    )


def installation_from_parley(installation: SlackInstallation) -> Installation:
    return Installation(
        enterprise_id=installation.enterprise_id,
        team_id=installation.team_id,
        user_id=installation.user_id,
        installed_at=installation.installed_at,
        app_id=installation.app_id,
        enterprise_name=installation.enterprise_name,
        enterprise_url=installation.enterprise_url,
        team_name=installation.team_name,
        is_enterprise_install=installation.is_enterprise_install,
        token_type=installation.token_type,
        bot_token=installation.bot_token,
        bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id,
        bot_scopes=list(installation.bot_scopes),
        bot_refresh_token=installation.bot_refresh_token,
        bot_token_expires_at=installation.bot_token_expires_at,
        user_token=installation.user_token,
        user_scopes=list(installation.user_scopes),
        user_refresh_token=installation.user_refresh_token,
        user_token_expires_at=installation.user_token_expires_at,
        incoming_webhook_url=installation.incoming_webhook_url,
        incoming_webhook_channel=installation.incoming_webhook_channel,
        incoming_webhook_channel_id=installation.incoming_webhook_channel_id,
        incoming_webhook_configuration_url=installation.incoming_webhook_configuration_url,
    )


def bot_to_parley(bot: Bot) -> SlackBot:
    return SlackBot(
        enterprise_id=bot.enterprise_id,
        team_id=bot.team_id,
        bot_token=bot.bot_token,
        bot_id=bot.bot_id,
        bot_user_id=bot.bot_user_id,
        installed_at=datetime.fromtimestamp(bot.installed_at, tz=UTC),
        bot_scopes=tuple(bot.bot_scopes or ()),
        app_id=bot.app_id,
        enterprise_name=bot.enterprise_name,
        team_name=bot.team_name,
        is_enterprise_install=bot.is_enterprise_install,
        bot_refresh_token=bot.bot_refresh_token,
        bot_token_expires_at=_instant(bot.bot_token_expires_at),
    )


def bot_from_parley(bot: SlackBot) -> Bot:
    return Bot(
        enterprise_id=bot.enterprise_id,
        team_id=bot.team_id,
        bot_token=bot.bot_token,
        bot_id=bot.bot_id,
        bot_user_id=bot.bot_user_id,
        installed_at=bot.installed_at,
        bot_scopes=list(bot.bot_scopes),
        app_id=bot.app_id,
        enterprise_name=bot.enterprise_name,
        team_name=bot.team_name,
        is_enterprise_install=bot.is_enterprise_install,
        bot_refresh_token=bot.bot_refresh_token,
        bot_token_expires_at=bot.bot_token_expires_at,
    )


def _workspace_team(team_id: str | None, is_enterprise_install: bool | None) -> str | None:
    """An org-wide install is stored without a team, whichever workspace a request came from
    (slack_sdk's own stores look it up the same way)."""
    return None if is_enterprise_install else team_id


class ParleyInstallationStore(AsyncInstallationStore):
    """slack_sdk's ``AsyncInstallationStore`` on the ``Installations`` port."""

    def __init__(self, installations: Installations, *, logger: logging.Logger) -> None:
        self._installations = installations
        self._logger = logger

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_save(self, installation: Installation) -> None:
        await self._installations.save_slack_installation(
            installation=installation_to_parley(installation)
        )

    async def async_save_bot(self, bot: Bot) -> None:
        await self._installations.save_slack_bot(bot=bot_to_parley(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await self._installations.find_slack_bot(
            enterprise_id=enterprise_id, team_id=_workspace_team(team_id, is_enterprise_install)
        )
        return bot_from_parley(bot) if bot is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installation = await self._installations.find_slack_installation(
            enterprise_id=enterprise_id,
            team_id=_workspace_team(team_id, is_enterprise_install),
            user_id=user_id,
        )
        return installation_from_parley(installation) if installation is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._installations.delete_slack_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._installations.delete_slack_installations(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )


class ParleyOAuthStateStore(AsyncOAuthStateStore):
    """slack_sdk's ``AsyncOAuthStateStore`` on the ``Installations`` port: each install
    link carries a random one-time state, valid for ``lifetime`` on ``clock``."""

    def __init__(
        self,
        installations: Installations,
        *,
        clock: Clock,
        lifetime: timedelta,
        logger: logging.Logger,
    ) -> None:
        self._installations = installations
        self._clock = clock
        self._lifetime = lifetime
        self._logger = logger

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(STATE_BYTES)
        now = self._clock.now()
        await self._installations.issue_oauth_state(
            state=state, expires_at=now + self._lifetime, now=now
        )
        return state

    async def async_consume(self, state: str) -> bool:
        return await self._installations.consume_oauth_state(state=state, now=self._clock.now())
