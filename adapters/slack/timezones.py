"""Each Slack user's time zone, for the commands that read a time in it.

``needs_timezone`` says which commands do (only ``/deadline add``: an extend
keeps the deadline's own zone). ``TimeZones`` asks ``users.info`` and caches
the answer per (team, user) for ``TZ_TTL``; a command never waits more than
``TZ_BUDGET`` for it: a slow lookup goes on in the background (filling the
cache) while this command reads as UTC, and says so in its reply.

The same ``users.info`` answer carries the person's name: ``on_user`` hears every
answer (``adapters.slack.names`` keeps the name), and ``remember`` takes a zone
from a ``users.info`` answer asked for the name, so one call serves both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.tasks import TaskSet

log = logging.getLogger("parley.slack")

TZ_BUDGET = 0.3  # seconds a users.info lookup may hold up a command before UTC is used
TZ_TTL = 6 * 3600.0
TZ_RETRY = 60.0  # a failed lookup reads as UTC for this long before it is tried again


def needs_timezone(command: str, text: str) -> bool:
    """``/deadline add``, ``extend`` and ``move`` read their time in the user's zone."""
    return command == "deadline" and text.split(maxsplit=1)[:1] in (["add"], ["extend"], ["move"])


class TimeZones:
    """Each user's IANA zone from users.info, cached per (team, user) for ``TZ_TTL``."""

    def __init__(
        self,
        tasks: TaskSet,
        *,
        default: str = "UTC",
        on_user: Callable[[str, str, Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.tasks = tasks
        self.default = default
        self.on_user = on_user
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[str]] = {}

    async def get(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> str:
        key = (team_id, user_id)
        hit = self._cache.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        task = self._pending.get(key)
        if task is None:
            task = self.tasks.spawn(self._fetch(client, key), name=f"slack-tz-{user_id}")
            self._pending[key] = task
        try:
            return await asyncio.wait_for(asyncio.shield(task), TZ_BUDGET)
        except TimeoutError:
            return self.default

    async def _fetch(self, client: AsyncWebClient, key: tuple[str, str]) -> str:
        tz, ttl = self.default, TZ_RETRY
        try:
            response = await client.users_info(user=key[1])
            user = response.get("user") or {}
            if self.on_user is not None:
                self.on_user(key[0], key[1], user)
            name = str(user.get("tz") or "")
            ZoneInfo(name)
            tz, ttl = name, TZ_TTL
        except (SlackApiError, aiohttp.ClientError, TimeoutError, ValueError) as error:
            # Natural-language times fall back to UTC; the reply says which zone it read.
            log.warning("users.info for %s failed (%r); using %s", key[1], error, tz)
        except ZoneInfoNotFoundError:
            log.warning("users.info for %s gave an unknown zone; using %s", key[1], tz)
        finally:
            self._pending.pop(key, None)
        self._cache[key] = (tz, time.monotonic() + ttl)
        return tz

    def fetching(self, team_id: str, user_id: str) -> bool:
        """Whether a ``users.info`` call for this user is under way."""
        return (team_id, user_id) in self._pending

    def remember(self, team_id: str, user_id: str, user: Mapping[str, Any]) -> None:
        """Keep the zone of a ``users.info`` answer asked for something else."""
        name = str(user.get("tz") or "")
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return
        self._cache[(team_id, user_id)] = (name, time.monotonic() + TZ_TTL)

    async def settled(self) -> None:
        """Wait for the lookups in flight (each ends with a zone or UTC; none raises)."""
        await asyncio.gather(*list(self._pending.values()))

    def forget_team(self, team_id: str) -> None:
        for key in [k for k in self._cache if k[0] == team_id]:
            del self._cache[key]
