"""Regenerate the README's screenshot of the seed scenario's brief: ``docs/img/brief.png``.

Run it on purpose (the tests never write into the tracked tree)::

    python -m tests.browser.screenshot [OUTPUT.png]

It serves the seed scenario (``tests.browser.seeded``) and photographs the page in
Debian's chromium through playwright, 1280 px wide, whole page.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from tests.browser.seeded import CHROMIUM, CHROMIUM_ARGS, chromium_missing, served_brief

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "docs" / "img" / "brief.png"


async def take(output: Path) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        async with served_brief(Path(folder)) as served, async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(
                viewport={"width": 1280, "height": 800}, timezone_id="America/New_York"
            )
            await page.goto(served.base_url + served.path)
            output.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(output), full_page=True)
            await browser.close()


def main() -> int:
    missing = chromium_missing()
    if missing is not None:
        print(f"cannot take the screenshot: {missing}", file=sys.stderr)
        return 1
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    asyncio.run(take(output))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
