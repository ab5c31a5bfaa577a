"""``TaskSet``: the Slack adapter's background tasks, with kept references.

Bolt answers Slack within 3 seconds, so whatever comes after the ack (late
replies, DMs, modals, App Home, time-zone lookups) runs in tasks. asyncio
keeps only weak references to tasks: this set keeps them alive, logs the
ones that fail, and drains them at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger("parley.slack")

_T = TypeVar("_T")


class TaskSet:
    """Background tasks with kept references; ``drain`` waits for them at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, _T], name: str) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, within: float) -> None:
        """Let running tasks finish for up to ``within`` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
