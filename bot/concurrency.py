"""How the alert dispatcher waits: on statements shared by its jobs, and on a clock.

``SharedStatement`` runs one database statement at a time for every caller
waiting for it. The dispatcher renews leases before posts and records each post
sent before its job ends; hundreds of channel jobs do that at the same instant
in a burst, and sharing the statements keeps that to a few writes.

``within`` bounds a wait by a ``Clock``'s time, so a test clock moves it too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from bot.ports import Clock

T = TypeVar("T")


async def within(clock: Clock, seconds: float, work: Awaitable[T]) -> T:
    """What ``work`` gives, or ``TimeoutError`` (``work`` cancelled) once ``seconds``
    have passed on ``clock``."""
    task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        unfinished = [future for future in (task, timer) if not future.done()]
        for future in unfinished:
            future.cancel()
        for future in unfinished:
            with contextlib.suppress(asyncio.CancelledError):
                await future
    if task.cancelled():
        raise TimeoutError
    return task.result()


class SharedStatement:
    """One statement at a time over the alert ids of every caller.

    Ids asked for while a statement runs go into the next one, so a burst of
    jobs costs a few statements, not one each; each caller gets the ids the
    statement returned among its own, or the statement's error."""

    def __init__(self, statement: Callable[[list[int]], Awaitable[Collection[int]]]) -> None:
        self._statement = statement
        self._asked: list[tuple[list[int], asyncio.Future[set[int]]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, alert_ids: list[int]) -> set[int]:
        answer: asyncio.Future[set[int]] = asyncio.get_running_loop().create_future()
        self._asked.append((alert_ids, answer))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="parley-alert-writes")
        return await answer

    async def _run(self) -> None:
        while self._asked:
            # The ids of a caller cancelled meanwhile go in too: a posted alert is
            # recorded sent even when the job that posted it was stopped.
            asked, self._asked = self._asked, []
            try:
                done = set(await self._statement(sorted({i for ids, _ in asked for i in ids})))
            except Exception as error:
                for _, answer in asked:
                    if not answer.done():
                        answer.set_exception(error)
            else:
                for ids, answer in asked:
                    if not answer.done():
                        answer.set_result(done.intersection(ids))
            finally:
                for _, answer in asked:
                    answer.cancel()  # unanswered only when the runner itself is cancelled

    async def finished(self) -> None:
        """Wait until every id asked for so far has been through its statement."""
        if self._runner is not None:
            await self._runner
