"""The App Home tab: the open deadlines a person owns (or co-owns), and those waiting on
their position.

Published with ``views.publish`` when the person opens the tab, and again
after they press a stance button there. ``DeadlineReads`` names the storage
reads the Slack adapter makes (here, and for a button pressed in a DM).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import parse
from adapters.slack.render import home_view
from bot.domain import Deadline, DeadlineState, DeadlineStatus
from bot.ports import Clock

HOME_SCAN = 500  # open deadlines looked at for the App Home


class DeadlineReads(Protocol):
    async def get_deadline_by_id(
        self, *, workspace_id: str, deadline_id: int
    ) -> Deadline | None: ...

    async def list_deadlines(
        self,
        *,
        workspace_id: str,
        channel_id: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]: ...

    async def load_deadline_states(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[DeadlineState]: ...


class AppHome:
    """Builds and publishes a person's App Home (the same few queries however many deadlines)."""

    def __init__(self, *, deadlines: DeadlineReads, clock: Clock) -> None:
        self.deadlines = deadlines
        self.clock = clock

    async def publish(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> None:
        workspace = parse.workspace_id(team_id)
        deadlines = await self.deadlines.list_deadlines(
            workspace_id=workspace, statuses=frozenset({DeadlineStatus.OPEN}), limit=HOME_SCAN
        )
        owned = [d for d in deadlines if user_id in d.owners]
        states = await self.deadlines.load_deadline_states(
            workspace_id=workspace, deadline_ids=[d.id for d in deadlines]
        )
        waiting = {
            state.deadline.id
            for state in states
            if any(r.user_id == user_id and r.answered_at is None for r in state.requests)
        }
        asked = [d for d in deadlines if d.id in waiting]
        view = home_view(owned=owned, asked=asked, now=self.clock.now())
        await client.views_publish(user_id=user_id, view=view)
