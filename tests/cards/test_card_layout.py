"""Cards as Teams draws them: Microsoft's ``adaptivecards`` renderer (npm) in headless
Chromium (Debian's, driven by playwright) with a Teams-like host config, at 360 px (a
phone) and 540 px (the chat pane). Every card keeps its button labels whole, and the
final matrix of six parties with 3,000-character terms stays within 1,600 px.

They skip, saying why, where playwright, chromium or the renderer is missing; set
``REQUIRE_BROWSER=1`` to fail instead. The renderer is found at
``$PARLEY_ADAPTIVECARDS_JS`` (.ci/run installs adaptivecards@3.0.6 and sets it) or in a
``node_modules/adaptivecards`` beside the repository or under /tmp/parley-cards
(``npm install --prefix /tmp/parley-cards adaptivecards@3.0.6``). Screenshots go to
``$PARLEY_TEST_OUTPUT/cards`` (by default /tmp/parley-test-output/cards), never into the
tracked tree; ``python -m tests.cards.screenshot`` redraws docs/img/cards/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.teams.render import render_card
from bot import views
from bot.domain import Position, Stance
from bot.messages import Message
from tests.builders import a_teams_deadline

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
HEIGHT_BUDGET = 1600
PARTIES = ["Anthropic", "Department of Defense", "OpenAI", "Palantir", "NSA", "Congress"]

# Teams' own look, as far as a host config says it (Teams' light theme).
HOST_CONFIG: dict[str, Any] = {
    "fontFamily": "'Segoe UI', system-ui, sans-serif",
    "supportsInteractivity": True,
    "spacing": {"small": 8, "default": 12, "medium": 16, "large": 20, "extraLarge": 24,
                "padding": 16},
    "separator": {"lineThickness": 1, "lineColor": "#EEEEEE"},
    "fontTypes": {
        "default": {
            "fontFamily": "'Segoe UI', system-ui, sans-serif",
            "fontSizes": {"small": 12, "default": 14, "medium": 14, "large": 18,
                          "extraLarge": 24},
            "fontWeights": {"lighter": 200, "default": 400, "bolder": 600},
        },
        "monospace": {
            "fontFamily": "Consolas, monospace",
            "fontSizes": {"small": 12, "default": 14, "medium": 14, "large": 18,
                          "extraLarge": 24},
            "fontWeights": {"lighter": 200, "default": 400, "bolder": 600},
        },
    },
    "actions": {
        "maxActions": 6,
        "spacing": "default",
        "buttonSpacing": 8,
        "showCard": {"actionMode": "inline", "inlineTopMargin": 16},
        "actionsOrientation": "horizontal",
        "actionAlignment": "stretch",
    },
}  # fmt: skip


def renderer() -> Path | None:
    candidates = [
        os.environ.get("PARLEY_ADAPTIVECARDS_JS", ""),
        str(ROOT / "node_modules/adaptivecards/dist/adaptivecards.min.js"),
        "/tmp/parley-cards/node_modules/adaptivecards/dist/adaptivecards.min.js",
    ]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def missing() -> str | None:
    try:
        import playwright.async_api  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if shutil.which(CHROMIUM) is None:
        return f"no chromium at {CHROMIUM}"
    if renderer() is None:
        return (
            "the adaptivecards renderer is missing (npm install adaptivecards@3, see the docstring)"
        )
    return None


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    why = missing()
    if why is not None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    async with card_page() as opened:
        yield opened


@asynccontextmanager
async def card_page() -> AsyncIterator[Any]:
    """A 360 px page of chromium with the renderer loaded."""
    # Not in every environment (the check skips): no types to demand of it here.
    from playwright.async_api import (  # type: ignore[import-not-found,unused-ignore]
        async_playwright,
    )

    script = renderer()
    assert script is not None
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            opened = await browser.new_page(viewport={"width": 360, "height": 800})
            await opened.set_content(
                "<html><body style='margin:0'><div id='host'></div></body></html>"
            )
            await opened.add_script_tag(path=str(script))
            await opened.add_style_tag(path=str(script.parent / "adaptivecards.css"))
            yield opened
        finally:
            await browser.close()


_TEMPLATE = re.compile(r"\{\{(DATE|TIME)\(([^,)]+)(?:, ?SHORT)?\)\}\}")


def as_teams_shows(card: dict[str, Any]) -> str:
    """The card's JSON with Teams' DATE()/TIME() functions as Teams fills them in."""
    import json

    def filled(match: re.Match[str]) -> str:
        at = datetime.fromisoformat(match[2].replace("Z", "+00:00"))
        return at.strftime("%a, %b %d, %Y") if match[1] == "DATE" else at.strftime("%I:%M %p")

    return _TEMPLATE.sub(filled, json.dumps(card))


_MEASURE = r"""
([card, config, width]) => {
  const host = document.getElementById('host');
  host.innerHTML = '';
  host.style.width = width + 'px';
  // Teams renders the markdown subset Parley writes (bold, paragraphs); so does this.
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    result.outputHtml = escaped.replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
      .replace(/\n\n/g, '<br>');
    result.didProcess = true;
  };
  const adaptive = new AdaptiveCards.AdaptiveCard();
  adaptive.hostConfig = new AdaptiveCards.HostConfig(config);
  adaptive.parse(JSON.parse(card));
  const element = adaptive.render();
  host.appendChild(element);
  const cut = [];
  const edge = element.getBoundingClientRect().right;
  for (const button of element.querySelectorAll('button')) {
    if (button.offsetParent === null) continue;  // inside a "More" not unfolded
    const labels = [button, ...button.querySelectorAll('*')];
    const clipped = labels.some((e) => e.scrollWidth > e.clientWidth + 1);
    if (clipped || button.getBoundingClientRect().right > edge + 1) {
      cut.push(button.textContent);
    }
  }
  return {height: element.getBoundingClientRect().height, cut: cut};
}
"""


def cards_output() -> Path:
    return Path(os.environ.get("PARLEY_TEST_OUTPUT", "/tmp/parley-test-output")) / "cards"


async def measure(
    page: Any, message: Message, width: int, name: str, folder: Path | None = None
) -> dict[str, Any]:
    """Draw ``message`` as Teams would at ``width``; its screenshot goes to ``folder``
    (by default the test output, outside the tracked tree)."""
    card = render_card(message, now=NOW)
    result: dict[str, Any] = await page.evaluate(
        _MEASURE, [as_teams_shows(card), HOST_CONFIG, width]
    )
    folder = folder or cards_output()
    folder.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size({"width": width, "height": max(200, int(result["height"]))})
    await page.locator("#host").screenshot(path=str(folder / f"{name}-{width}.png"))
    return result


def long_positions() -> list[Position]:
    def terms(party: str) -> str:
        return (f"{party} will not accept mass surveillance of Americans; " * 60)[:3000]

    return [
        Position(
            deadline_id=1,
            stakeholder=f"party:{party.lower()}",
            label=party,
            stance=Stance.OPPOSE if n % 2 else Stance.CONDITIONAL,
            terms=terms(party),
            recorded_by="29:1-alex",
            recorded_at=NOW,
        )
        for n, party in enumerate(PARTIES)
    ]


def every_card() -> dict[str, Message]:
    deadline = a_teams_deadline()
    due_now = a_teams_deadline(due_at=NOW)
    return {
        "announcement": views.deadline_card(
            deadline, now=NOW, headline="New deadline", calendar_url="https://x/e.ics"
        ),
        "countdown": views.countdown_alert(
            deadline, now=NOW, offset=timedelta(hours=1), positions=(), requests=(),
            calendar_url="https://x/e.ics",
        ),
        "ask": views.ask_direct_message(
            deadline, user_id="29:1-dana", asked_by="29:1-alex", now=NOW
        ),
        "matrix": views.position_matrix(
            deadline, now=NOW, positions=long_positions(), requests=()
        ),
        "final-matrix": views.final_matrix(
            due_now, now=NOW, positions=long_positions(), requests=(),
            headline=views.reached_headline(due_now, now=NOW, marks_missed=True),
            outcome="missed",
        ),
    }  # fmt: skip


@pytest.mark.parametrize("width", [360, 540])
async def test_no_card_cuts_a_button_label(page: Any, width: int) -> None:
    for name, message in every_card().items():
        result = await measure(page, message, width, name)
        assert result["cut"] == [], f"{name} at {width} px cuts {result['cut']}"


async def test_the_final_matrix_of_six_long_positions_stays_within_budget(page: Any) -> None:
    result = await measure(page, every_card()["final-matrix"], 360, "final-matrix")
    assert 0 < result["height"] <= HEIGHT_BUDGET
