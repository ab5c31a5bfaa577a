"""Regenerate the card pictures docs/slack.md links: ``docs/img/cards/<card>-<width>.png``.

Run it on purpose (the tests write their screenshots outside the tracked tree)::

    python -m tests.cards.screenshot [FOLDER]

It draws ``tests.cards.test_card_layout.every_card`` with the ``adaptivecards`` renderer
in Debian's chromium at 360 and 540 px, as the layout tests do.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.cards.test_card_layout import ROOT, card_page, every_card, measure, missing

DEFAULT = ROOT / "docs" / "img" / "cards"


async def take(folder: Path) -> None:
    async with card_page() as page:
        for width in (360, 540):
            for name, message in every_card().items():
                await measure(page, message, width, name, folder)


def main() -> int:
    why = missing()
    if why is not None:
        print(f"cannot draw the cards: {why}", file=sys.stderr)
        return 1
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    asyncio.run(take(folder))
    print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
