"""People's and channels' names from Slack, for everything Parley shows outside Slack.

Slack renders ``<@U…>`` and ``<#C…>`` itself, but calendar feeds, the brief,
other platforms' replicas and plain-text fallbacks need the names. Whenever a
command or a click is seen, ``SlackNames.seen`` asks ``users.info`` for the
user and the people the command mentions, and ``conversations.info`` for the
channel, each at most once per ``bot.names.REFRESH`` per process, in background
tasks: the command never waits for them. What they answer goes to the core's
``NameBook`` (stored in the database). ``users.info`` is shared with
``adapters.slack.timezones``: an answer asked for the zone gives the name too,
and one asked for the name gives the zone. A failed lookup is tried again after
``bot.names.RETRY``; direct messages have no name to ask for.

Scopes: ``users:read`` (already needed for time zones), ``channels:read`` and
``groups:read`` (public and private channels); a workspace installed before
these were added answers ``missing_scope`` until it installs Parley again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import parse
from adapters.slack.tasks import TaskSet
from adapters.slack.timezones import TimeZones
from bot.domain import KnownName, NameKind
from bot.names import NameBook
from bot.ports import Clock

log = logging.getLogger("parley.slack")


def user_name(user: Mapping[str, Any]) -> str:
    """What Slack shows for a person: the display name, else the real name, else the handle."""
    profile = user.get("profile") or {}
    for name in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(name, str) and name.strip():
            return name
    return ""


class SlackNames:
    """Asks Slack for the names of who and where a request came from (module docstring)."""

    def __init__(
        self, *, book: NameBook, tasks: TaskSet, clock: Clock, timezones: TimeZones
    ) -> None:
        self.book = book
        self.tasks = tasks
        self.clock = clock
        self.timezones = timezones
        timezones.on_user = self.user_answered

    def user_answered(self, team_id: str, user_id: str, user: Mapping[str, Any]) -> None:
        """A ``users.info`` answer asked for the zone: keep the name too."""
        workspace = parse.workspace_id(team_id)
        self.book.due(workspace, NameKind.USER, user_id)  # asked now: not again for a while
        learning = self._learn(workspace, NameKind.USER, user_id, user_name(user))
        self.tasks.spawn(learning, name="slack-user-name")

    def seen(
        self,
        client: AsyncWebClient,
        *,
        team_id: str,
        user_ids: Iterable[str] = (),
        channel_id: str = "",
    ) -> None:
        """Fetch, in the background, the names of these users and this channel that are due."""
        workspace = parse.workspace_id(team_id)
        for user_id in dict.fromkeys(user_ids):
            if (
                parse.is_user_id(user_id)
                and not self.timezones.fetching(team_id, user_id)  # that answer names them
                and self.book.due(workspace, NameKind.USER, user_id)
            ):
                self.tasks.spawn(self._user(client, team_id, user_id), name="slack-user-name")
        if (
            channel_id
            and not parse.is_direct(channel_id)
            and self.book.due(workspace, NameKind.CHANNEL, channel_id)
        ):
            self.tasks.spawn(
                self._channel(client, workspace, channel_id), name="slack-channel-name"
            )

    async def _user(self, client: AsyncWebClient, team_id: str, user_id: str) -> None:
        workspace = parse.workspace_id(team_id)
        try:
            response = await client.users_info(user=user_id)
            user = response.get("user") or {}
            self.timezones.remember(team_id, user_id, user)
            name = user_name(user)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.info("users.info for a name failed: %s", _why(error))
            self.book.failed(workspace, NameKind.USER, user_id)
            return
        await self._learn(workspace, NameKind.USER, user_id, name)

    async def _channel(self, client: AsyncWebClient, workspace: str, channel_id: str) -> None:
        try:
            response = await client.conversations_info(channel=channel_id)
            channel = response.get("channel") or {}
            name = str(channel.get("name") or "") if not channel.get("is_im") else ""
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.info("conversations.info for a name failed: %s", _why(error))
            self.book.failed(workspace, NameKind.CHANNEL, channel_id)
            return
        await self._learn(workspace, NameKind.CHANNEL, channel_id, name)

    async def _learn(self, workspace: str, kind: NameKind, subject_id: str, name: str) -> None:
        if not name:
            return
        known = KnownName(workspace, kind, subject_id, name, self.clock.now())
        await self.book.learn([known])


def _why(error: BaseException) -> str:
    """A failure in one short phrase (a Slack error code, never a token or URL)."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "an error")
    return type(error).__name__
