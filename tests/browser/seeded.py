"""The seed scenario served by the real application, for the browser tests and for the
README's screenshot (``python -m tests.browser.screenshot``).

``served_brief`` opens Parley on a fresh SQLite database in ``folder`` with a
controllable clock, types the seed scenario (``tests.brief.scenario``), asks for
the brief URL as a user would, and serves the real aiohttp application on a free
loopback port while the block runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp.test_utils import TestServer

from adapters.feeds import RedactingAccessLogger
from bot.clock import ManualClock
from bot.config import load_settings
from bot.main import build_app, open_runtime
from bot.runtime import Runtime
from tests.brief.scenario import brief_path, seed
from tests.conftest import NOW, Chat

CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
# Chromium as root needs --no-sandbox (CI and these machines run as root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if shutil.which(CHROMIUM) is None:
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set PARLEY_CHROMIUM)"
    return None


@dataclass
class Served:
    base_url: str  # http://127.0.0.1:<port>
    path: str  # /brief/<token> of the channel's negotiation
    chat: Chat
    clock: ManualClock

    @property
    def runtime(self) -> Runtime:
        return self.chat.runtime


@contextlib.asynccontextmanager
async def served_brief(folder: Path) -> AsyncIterator[Served]:
    clock = ManualClock(NOW)
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder / 'parley.db'}")
    async with open_runtime(settings, clock=clock) as runtime:
        chat = Chat(runtime)
        await seed(chat, clock)
        path = await brief_path(chat)
        server = TestServer(build_app(runtime), host="127.0.0.1")
        await server.start_server(access_log_class=RedactingAccessLogger)
        try:
            yield Served(str(server.make_url("")).rstrip("/"), path, chat, clock)
        finally:
            await server.close()
