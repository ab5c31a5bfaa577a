"""The App Home tab: the open deadlines a person owns (or co-owns), and those waiting on
their position (asked, or as the rep of a silent party): the core's
``bot.usecases.home``, which the Teams home shows too.

Published with ``views.publish`` when the person opens the tab, and again
after they press a stance button there. ``DeadlineReads`` names the storage
reads the Slack adapter makes (here, and for a button pressed in a DM).
"""

from __future__ import annotations

from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import parse
from adapters.slack.render import home_view
from bot.domain import Deadline
from bot.ports import Clock
from bot.usecases.home import HomeReads, person_home


class DeadlineReads(HomeReads, Protocol):
    async def get_deadline_by_id(
        self, *, workspace_id: str, deadline_id: int
    ) -> Deadline | None: ...


class AppHome:
    """Builds and publishes a person's App Home."""

    def __init__(self, *, deadlines: DeadlineReads, clock: Clock) -> None:
        self.deadlines = deadlines
        self.clock = clock

    async def publish(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> None:
        home = await person_home(
            self.deadlines, workspace_id=parse.workspace_id(team_id), user_id=user_id
        )
        await client.views_publish(user_id=user_id, view=home_view(home, now=self.clock.now()))
