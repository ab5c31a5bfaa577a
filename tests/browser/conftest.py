"""Browser tests: Debian's chromium, headless, driven by playwright-python.

They skip, saying why, where chromium or playwright is missing, and fail instead
when ``REQUIRE_BROWSER=1`` (set by .ci/run). Screenshots and PDFs go to
``$PARLEY_TEST_OUTPUT`` (default ``/tmp/parley-test-output``), never into the
tracked tree.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.seeded import CHROMIUM, CHROMIUM_ARGS, Served, chromium_missing, served_brief

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture
def output() -> Path:
    folder = Path(os.environ.get("PARLEY_TEST_OUTPUT", "/tmp/parley-test-output")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    missing = chromium_missing()
    if missing is not None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with served_brief(tmp_path) as running:
        yield running
