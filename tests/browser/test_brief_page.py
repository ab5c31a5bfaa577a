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


async def test_a_sealed_deadline_shows_no_stance_before_the_reveal_and_all_after(
    browser: Browser, served: Served, output: Path
) -> None:
    chat = served.chat
    await chat.say("/deadline add Sealed answer due 2026-12-04 17:00 America/New_York sealed")
    await chat.say("/position D3 oppose as Anthropic Walk away above 10%", user="dana")
    await chat.say('/position D3 support as "Department of Defense" Accept at 8%', user="pete")

    page = await open_brief(browser, served, width=1280, zone="America/New_York")
    header = await page.locator("#matrix thead th").all_inner_texts()
    column = [" ".join(h.split()) for h in header].index("D3 Sealed answer")
    rows = page.locator("#matrix tbody tr")
    sealed = [" ".join((await rows.nth(i).locator("th, td").all_inner_texts())[column].split())
              for i in range(2)]  # fmt: skip
    assert all(re.fullmatch("Sealed commitment [0-9a-f]{8}…", cell) for cell in sealed), sealed
    body = await page.locator("body").inner_text()
    for secret in ("Walk away above 10%", "Accept at 8%"):
        assert secret not in body
    await page.screenshot(path=str(output / "brief-sealed.png"), full_page=True)

    await chat.say("/deadline done D3 because both answered", user="alex")
    await page.reload()
    rows = page.locator("#matrix tbody tr")
    revealed = [" ".join((await rows.nth(i).locator("th, td").all_inner_texts())[column].split())
                for i in range(2)]  # fmt: skip
    assert revealed == ["Oppose Walk away above 10%", "Support Accept at 8%"], revealed
