"""The seed scenario of the brief tests and of the README's screenshot: two parties, two
deadlines, offers, positions on them, people asked, an extension with its reason.

Typed as a conversation through the real service (``Chat``), on a clock the caller
controls; ``brief_path`` asks for the brief URL as a user would, and returns its path.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import ManualClock
from tests.conftest import Chat

_URL = re.compile(r"https?://[^/\s]+(/brief/[A-Za-z0-9_-]+)")


async def seed(chat: Chat, clock: ManualClock) -> None:
    """Start at ``tests.conftest.NOW`` (Thu 26 Nov 2026 17:00 UTC); ends 5 hours later."""
    steps = [
        "/party add Anthropic @dana",
        '/party add "Department of Defense" @pete',
        "/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York",
        "/deadline add Counter-proposal on oversight due 2026-12-02 12:00 Europe/London",
        "/offer D1 Draft usage terms https://docs.example.com/draft.pdf from Anthropic",
    ]
    for step in steps:
        await chat.say(step)
        clock.advance(timedelta(minutes=20))
    await chat.say(
        "/position D1 oppose as Anthropic No mass surveillance of Americans", user="dana"
    )
    clock.advance(timedelta(minutes=30))
    await chat.say(
        '/position D1 support as "Department of Defense" License for all lawful use', user="pete"
    )
    clock.advance(timedelta(minutes=30))
    await chat.say("/position ask D1 @legal @policy")
    clock.advance(timedelta(minutes=30))
    await chat.say(
        "/offer D1 Best and final offer https://docs.example.com/bafo.pdf from Anthropic",
        user="dana",
    )
    clock.advance(timedelta(minutes=30))
    await chat.say(
        "/position D1 conditional as Anthropic No mass surveillance of Americans; "
        "human judgment in final targeting",
        user="dana",
    )
    clock.advance(timedelta(minutes=30))
    await chat.say("/position D1 support Fine as drafted", user="legal")
    clock.advance(timedelta(minutes=30))
    await chat.say(
        "/deadline extend D1 to 2026-11-30 09:00 America/New_York "
        "because best and final offer under review"
    )
    clock.advance(timedelta(minutes=10))
    await chat.say('/position D2 undecided as "Department of Defense"', user="pete")
    clock.advance(timedelta(minutes=10))


async def brief_path(chat: Chat, line: str = "/deadline brief", **who: str) -> str:
    """Ask for a brief URL as a user would; its path (``/brief/<token>``)."""
    said = await chat.say(line, **who)
    found = _URL.search(said)
    assert found is not None, said
    return found[1]
