"""Time truth through the shell: extend and move, bare times, vague times and their
choices, history in each viewer's zone, closed deadlines and the demo on every day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.shell.render import render_message
from bot.clock import ManualClock
from bot.domain import Context
from bot.main import DEMO_SCRIPT
from bot.messages import Actions, Audience, Button, Countdown, Message
from bot.runtime import Runtime
from bot.views import ACTION_CHOOSE_TIME
from tests.conftest import Chat

D1_DUE = "/deadline add Signed usage agreement due 2026-12-04 17:00 America/New_York"
SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # Sat 28 Nov, 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")


async def test_extend_to_a_weekday_is_the_first_one_after_the_current_due_time(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say(D1_DUE)
    clock.set(SATURDAY)
    reply = await chat.say(
        "/deadline extend D1 to Monday 09:00 because best and final offer under review"
    )
    assert chat.audiences == [Audience.CHANNEL]
    first = reply.splitlines()[0]
    assert first.startswith("== @alex extended D1 (was Fri 04 Dec 2026 17:00 EST)")
    assert first.endswith("because best and final offer under review ==")
    assert "Due Mon 07 Dec 2026 09:00 EST (America/New_York)" in reply


async def test_extend_refuses_an_earlier_or_equal_time_and_names_move(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say(D1_DUE)
    clock.set(SATURDAY)
    reply = await chat.say("/deadline extend D1 to tomorrow 9am")
    assert chat.audiences == [Audience.EPHEMERAL]
    assert reply == (
        '(only you) "tomorrow 9am" is Sun 29 Nov 2026 09:00 EST (America/New_York), earlier than '
        "D1's current due time (Fri 04 Dec 2026 17:00 EST): extend only moves a deadline later. "
        "Nothing was changed.\nTo move it earlier: /deadline move D1 to tomorrow 9am"
    )
    same = await chat.say("/deadline extend D1 to 2026-12-04 17:00")
    assert "when D1 is already due. Nothing was changed." in same
    assert "Due Fri 04 Dec 2026 17:00 EST" in await chat.say("/deadline show D1")


async def test_move_earlier_is_announced_as_earlier_with_its_reason(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say(D1_DUE)
    clock.set(SATURDAY)
    reply = await chat.say("/deadline move D1 to Thursday 17:00 because the board meets early")
    assert chat.audiences == [Audience.CHANNEL]
    assert reply.splitlines()[0] == (
        "== @alex moved D1 earlier (was Fri 04 Dec 2026 17:00 EST) because the board meets early =="
    )
    assert "Due Thu 03 Dec 2026 17:00 EST" in reply
    later = await chat.say("/deadline move D1 to 2026-12-10 17:00")
    assert "@alex moved D1 later (was Thu 03 Dec 2026 17:00 EST)" in later
    show = await chat.say("/deadline show D1")
    assert (
        "moved earlier by @alex from Fri 04 Dec 2026 17:00 EST to Thu 3 Dec 2026 17:00 EST "
        "(America/New_York) because the board meets early"
    ) in show


async def test_times_are_read_in_the_typing_users_zone_and_the_deadline_keeps_its_own(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say(D1_DUE)
    clock.set(SATURDAY)
    reply = await chat.say("/deadline extend D1 to Monday 14:00", tz="Europe/London")
    assert "Due Mon 07 Dec 2026 09:00 EST (America/New_York)" in reply
    named = await chat.say("/deadline extend D1 to Tuesday 09:00 Asia/Tokyo")
    assert "Due Tue 08 Dec 2026 09:00 JST (Asia/Tokyo)" in named


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        # Monday 19:30 in New York: 5pm is Tuesday's.
        (datetime(2026, 12, 1, 0, 30, tzinfo=UTC), "America/New_York", "Tue 01 Dec 2026 17:00 EST"),
        # 12:30 in Tokyo: today's.
        (datetime(2026, 11, 30, 3, 30, tzinfo=UTC), "Asia/Tokyo", "Mon 30 Nov 2026 17:00 JST"),
    ],
)
async def test_a_bare_time_is_the_next_one(
    chat: Chat, clock: ManualClock, now: datetime, tz: str, expected: str
) -> None:
    clock.set(now)
    reply = await chat.say("/deadline add Counter-offer due 5pm", tz=tz)
    assert f"Due {expected}" in reply


async def test_time_left_is_rounded_where_it_is_shown_a_few_ms_later(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say("/deadline add Quick check due in 2 minutes")
    clock.advance(timedelta(milliseconds=4))  # the reply renders a moment after it was made
    text = chat.text()
    assert "— 2 minutes left" in text
    assert "(2 minutes left)" in chat.replies[0].fallback


def choice_buttons(message: Message) -> list[Button]:
    return [b for block in message.blocks if isinstance(block, Actions) for b in block.buttons]


async def test_a_vague_time_sets_nothing_and_offers_the_commands_to_type(chat: Chat) -> None:
    reply = await chat.say("/deadline add Signed usage agreement due Friday evening")
    assert chat.audiences == [Audience.EPHEMERAL]
    assert "Did you mean Fri 27 Nov 2026 18:00 EST (America/New_York)?" in reply
    assert "nothing was set" in reply
    for label, when in (("17:00", "17:00"), ("18:00", "18:00"), ("21:00", "21:00")):
        command = f"/deadline add Signed usage agreement due 2026-11-27T{when}-05:00"
        assert f"Fri 27 Nov {label}: type {command}" in reply
    assert "No open deadlines" in await chat.say("/deadline list")
    typed = await chat.say("/deadline add Signed usage agreement due 2026-11-27T18:00-05:00")
    assert "Due Fri 27 Nov 2026 18:00 EST" in typed


async def test_a_choice_runs_once_for_its_own_person_before_it_expires(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due EOW")
    eighteen, *_ = choice_buttons(chat.replies[0])
    assert eighteen.action_id == ACTION_CHOOSE_TIME and eighteen.label == "Fri 27 Nov 17:00"
    service = chat.runtime.service

    async def press(user: str) -> str:
        messages = await service.press(
            ctx=chat.context(user=user), action_id=ACTION_CHOOSE_TIME, value=eighteen.value
        )
        return "\n".join(render_message(m, now=clock.now()) for m in messages)

    assert "These choices were offered to @alex" in await press("mallory")
    done = await press("alex")
    assert "New deadline set by @alex" in done and "Due Fri 27 Nov 2026 17:00 EST" in done
    assert "already been used" in await press("alex")
    assert "D2" not in await chat.say("/deadline list")
    await chat.say("/deadline add Side letter due tonight")
    later = choice_buttons(chat.replies[0])[0]
    clock.advance(timedelta(minutes=16))
    expired = await service.press(
        ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value=later.value
    )
    assert "These choices have expired. Type it again: /deadline add Side letter" in (
        expired[0].fallback
    )
    stale = await service.press(ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value="{")
    assert stale[0].fallback == "That button is out of date."


async def test_a_choice_refused_on_rechecking_may_be_picked_again(
    chat: Chat, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 26, 21, 50, tzinfo=UTC))  # 16:50 in New York
    await chat.say("/deadline add Signed usage agreement due tonight")
    first, second, *_ = choice_buttons(chat.replies[0])
    assert (first.label, second.label) == ("Thu 26 Nov 17:00", "Thu 26 Nov 18:00")
    clock.advance(timedelta(minutes=11))  # 17:01: the first choice has passed
    service = chat.runtime.service
    refused = await service.press(
        ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value=first.value
    )
    assert "which is in the past" in refused[0].fallback
    done = await service.press(ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value=second.value)
    assert "New deadline set" in done[0].fallback


async def test_an_ambiguous_zone_offers_each_zone_then_runs_the_one_chosen(chat: Chat) -> None:
    await chat.say("/deadline add Signed usage agreement due Friday 5pm IST")
    labels = [b.label for b in choice_buttons(chat.replies[0])]
    assert labels == ["India", "Israel", "Ireland"]
    india = choice_buttons(chat.replies[0])[0]
    assert india.command == "/deadline add Signed usage agreement due Friday 5pm Asia/Kolkata"
    done = await chat.runtime.service.press(
        ctx=chat.context(), action_id=ACTION_CHOOSE_TIME, value=india.value
    )
    assert "Fri 27 Nov 2026 17:00 IST (Asia/Kolkata)" in render_message(
        done[0], now=chat.runtime.clock.now()
    )


async def test_extend_to_a_vague_time_offers_times_after_the_current_due_time(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-12-04 18:30 America/New_York")
    clock.set(SATURDAY)
    await chat.say('/deadline extend "Signed usage" to Friday evening because of the board')
    # Like "Friday 18:00", "Friday evening" is the first Friday whose 18:00 is after 18:30 on
    # the 4th.
    buttons = choice_buttons(chat.replies[0])
    assert [b.label for b in buttons] == [
        "Fri 11 Dec 17:00",
        "Fri 11 Dec 18:00",
        "Fri 11 Dec 21:00",
        "Fri 11 Dec 23:59",
    ]
    assert buttons[0].command == (
        "/deadline extend D1 to 2026-12-11T17:00-05:00 because of the board"
    )


async def test_history_is_in_each_viewers_zone(chat: Chat, clock: ManualClock) -> None:
    await chat.say(D1_DUE)
    clock.set(datetime(2026, 11, 28, 3, 46, tzinfo=UTC))  # Friday evening in New York
    await chat.say("/deadline extend D1 to Monday 09:00")
    await chat.say("/deadline show D1")
    (show,) = chat.replies
    now = clock.now()
    new_york = render_message(show, now=now, tz="America/New_York")
    tokyo = render_message(show, now=now, tz="Asia/Tokyo")
    assert "Fri 27 Nov 2026 22:46 EST — extended by @alex" in new_york
    assert "Sat 28 Nov 2026 12:46 JST — extended by @alex" in tokyo
    assert "UTC" not in new_york
    # Without a viewer's zone (notifications, feeds) a time reads in the deadline's zone.
    assert "Fri 27 Nov 2026 22:46 EST — extended" in render_message(show, now=now)


async def test_show_says_the_due_time_once_and_only_reminders_to_come(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due Friday 17:00 America/New_York")
    text = await chat.say("/deadline show D1")
    assert text.count("Fri 27 Nov 2026 17:00 EST") == 2  # the due line and the history
    assert "Reminders: 1d, 4h, 1h, 15m, at the deadline" in text
    assert "7d" not in text  # already past when the deadline was set
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=UTC))
    assert "Reminders: 1h, 15m, at the deadline" in await chat.say("/deadline show D1")


@pytest.mark.parametrize(("verb", "status"), [("done", "met"), ("cancel", "cancelled")])
async def test_closed_deadlines_show_their_status_not_time_left(
    chat: Chat, verb: str, status: str
) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-12-03 17:00")
    await chat.say(f"/deadline {verb} D1")
    for line in ("/deadline list all", "/deadline show D1"):
        text = await chat.say(line)
        assert f"Due Thu 03 Dec 2026 17:00 EST (America/New_York) — {status}" in text
        assert "left" not in text
    assert f"Due: Thu 03 Dec 2026 17:00 EST ({status})" in chat.replies[0].fallback


# Seven clocks, one on each day of the week, at awkward hours in New York.
DEMO_CLOCKS = [
    datetime(2026, 11, 30, 13, 0, tzinfo=UTC),  # Monday 08:00
    datetime(2026, 12, 1, 23, 30, tzinfo=UTC),  # Tuesday 18:30
    datetime(2026, 12, 2, 14, 0, tzinfo=UTC),  # Wednesday 09:00
    datetime(2026, 12, 4, 0, 30, tzinfo=UTC),  # Thursday 19:30
    datetime(2026, 12, 4, 23, 0, tzinfo=UTC),  # Friday 18:00, after the demo's 17:00
    datetime(2026, 12, 5, 15, 0, tzinfo=UTC),  # Saturday 10:00
    datetime(2026, 12, 7, 4, 59, tzinfo=UTC),  # Sunday 23:59
]


@pytest.mark.parametrize("now", DEMO_CLOCKS, ids=lambda now: f"{now:%A}")
async def test_the_demo_extends_the_deadline_on_every_day_of_the_week(
    runtime: Runtime, clock: ManualClock, now: datetime
) -> None:
    clock.set(now)
    replies: list[list[Message]] = []
    for user, command, text in DEMO_SCRIPT:
        ctx = Context(
            workspace_id="shell:local",
            channel_id="general",
            user_id=user,
            user_name=user,
            tz="Europe/Berlin",
            platform="shell",
        )
        replies.append(await runtime.service.handle(ctx=ctx, command=command, text=text))
    [adding] = [i for i, (_, command, text) in enumerate(DEMO_SCRIPT) if text.startswith("add ")
                if command == "deadline"]  # fmt: skip
    (added,), (announcement,) = replies[adding], replies[-1]
    friday = next(b.due_at for b in added.blocks if isinstance(b, Countdown))
    monday = next(b.due_at for b in announcement.blocks if isinstance(b, Countdown))
    assert announcement.fallback.startswith("<@alex> extended D1 (was ")
    assert friday.astimezone(NEW_YORK).strftime("%a %H:%M") == "Fri 17:00"
    assert monday.astimezone(NEW_YORK).strftime("%a %H:%M") == "Mon 09:00"
    assert friday < monday < friday + timedelta(days=3)  # the Monday after that Friday
