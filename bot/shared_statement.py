"""``SharedStatement``: one database statement at a time, shared by every caller waiting for it.

The alert dispatcher renews leases right before each post and records each post
sent before its job ends. Hundreds of channel jobs do that at the same instant
in a burst; sharing the statements keeps that to a few writes, not two a post.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection


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
