"""Time truth through signed Slack requests: extend and move, bare times, vague-time buttons,
history in each viewer's zone, and alerts sent a few milliseconds after their instants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import views
from bot.clock import ManualClock
from bot.scheduler import Dispatcher
from tests.adapters.slack.blockkit import texts
from tests.adapters.slack.slack_world import SlackWorld
from tests.fakes.slack_api import RESPONSE_URL

SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 10:00 in New York
FRIDAY_4_DEC_5PM = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


def token(at: datetime) -> str:
    """The start of the Slack date token for ``at`` (each viewer's own zone)."""
    return f"<!date^{int(at.timestamp())}^"


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def click(world: SlackWorld, button: dict[str, Any], *, user_id: str, key: str) -> dict[str, Any]:
    """A click on a button of an ephemeral message in the channel."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": world.team_id},
        "api_app_id": "A1",
        "team": {"id": world.team_id, "domain": "acme"},
        "trigger_id": f"trigger-{key}",
        "container": {"type": "message", "channel_id": world.channel_id, "is_ephemeral": True},
        "channel": {"id": world.channel_id, "name": "negotiation"},
        "response_url": world.api.response_url(key),
        "actions": [
            {
                "action_id": button["action_id"],
                "value": button["value"],
                "type": "button",
                "block_id": "b",
            }
        ],
    }


async def test_extend_is_later_only_and_move_goes_either_way(
    slack: SlackWorld, clock: ManualClock
) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    await slack.command("/deadline add Signed usage agreement due 2026-12-04 17:00")
    clock.set(SATURDAY)
    ack = await slack.command(
        "/deadline extend D1 to Monday 09:00 because best and final offer under review"
    )
    assert ack["response_type"] == "in_channel"
    text = shown(ack)
    assert f"<@U1> extended D1 (was {token(FRIDAY_4_DEC_5PM)}" in text
    assert "because best and final offer under review" in text
    monday_7_dec_9am = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # the Monday after that Friday
    assert f"Due {token(monday_7_dec_9am)}" in text

    refused = await slack.command("/deadline extend D1 to tomorrow 9am")
    assert refused["response_type"] == "ephemeral"
    assert "extend only moves a deadline later" in shown(refused)
    assert "/deadline move D1 to tomorrow 9am" in shown(refused)

    moved = await slack.command("/deadline move D1 to Thursday 17:00 because the board meets")
    assert moved["response_type"] == "in_channel"
    assert "<@U1> moved D1 earlier (was " in shown(moved)
    assert "because the board meets" in shown(moved)
    thursday_3_dec_5pm = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    assert f"Due {token(thursday_3_dec_5pm)}" in shown(moved)


async def test_a_bare_time_is_the_next_one_in_the_users_zone(
    slack: SlackWorld, clock: ManualClock
) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))  # Monday 19:30 in New York
    ack = await slack.command("/deadline add Counter-offer due 5pm")
    assert ack["response_type"] == "in_channel"
    tuesday_5pm = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    assert f"Due {token(tuesday_5pm)}" in shown(ack)
    assert "_21 hours 30 minutes left_" in shown(ack)


async def test_vague_time_buttons_run_once_for_the_person_who_typed(slack: SlackWorld) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    ack = await slack.command("/deadline add Signed usage agreement due Friday evening")
    assert ack["response_type"] == "ephemeral"
    assert "Did you mean Fri 27 Nov 2026 18:00 EST (America/New_York)?" in shown(ack)
    choices = buttons(ack)
    assert [b["text"]["text"] for b in choices] == [
        "Fri 27 Nov 17:00",
        "Fri 27 Nov 18:00",
        "Fri 27 Nov 21:00",
        "Fri 27 Nov 23:59",
    ]
    assert all(b["action_id"].startswith(views.ACTION_CHOOSE_TIME) for b in choices)
    carried = json.loads(choices[1]["value"])
    assert (carried["u"], carried["c"]) == ("U1", "C1")
    assert carried["t"] == "add Signed usage agreement due 2026-11-27T18:00-05:00"
    assert await slack.runtime.repository.list_deadlines(workspace_id="slack:T1") == []

    response = await slack.interact(click(slack, choices[1], user_id="U2", key="bob"))
    assert response.status == 200
    [refused] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "bob")
    assert "These choices were offered to <@U1>" in shown(refused.params)

    await slack.interact(click(slack, choices[1], user_id="U1", key="alex"))
    [created] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "alex")
    assert created.params["response_type"] == "in_channel"
    six_pm = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    assert f"Due {token(six_pm)}" in shown(created.params)

    await slack.interact(click(slack, choices[2], user_id="U1", key="again"))
    [again] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "again")
    assert "already been used" in shown(again.params)
    assert len(await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")) == 1


async def test_an_ambiguous_zone_gets_a_button_per_zone(slack: SlackWorld) -> None:
    ack = await slack.command("/deadline add Signed usage agreement due Friday 5pm IST")
    assert ack["response_type"] == "ephemeral"
    assert "could mean India (Asia/Kolkata), Israel (Asia/Jerusalem) or Ireland" in shown(ack)
    assert [b["text"]["text"] for b in buttons(ack)] == ["India", "Israel", "Ireland"]


async def test_history_uses_date_tokens_not_utc(slack: SlackWorld, clock: ManualClock) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    await slack.command("/deadline add Signed usage agreement due 2026-12-04T17:00-05:00")
    clock.set(datetime(2026, 11, 28, 3, 46, tzinfo=UTC))
    await slack.command("/deadline extend D1 to 2026-12-07T09:00-05:00")
    history = shown(await slack.command("/deadline show D1"))
    assert f"{token(clock.now())}{{date_short_pretty}} at {{time}}|Fri 27 Nov 2026 22:46 EST>" in (
        history
    )
    assert " — extended by <@U1> from " in history
    assert "UTC" not in history
    assert history.count("Dec 2026 17:00 EST") == 2  # written for feeds: created, extended from


async def test_alerts_a_few_ms_late_name_their_offset_and_the_missed_deadline(
    slack: SlackWorld, clock: ManualClock
) -> None:
    await slack.command(
        "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00 remind 1d,1h,1m"
    )
    engine = Dispatcher(
        outbox=slack.runtime.repository,
        deadlines=slack.runtime.repository,
        gateways=slack.runtime.gateways,
        clock=clock,
        pacing={"slack": 0.0},
    )
    due = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    expected = [
        (timedelta(days=1), "⏰ 1 day until D1 is due", "_1 day left_"),
        (timedelta(hours=1), "⏰ 1 hour until D1 is due", "_1 hour left_"),
        (timedelta(minutes=1), "⏰ 1 minute until D1 is due", "_1 minute left_"),
        (timedelta(0), "🔔 Deadline reached — D1 is now missed: Signed usage agreement", ""),
    ]
    for offset, headline, left in expected:
        clock.set(due - offset + timedelta(milliseconds=3))
        assert await engine.run_once() == 1
        post = slack.api.calls_to("chat.postMessage")[-1].params
        assert post["channel"] == "C1"
        assert post["text"].startswith(headline)
        assert headline in shown(post) and left in shown(post)
