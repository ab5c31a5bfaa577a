"""Telling the asked: what each person asked on a deadline receives by direct message,
and when, as changes are typed in the channel (a controllable clock, each send a few
milliseconds after the instant it is due)."""

from __future__ import annotations

import asyncio
import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from adapters.shell.console import ShellGateway, run_shell
from adapters.shell.render import render_message
from bot.clock import ManualClock
from bot.errors import DeliveryError, PermanentDelivery, RateLimited, TransientDelivery
from bot.messages import Audience, Message
from bot.notices import NoticeSender
from bot.runtime import Runtime, running_dispatcher
from tests.conftest import NOW, Chat

# Where a real clock stands when a notice goes out: a few milliseconds after it is due.
LATE = timedelta(milliseconds=3)
MINUTE = timedelta(minutes=1)
ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"
EXTEND = "/deadline extend D1 to Monday 09:00 because best and final offer under review"
MOVE = "/deadline move D1 to Sunday 12:00 because counsel asked for the weekend"
EXTENDED = (
    "@alex extended it from Fri 27 Nov 2026 17:00 EST to Mon 30 Nov 2026 09:00 EST "
    "because best and final offer under review"
)
MOVED = (
    "@alex moved it earlier from Mon 30 Nov 2026 09:00 EST to Sun 29 Nov 2026 12:00 EST "
    "because counsel asked for the weekend"
)


@dataclass
class DirectMessage:
    at: datetime
    channel_id: str
    message: Message

    @property
    def to(self) -> str | None:
        return self.message.user_id

    @property
    def text(self) -> str:
        return render_message(self.message, now=self.at)


@dataclass
class Inbox:
    """A platform that records what it is given; ``failures`` are raised first, one a send."""

    clock: ManualClock
    received: list[DirectMessage] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        self.received.append(DirectMessage(self.clock.now(), channel_id, message))
        return None

    def of(self, user: str) -> list[DirectMessage]:
        return [dm for dm in self.received if dm.to == user]


@pytest.fixture
def inbox(clock: ManualClock) -> Inbox:
    return Inbox(clock)


@pytest.fixture
def sender(chat: Chat, inbox: Inbox, clock: ManualClock) -> NoticeSender:
    repository = chat.runtime.repository
    return NoticeSender(
        outbox=repository,
        deadlines=repository,
        gateways={"shell": inbox},
        clock=clock,
        rng=random.Random(7),
    )


async def at(sender: NoticeSender, clock: ManualClock, moment: datetime) -> int:
    """Stand the clock at ``moment`` and send what is due; how many were claimed."""
    clock.set(moment)
    return await sender.run_once()


async def asked(chat: Chat, *people: str) -> None:
    await chat.say(ADD)
    await chat.say("/position ask D1 " + " ".join(f"@{p}" for p in people))


async def test_an_extension_then_a_move_within_a_minute_is_one_message_each(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal", "policy")
    first = NOW + timedelta(seconds=10)
    clock.set(first)
    await chat.say(EXTEND)
    clock.set(first + timedelta(seconds=20))
    await chat.say(MOVE)

    assert await at(sender, clock, first + MINUTE - LATE) == 0  # not due yet
    assert await at(sender, clock, first + MINUTE + LATE) == 2
    assert sorted(str(dm.to) for dm in inbox.received) == ["legal", "policy"]
    for dm in inbox.received:
        assert dm.message.audience is Audience.DIRECT
        assert dm.channel_id == "negotiation"
        assert dm.text.splitlines() == [
            f"(direct message to @{dm.to}) == Update on D1 Signed usage agreement in "
            "#negotiation ==",
            f"• {EXTENDED}",
            f"• {MOVED}",
            # Sun 12:00 EST is 2 days 23 hours 59 minutes away: 3 days, rounded.
            "  Due Sun 29 Nov 2026 12:00 EST (America/New_York) — 3 days left",
        ]
        assert dm.message.fallback.endswith("Due Sun 29 Nov 2026 12:00 EST (3 days left)")
        # Neither the time left before the changes nor after the extension alone.
        for stale in ("1 day 5 hours", "3 days 21 hours"):
            assert stale not in dm.text and stale not in dm.message.fallback
    assert await at(sender, clock, first + 2 * MINUTE) == 0  # each told once


async def test_a_change_after_the_minute_is_a_second_message(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal")
    await chat.say(EXTEND)
    assert await at(sender, clock, NOW + MINUTE + LATE) == 1
    clock.set(NOW + timedelta(minutes=5))
    await chat.say(MOVE)
    assert await at(sender, clock, NOW + timedelta(minutes=6) - LATE) == 0
    assert await at(sender, clock, NOW + timedelta(minutes=6) + LATE) == 1
    first, second = inbox.of("legal")
    assert EXTENDED in first.text and MOVED not in first.text
    assert MOVED in second.text and EXTENDED not in second.text


async def test_a_change_after_the_minute_starts_a_new_message_even_if_the_first_waits(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    """The first message is due before the second change is made: it does not take it,
    though nothing was sent in between."""
    await asked(chat, "legal")
    await chat.say(EXTEND)
    clock.set(NOW + MINUTE)
    await chat.say(MOVE)
    assert await at(sender, clock, NOW + 2 * MINUTE + LATE) == 2
    first, second = inbox.of("legal")
    assert EXTENDED in first.text and MOVED not in first.text
    assert MOVED in second.text and EXTENDED not in second.text
    # Both say when it is due now.
    assert first.text.endswith("Due Sun 29 Nov 2026 12:00 EST (America/New_York) — 3 days left")


async def test_whoever_made_the_change_is_not_told(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "alex", "legal")
    await chat.say(EXTEND)
    await at(sender, clock, NOW + MINUTE + LATE)
    assert [dm.to for dm in inbox.received] == ["legal"]


async def test_only_the_asked_are_told(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await chat.say(ADD)
    await chat.say("/deadline add Side letter due Friday 12:00 America/New_York")
    await chat.say("/position ask D2 @legal")
    await chat.say(EXTEND)  # nobody is asked on D1
    assert await at(sender, clock, NOW + timedelta(hours=1)) == 0
    assert inbox.received == []


async def test_cancelling_and_marking_done_are_told_with_the_status(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal")
    await chat.say("/deadline add Side letter due Friday 12:00 America/New_York")
    await chat.say("/position ask D2 @legal")
    await chat.say("/deadline cancel D1")
    await chat.say("/deadline done D2")
    assert await at(sender, clock, NOW + MINUTE + LATE) == 2
    [cancelled] = [dm.text for dm in inbox.of("legal") if "Update on D1 Signed" in dm.text]
    [done] = [dm.text for dm in inbox.of("legal") if "Update on D2 Side letter" in dm.text]
    assert cancelled.splitlines()[1:] == [
        "• @alex cancelled it",
        "  Due Fri 27 Nov 2026 17:00 EST (America/New_York) — cancelled",
    ]
    assert done.splitlines()[1:] == [
        "• @alex marked it done (met)",
        "  Due Fri 27 Nov 2026 12:00 EST (America/New_York) — met",
    ]


async def test_an_extension_then_a_cancellation_says_both_and_no_time_left(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal")
    await chat.say(EXTEND)
    clock.set(NOW + timedelta(seconds=30))
    await chat.say("/deadline cancel D1")
    await at(sender, clock, NOW + MINUTE + LATE)
    [dm] = inbox.received
    assert dm.text.splitlines()[1:] == [
        f"• {EXTENDED}",
        "• @alex cancelled it",
        "  Due Mon 30 Nov 2026 09:00 EST (America/New_York) — cancelled",
    ]
    assert "left" not in dm.text


async def test_a_failed_send_is_retried_and_told_once(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal")
    await chat.say(EXTEND)
    inbox.failures = [RateLimited("slow down", retry_after=30), TransientDelivery("502")]
    assert await at(sender, clock, NOW + MINUTE + LATE) == 1
    assert await at(sender, clock, NOW + MINUTE + timedelta(seconds=29)) == 0
    assert await at(sender, clock, NOW + MINUTE + timedelta(seconds=30, milliseconds=3)) == 1
    assert inbox.received == []  # the 502: backs off a second or more
    assert await at(sender, clock, NOW + timedelta(minutes=5)) == 1
    [dm] = inbox.received
    assert EXTENDED in dm.text
    assert await at(sender, clock, NOW + timedelta(hours=1)) == 0


async def test_a_refused_message_is_not_tried_again(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal", "policy")
    await chat.say(EXTEND)
    inbox.failures = [PermanentDelivery("user_not_found")]
    assert await at(sender, clock, NOW + MINUTE + LATE) == 2
    assert len(inbox.received) == 1  # the other one was delivered
    assert await at(sender, clock, NOW + timedelta(days=1)) == 0


class Screen(io.StringIO):
    """A terminal: what the shell prints, with a way to wait for a line to appear."""

    def __init__(self) -> None:
        super().__init__()
        self._printed = asyncio.Event()

    def write(self, text: str) -> int:
        self._printed.set()
        return super().write(text)

    async def shows(self, text: str, *, count: int = 1) -> None:
        async with asyncio.timeout(5):
            while self.getvalue().count(text) < count:
                self._printed.clear()
                await self._printed.wait()


async def test_through_the_shell_the_asked_are_told_once_while_it_runs(
    runtime: Runtime, clock: ManualClock
) -> None:
    screen = Screen()
    runtime.gateways["shell"] = ShellGateway(out=screen, clock=clock)
    typed = "\n".join([ADD, "/position ask D1 @alex @legal @policy", EXTEND, MOVE]) + "\n"
    update = "== Update on D1 Signed usage agreement in #negotiation =="
    async with running_dispatcher(runtime):
        await run_shell(
            service=runtime.service,
            channel="negotiation",
            user="alex",
            tz="America/New_York",
            stdin=io.StringIO(typed),
            out=screen,
        )
        clock.set(NOW + MINUTE + LATE)
        runtime.changed()
        await screen.shows(update, count=2)
    shown = screen.getvalue()
    for person in ("legal", "policy"):
        told = f"[alert to @{person}]\n(direct message to @{person}) {update}\n"
        assert shown.count(told) == 1
        message = shown.split(told, 1)[1].splitlines()[:3]
        assert message == [
            f"• {EXTENDED}",
            f"• {MOVED}",
            "  Due Sun 29 Nov 2026 12:00 EST (America/New_York) — 3 days left",
        ]
    assert "[alert to @alex]" not in shown


async def test_the_reps_of_the_expected_parties_hear_of_the_outcome_too(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say('/party add "Department of Defense" @pete @alex')
    await asked(chat, "legal")
    said = await chat.say("/deadline done D1")
    assert "marked done" in said, said
    assert await at(sender, clock, NOW + MINUTE + LATE) == 3
    assert sorted(str(dm.to) for dm in inbox.received) == ["dana", "legal", "pete"]  # not alex
    for dm in inbox.received:
        assert "• @alex marked it done (met)" in dm.text


async def test_a_new_offer_is_told_to_the_asked(
    chat: Chat, sender: NoticeSender, inbox: Inbox, clock: ManualClock
) -> None:
    await asked(chat, "legal")
    await chat.say("/offer D1 Best and final offer https://example.com/bafo from nobody")
    assert await at(sender, clock, NOW + MINUTE + LATE) == 1
    [dm] = inbox.received
    assert (
        "• @alex put a new offer on the table: Best and final offer from nobody (example.com)"
        in dm.text
    )
