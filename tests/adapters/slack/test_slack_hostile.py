"""Hostile Slack input changes nothing: unsigned requests get 401, signed but malformed
or ill-typed ones 400, never a 500 or a traceback in the log; and a signed request
replayed within five minutes is acknowledged without running again."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.clock import ManualClock
from bot.domain import EventKind
from bot.views import ACTION_STANCE
from tests.adapters.slack.slack_world import SlackWorld
from tests.fakes.signing import event_body, signed_headers, slash_command_body

ISO_DUE = "2026-11-27T17:00-05:00"
FORM = "application/x-www-form-urlencoded"


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "Traceback" not in record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()


async def nothing_changed(slack: SlackWorld) -> None:
    assert slack.api.calls == []
    assert not await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")


def block_actions(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "u1", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "trigger_id": "trigger-press",
        "container": {"type": "message", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "negotiation"},
        "actions": [{"action_id": f"{ACTION_STANCE}#0", "value": "1|support", "type": "button"}],
    }
    return payload | changes


def view_submission(**view_changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": "VMODAL",
        "callback_id": "parley.position",
        "private_metadata": json.dumps({"v": "1", "c": "C1", "r": ""}),
        "blocks": [{"type": "input", "block_id": "stance"}],
        "state": {"values": {"stance": {"a": {"type": "static_select", "selected_option": None}}}},
    }
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1", "username": "u1", "team_id": "T1"},
        "view": view | view_changes,
    }


ILL_TYPED: dict[str, dict[str, Any]] = {
    "actions a string": block_actions(actions="x"),
    "actions empty": block_actions(actions=[]),
    "an action a number": block_actions(actions=[5]),
    "action_id a number": block_actions(actions=[{"action_id": 5, "value": "1"}]),
    "value an object": block_actions(actions=[{"action_id": ACTION_STANCE, "value": {}}]),
    "user a string": block_actions(user="U1"),
    "user without id": block_actions(user={"name": "u1"}),
    "team a number": block_actions(team=5),
    "channel a list": block_actions(channel=["C1"]),
    "container a string": block_actions(container="x"),
    "view a string": {"type": "view_submission", "user": {"id": "U1"}, "view": "x"},
    "state values a string": view_submission(state={"values": "x"}),
    "an input a string": view_submission(state={"values": {"stance": "x"}}),
    "an element a list": view_submission(state={"values": {"stance": {"a": []}}}),
    "selected_option a string": view_submission(
        state={"values": {"stance": {"a": {"selected_option": "x"}}}}
    ),
    "private_metadata a number": view_submission(private_metadata=5),
    "blocks a string": view_submission(blocks="x"),
    "a block a number": view_submission(blocks=[1]),
    "block_id a number": view_submission(blocks=[{"type": "input", "block_id": 1}]),
    "payload a list": [1, 2],  # type: ignore[dict-item]
}


@pytest.mark.parametrize("case", list(ILL_TYPED))
async def test_a_signed_ill_typed_interaction_gets_400_and_changes_nothing(
    slack: SlackWorld, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await slack.interact(ILL_TYPED[case])
    assert response.status == 400
    await nothing_changed(slack)
    no_traceback(caplog)


async def test_a_signed_event_without_an_event_object_gets_400(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.loads(event_body({"type": "app_home_opened", "user": "U1", "tab": "home"}))
    for broken in ({**body, "event": "x"}, {**body, "event_id": 5}, {**body, "authorizations": 5}):
        response = await slack.post(json.dumps(broken), content_type="application/json")
        assert response.status == 400
    await nothing_changed(slack)
    no_traceback(caplog)


MALFORMED = {
    "payload={x": "payload=%7Bx",
    "payload not JSON at all": "payload=%5B%5B",
    "JSON nested too deep": "payload=" + "%5B" * 50_000 + "%5D" * 50_000,
    "a JSON body that does not parse": "{x",
    "slash command without a channel": urlencode(
        {"command": "/deadline", "text": "list", "team_id": "T1", "user_id": "U1"}
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_body_gets_401_unsigned_and_400_signed(
    slack: SlackWorld, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = MALFORMED[case]
    unsigned = await slack.http.post("/slack/events", data=body, headers={"Content-Type": FORM})
    assert unsigned.status == 401
    signed = await slack.post(body)
    assert signed.status == 400
    await nothing_changed(slack)
    no_traceback(caplog)


async def test_a_body_that_is_not_utf8_gets_400(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    raw = b"payload=\xff\xfe"
    headers = signed_headers(raw.decode("latin-1"), secret=slack.secret)
    response = await slack.http.post("/slack/events", data=raw, headers=headers)
    assert response.status in (400, 401)  # the signature covers text Slack never sends
    await nothing_changed(slack)
    no_traceback(caplog)


@pytest.mark.parametrize("timestamp", ["abc", "", "-1", "1e9", "99999999999999999999999"])
async def test_a_timestamp_that_is_no_number_gets_401(
    slack: SlackWorld, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = slash_command_body(command="/deadline", text="list")
    headers = signed_headers(body, secret=slack.secret) | {"X-Slack-Request-Timestamp": timestamp}
    response = await slack.http.post("/slack/events", data=body, headers=headers)
    assert response.status == 401
    await nothing_changed(slack)
    no_traceback(caplog)


# --- replays ------------------------------------------------------------------------
async def test_three_replays_of_one_signed_add_make_one_deadline(slack: SlackWorld) -> None:
    body = slash_command_body(
        command="/deadline",
        text=f"add Signed usage agreement due {ISO_DUE}",
        response_url=slack.next_response_url(),
    )
    headers = signed_headers(body, secret=slack.secret)
    answers = []
    for _ in range(4):
        response = await slack.http.post("/slack/events", data=body, headers=headers)
        answers.append((response.status, await response.text()))
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert json.loads(answers[0][1])["response_type"] == "in_channel"
    assert [text for _, text in answers[1:]] == ["", "", ""]
    deadlines = await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")
    assert len(deadlines) == 1


async def test_a_replay_after_the_window_runs_again(slack: SlackWorld) -> None:
    body = slash_command_body(command="/deadline", text=f"add Review due {ISO_DUE}")
    headers = signed_headers(body, secret=slack.secret)
    await slack.http.post("/slack/events", data=body, headers=headers)
    clock = slack.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=5, seconds=1))
    await slack.http.post("/slack/events", data=body, headers=headers)
    assert len(await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")) == 2


async def test_a_replayed_button_press_runs_once(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    [deadline] = await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")
    payload = block_actions(
        actions=[
            {"action_id": f"{ACTION_STANCE}#0", "value": f"{deadline.id}|support", "type": "button"}
        ],
        response_url=slack.api.response_url("press"),
    )
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(body, secret=slack.secret)
    for _ in range(3):
        response = await slack.http.post("/slack/events", data=body, headers=headers)
        assert response.status == 200
    await slack.adapter.tasks.drain(5)
    events = await slack.runtime.repository.list_events(
        workspace_id="slack:T1", deadline_id=deadline.id
    )
    assert sum(1 for event in events if event.kind is EventKind.POSITION_RECORDED) == 1


async def test_slacks_retries_of_one_event_run_it_once(slack: SlackWorld) -> None:
    event = {"type": "app_home_opened", "user": "U1", "tab": "home"}
    for retry in range(3):
        body = event_body(event, event_id="EvHome1")
        headers = signed_headers(body, secret=slack.secret, content_type="application/json")
        headers["X-Slack-Retry-Num"] = str(retry)
        assert (await slack.http.post("/slack/events", data=body, headers=headers)).status == 200
    await slack.adapter.tasks.drain(5)
    assert len(slack.api.calls_to("views.publish")) == 1
