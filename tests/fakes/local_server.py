"""The base of the local HTTP fakes (``slack_api``, ``bot_connector``): an aiohttp
server on 127.0.0.1, on a free port, that records what arrives and lets a test
wait for it.

A fake adds its routes in ``routes``, calls ``_note_arrival()`` after recording a
request, and waits with ``_wait_until(ready, within)``; ``async with`` (or ``start``
and ``stop``) runs it::

    class FakeThing(LocalServer):
        def routes(self, app: web.Application) -> None:
            app.router.add_post("/things", self._thing)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web


class LocalServer:
    """Start, stop and wait-for-arrivals for one fake on 127.0.0.1."""

    _runner: web.AppRunner | None = None
    _arrivals: asyncio.Condition | None = None
    _port: int = 0

    def routes(self, app: web.Application) -> None:
        """Add the fake's routes to ``app``."""
        raise NotImplementedError

    async def start(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._arrivals = asyncio.Condition()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def _note_arrival(self) -> None:
        """Wake whoever waits in ``_wait_until``: a request has been recorded."""
        assert self._arrivals is not None, "start the fake first"
        async with self._arrivals:
            self._arrivals.notify_all()

    async def _wait_until(self, ready: Callable[[], bool], within: float) -> None:
        """Wait until ``ready()`` holds, re-checked as requests arrive; fail after
        ``within`` seconds (TimeoutError)."""
        assert self._arrivals is not None, "start the fake first"
        async with asyncio.timeout(within), self._arrivals:
            await self._arrivals.wait_for(ready)
