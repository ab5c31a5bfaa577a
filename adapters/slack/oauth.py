"""Multi-workspace Slack: OAuth install, and each workspace's bot token.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set, ``GET /slack/install``
starts Slack's OAuth flow and ``GET /slack/oauth_redirect`` finishes it,
storing the installation. Requests are then authorized from the stored
installations (cached in memory: bolt's default calls auth.test on every
request), and ``app_uninstalled`` and ``tokens_revoked`` delete them.

Installations and the flow's one-time states are kept through the
``Installations`` port (``installation_store`` wraps it as slack_sdk's stores),
in Parley's own tables, created by its migrations.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_internals import build_async_context
from slack_sdk.oauth.installation_store.async_cacheable_installation_store import (
    AsyncCacheableInstallationStore,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installation_store import ParleyInstallationStore, ParleyOAuthStateStore
from bot.config import Settings
from bot.ports import Clock, Installations

# The SDK's stores and flow log through this one (below WARNING: never written).
SDK_LOG = logging.getLogger("slack_bolt.oauth")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write", "users:read")
STATE_LIFETIME = timedelta(minutes=10)  # an install must be finished within this


class SlackOAuth:
    """The installation and state stores, the install flow's settings, the authorize."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: AsyncWebClient,
        installations: Installations,
        clock: Clock,
    ) -> None:
        self.installations = AsyncCacheableInstallationStore(
            ParleyInstallationStore(installations, logger=SDK_LOG)
        )
        self._states = ParleyOAuthStateStore(
            installations, clock=clock, lifetime=STATE_LIFETIME, logger=SDK_LOG
        )
        self.settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=settings.public_url.rstrip("/") + REDIRECT_PATH,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=self.installations,
            installation_store_bot_only=True,
            state_store=self._states,
            logger=SDK_LOG,
        )
        self.authorize = AsyncInstallationStoreAuthorize(
            logger=SDK_LOG,
            installation_store=self.installations,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )
        self.client = client

    async def command_token(self, payload: Mapping[str, Any]) -> str | None:
        """The bot token of the workspace a slash command came from (None: not installed),
        found as bolt's authorization middleware finds it."""
        context = build_async_context(AsyncBoltContext(client=self.client), dict(payload))
        result = await self.authorize(
            context=context,
            enterprise_id=context.enterprise_id,
            team_id=context.team_id,
            user_id=context.user_id,
        )
        return None if result is None else result.bot_token or result.user_token

    def bolt_app(self, *, signing_secret: str, client: AsyncWebClient) -> AsyncApp:
        """A bolt app that authorizes each request from the stored installations.
        Without a signing secret (Socket Mode) there is no request to verify."""
        return AsyncApp(
            signing_secret=signing_secret,
            request_verification_enabled=bool(signing_secret),
            client=client,
            # Bolt accepts an AsyncAuthorize instance here (its annotation says callable).
            authorize=self.authorize,  # type: ignore[arg-type]
            installation_store=self.installations,
            installation_store_bot_only=True,
            oauth_settings=self.settings,
            process_before_response=True,
            logger=SDK_LOG,
            name=SDK_LOG.name,
        )

    async def bot_token(self, team_id: str) -> str | None:
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot is not None else None

    async def uninstalled(self, context: AsyncBoltContext) -> None:
        """``app_uninstalled``: delete the workspace's installation (and its cache entry)."""
        listeners = AsyncTokenRevocationListeners(self.installations)
        await listeners.handle_app_uninstalled_events(context)

    async def tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        listeners = AsyncTokenRevocationListeners(self.installations)
        await listeners.handle_tokens_revoked_events(event, context)
