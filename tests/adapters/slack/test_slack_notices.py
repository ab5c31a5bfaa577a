"""Telling the asked through signed Slack commands: the direct messages the fake Slack
Web API receives when a deadline is extended, moved or cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.slack.render import render_message
from bot import views
from bot.clock import ManualClock
from bot.domain import (
    DEFAULT_OFFSETS,
    REASON_MAX,
    Change,
    ChangeKind,
    Deadline,
    DeadlineStatus,
)
from bot.notices import NoticeSender
from bot.runtime import running_dispatcher
from tests.adapters.slack.blockkit import check_message, texts
from tests.adapters.slack.slack_world import SlackWorld
from tests.fakes.slack_api import Call

# Thursday 26 November 2026, 12:00 in New York (tests.conftest.NOW).
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
LATE = timedelta(milliseconds=3)
FRIDAY_5PM = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
MONDAY_9AM = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
SUNDAY_NOON = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


def date(at: datetime, written: str) -> str:
    """A Slack date token: ``at`` in each reader's zone, ``written`` where none is known."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{written}>"


def update(call: Call) -> bool:
    return "Update on D1" in str(call.params.get("text", ""))


def told(slack: SlackWorld) -> list[Call]:
    return [call for call in slack.api.calls_to("chat.postMessage") if update(call)]


async def ask_and_reschedule(slack: SlackWorld, clock: ManualClock) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    await slack.command("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    await slack.command("/position ask D1 <@U1|alice> <@U2|bob> <@U3|carol>")
    clock.set(NOW + timedelta(seconds=10))
    await slack.command("/deadline extend D1 to 2026-11-30T09:00-05:00 because BAFO under review")
    clock.set(NOW + timedelta(seconds=30))
    await slack.command("/deadline move D1 to 2026-11-29T12:00-05:00 because counsel asked")


async def test_extend_then_move_is_one_direct_message_to_each_asked_but_the_actor(
    slack: SlackWorld, clock: ManualClock
) -> None:
    await ask_and_reschedule(slack, clock)
    repository = slack.runtime.repository
    sender = NoticeSender(
        outbox=repository, deadlines=repository, gateways=slack.runtime.gateways, clock=clock
    )
    clock.set(NOW + timedelta(seconds=70) - LATE)
    assert await sender.run_once() == 0
    clock.set(NOW + timedelta(seconds=70) + LATE)
    assert await sender.run_once() == 2

    dms = told(slack)
    assert sorted(dm.params["channel"] for dm in dms) == ["U2", "U3"]  # not U1, who typed
    for dm in dms:
        assert dm.token == "xoxb-single-workspace"
        text = shown(dm.params)
        assert "Update on D1 Signed usage agreement in <#C1>" in text
        assert (
            f"• <@U1> extended it from {date(FRIDAY_5PM, 'Fri 27 Nov 2026 17:00 EST')} "
            f"to {date(MONDAY_9AM, 'Mon 30 Nov 2026 09:00 EST')} because BAFO under review\n"
            f"• <@U1> moved it earlier from {date(MONDAY_9AM, 'Mon 30 Nov 2026 09:00 EST')} "
            f"to {date(SUNDAY_NOON, 'Sun 29 Nov 2026 12:00 EST')} because counsel asked"
        ) in text
        assert "_3 days left_" in text  # Sunday noon, from Thursday 12:01
        assert "day 5 hours" not in text and "days 21 hours" not in text
        assert dm.params["text"].endswith("Due Sun 29 Nov 2026 12:00 EST (3 days left)")
    assert await sender.run_once() == 0


async def test_the_asked_hear_of_a_new_offer_but_not_whoever_put_it_down(
    slack: SlackWorld, clock: ManualClock
) -> None:
    await slack.command("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    await slack.command("/position ask D1 <@U1|alice> <@U2|bob>")
    clock.set(NOW + timedelta(seconds=10))
    await slack.command("/offer D1 Best and final offer https://example.com/bafo", user_id="U2")
    repository = slack.runtime.repository
    sender = NoticeSender(
        outbox=repository, deadlines=repository, gateways=slack.runtime.gateways, clock=clock
    )
    clock.set(NOW + timedelta(seconds=71))
    assert await sender.run_once() == 1
    [dm] = told(slack)
    assert dm.params["channel"] == "U1"  # U2 put the offer down
    text = shown(dm.params)
    assert "Update on D1 Signed usage agreement in <#C1>" in text
    assert "• <@U2> put a new offer on the table: Best and final offer (example.com)" in text


async def test_the_running_dispatcher_tells_the_asked_of_a_cancellation(
    slack: SlackWorld, clock: ManualClock
) -> None:
    runtime = slack.runtime
    async with running_dispatcher(runtime):
        await ask_and_reschedule(slack, clock)
        clock.set(NOW + timedelta(seconds=70) + LATE)
        runtime.changed()
        await slack.api.wait_for("chat.postMessage", where=update, count=2)
        clock.set(NOW + timedelta(minutes=10))
        await slack.command("/deadline cancel D1")
        clock.set(NOW + timedelta(minutes=11) + LATE)
        runtime.changed()
        await slack.api.wait_for("chat.postMessage", where=update, count=4)
    first, second = told(slack)[:2], told(slack)[2:]
    assert sorted(dm.params["channel"] for dm in first) == ["U2", "U3"]
    assert sorted(dm.params["channel"] for dm in second) == ["U2", "U3"]
    for dm in second:
        text = shown(dm.params)
        assert "• <@U1> cancelled it" in text and "extended" not in text
        assert "cancelled" in text and "left" not in text
    assert len(told(slack)) == 4


def test_the_longest_notice_stays_inside_block_kit_limits() -> None:
    deadline = Deadline(
        id=1,
        workspace_id="slack:T1",
        number=1,
        channel_id="C1",
        platform="slack",
        title="T" * 200,
        due_at=SUNDAY_NOON,
        tz="America/New_York",
        owner_id="U1",
        status=DeadlineStatus.OPEN,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=NOW,
        updated_at=NOW,
    )
    changes = [
        Change(
            kind=ChangeKind.MOVED_LATER,
            at=NOW,
            actor_id="U1",
            previous_due=FRIDAY_5PM,
            new_due=MONDAY_9AM,
            reason="r" * REASON_MAX,
        )
        for _ in range(25)
    ]
    message = views.notice_message(deadline, changes=changes, user_id="U2", now=NOW)
    rendered = render_message(message, now=NOW)
    check_message(rendered)
    shown_text = shown(rendered)
    assert "15 earlier changes" in shown_text
    assert shown_text.count("moved it later from") == views.NOTICE_LIMIT
