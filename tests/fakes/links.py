"""The LinkStore port and the outbox's per-channel deliveries in memory
(mixed into ``tests.fakes.stores.MemoryDeadlines`` and ``MemoryOutbox``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.channel_links import LinkCode, LinkedChannel


class MemoryLinks:
    """Linked channels and link codes, as ``storage.channel_links`` keeps them."""

    links: dict[tuple[str, str], LinkedChannel]
    codes: dict[str, tuple[LinkCode, datetime | None]]  # code_hash -> (code, used_at)

    async def add_link_code(self, *, code: LinkCode) -> None:
        self.codes = {
            key: (kept, used)
            for key, (kept, used) in self.codes.items()
            if used is None and kept.expires_at > code.created_at
        }
        self.codes[code.code_hash] = (code, None)

    async def take_link_code(self, *, code_hash: str, now: datetime) -> LinkCode | None:
        found = self.codes.get(code_hash)
        if found is None or found[1] is not None or found[0].expires_at <= now:
            return None
        self.codes[code_hash] = (found[0], now)
        return found[0]

    async def channel_link(self, *, workspace_id: str, channel_id: str) -> LinkedChannel | None:
        return self.links.get((workspace_id, channel_id))

    async def linked_channels(
        self, *, home_workspace_id: str, home_channel_id: str
    ) -> list[LinkedChannel]:
        found = [
            link
            for link in self.links.values()
            if (link.home_workspace_id, link.home_channel_id)
            == (home_workspace_id, home_channel_id)
        ]
        return sorted(found, key=lambda link: (not link.is_home, link.linked_at, link.channel_id))

    async def add_links(self, *, links: Sequence[LinkedChannel]) -> None:
        for link in links:
            self.links.setdefault((link.workspace_id, link.channel_id), replace(link))

    async def remove_links(self, *, channels: Sequence[tuple[str, str]]) -> None:
        for channel in channels:
            self.links.pop(channel, None)


class MemoryDeliveries:
    """Which channels of a linked set each alert was posted to."""

    deliveries: set[tuple[int, str, str]]

    async def delivered_to(self, *, alert_ids: Sequence[int]) -> set[tuple[str, str]]:
        wanted = set(alert_ids)
        return {(ws, ch) for alert_id, ws, ch in self.deliveries if alert_id in wanted}

    async def record_delivery(
        self, *, alert_ids: Sequence[int], workspace_id: str, channel_id: str, at: datetime
    ) -> None:
        self.deliveries.update((alert_id, workspace_id, channel_id) for alert_id in alert_ids)
