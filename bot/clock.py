"""Clocks: the system clock, and a controllable one for tests and simulations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock time; ``sleep`` is ``asyncio.sleep``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told to: ``advance`` wakes the sleepers it passes."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start instant")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), future))
        try:
            await future
        finally:
            self._sleepers = [(t, f) for t, f in self._sleepers if f is not future]

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting for this clock to move."""
        return len(self._sleepers)

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
        still_waiting = []
        for wake_at, future in self._sleepers:
            if wake_at <= self._now:
                if not future.done():
                    future.set_result(None)
            else:
                still_waiting.append((wake_at, future))
        self._sleepers = still_waiting
