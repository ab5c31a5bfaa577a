"""The brief page in a real browser: what a reader sees at 1280 and 360 px, in their own
zone, with the keyboard, printed, and checked by axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.seeded import Served

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser


async def open_brief(browser: Browser, served: Served, *, width: int, zone: str) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 900}, timezone_id=zone)
    response = await page.goto(served.base_url + served.path)
    assert response is not None and response.status == 200
    return page


async def test_countdowns_matrix_and_timeline_in_the_dom(
    browser: Browser, served: Served, output: Path
) -> None:
    page = await open_brief(browser, served, width=1280, zone="Asia/Tokyo")
    cards = page.locator("li.deadline")
    assert await cards.count() == 2
    d1 = cards.nth(0)
    assert await d1.locator("h3").inner_text() == "D1 Signed usage agreement"
    assert await d1.locator(".left").inner_text() == "3 days 16 hours left"
    assert await d1.locator(".due").inner_text() == (
        "Due Mon 30 Nov 2026 09:00 EST (America/New_York)"
    )
    # The script adds the due time in the viewer's zone: 09:00 in New York is 23:00 in Tokyo.
    viewer = d1.locator(".viewer")
    assert await viewer.is_visible()
    text = await viewer.inner_text()
    assert text.startswith("Your time (Asia/Tokyo):") and "Nov 30, 2026" in text
    assert re.search(r"11:00\s*PM", text), text

    rows = page.locator("#matrix tbody tr")
    cells = [await rows.nth(i).locator("th, td").all_inner_texts() for i in range(4)]
    flat = [[" ".join(cell.split()) for cell in row] for row in cells]
    assert flat[0] == [
        "Anthropic",
        "Conditional on O2 No mass surveillance of Americans; human judgment in final targeting",
        "Silent",
    ]
    assert flat[1][:2] == ["Department of Defense", "Support on O1 (an older offer) License "
                           "for all lawful use"]  # fmt: skip
    assert flat[3] == ["@policy", "Silent", "—"]
    silent = page.locator("#matrix td.silent")
    assert await silent.count() == 2
    background = await silent.first.evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert background == "rgb(255, 241, 194)"  # highlighted

    stamps = await page.locator("ol.timeline > li > time").evaluate_all(
        "times => times.map(time => time.getAttribute('datetime'))"
    )
    assert len(stamps) == 11 and stamps == sorted(stamps, reverse=True)
    first = await page.locator("ol.timeline > li").first.inner_text()
    assert "D2 Department of Defense: undecided" in first
    offer = page.locator("#offers a").first
    assert await offer.get_attribute("rel") == "noreferrer noopener"
    await page.screenshot(path=str(output / "brief-1280.png"), full_page=True)


async def test_readable_at_360_px_accessible_and_printable(
    browser: Browser, served: Served, output: Path
) -> None:
    page = await open_brief(browser, served, width=360, zone="Europe/Berlin")
    # Only the matrix scrolls sideways (in its own focusable region), never the page.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    region = page.locator("#matrix .scroll")
    assert await region.get_attribute("tabindex") == "0"
    await page.screenshot(path=str(output / "brief-360.png"), full_page=True)

    from axe_playwright_python.async_playwright import Axe  # with playwright (the fixture)

    for width in (360, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        results = await Axe().run(page)
        violations = results.response["violations"]
        serious = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], results.generate_report()

    # The keyboard: a skip link first, and a visible outline on whatever has the focus.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to the brief"
    for _ in range(3):
        await page.keyboard.press("Tab")
    outline = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
    )
    assert outline == ["A", "solid", "3px"]

    # Printed (the print stylesheet): one or two A4 pages.
    pdf = await page.pdf(format="A4", path=str(output / "brief.pdf"))
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, pages


async def test_a_revoked_link_gives_404(browser: Browser, served: Served) -> None:
    await served.chat.say("/deadline brief revoke")
    page = await browser.new_page()
    response = await page.goto(served.base_url + served.path)
    assert response is not None and response.status == 404
