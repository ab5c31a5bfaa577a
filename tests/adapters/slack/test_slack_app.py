"""The Slack app end to end: signed requests into Parley's real aiohttp app, replies
read from the ack bodies and from the local fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack.commands import WORKING
from adapters.slack.gateway import SlackGateway
from adapters.slack.tasks import TaskSet
from bot import views
from bot.domain import DeadlineStatus
from tests.adapters.slack.blockkit import check_message, check_view, texts
from tests.adapters.slack.slack_world import SlackWorld
from tests.fakes.signing import signature, slash_command_body
from tests.fakes.slack_api import RESPONSE_URL, Call

ISO_DUE = "2026-11-27T17:00-05:00"
ISO_UNIX = int(datetime(2026, 11, 27, 22, 0, tzinfo=UTC).timestamp())


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


def press_payload(
    world: SlackWorld,
    *,
    user_id: str,
    action_id: str,
    value: str,
    channel_id: str | None = None,
    response_url: str = "",
    trigger_id: str = "trigger-press",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": world.team_id},
        "api_app_id": "A1",
        "team": {"id": world.team_id, "domain": "acme"},
        "trigger_id": trigger_id,
        "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
    }
    if channel_id is None:
        payload["container"] = {"type": "view", "view_id": "VHOME"}
    else:
        payload["container"] = {"type": "message", "channel_id": channel_id}
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["response_url"] = response_url
    return payload


def submission_payload(
    world: SlackWorld, view: dict[str, Any], *, user_id: str, values: dict[str, str | None]
) -> dict[str, Any]:
    """What Slack sends when ``user_id`` submits the modal ``view`` with these values."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        if element["type"] == "static_select":
            option = (
                None
                if value is None
                else {"value": value, "text": {"type": "plain_text", "text": value}}
            )
            entry = {"type": "static_select", "selected_option": option}
        else:
            entry = {"type": "plain_text_input", "value": value}
        state[block["block_id"]] = {element["action_id"]: entry}
    return {
        "type": "view_submission",
        "team": {"id": world.team_id, "domain": "acme"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": world.team_id},
        "api_app_id": "A1",
        "trigger_id": "trigger-submit",
        "view": {**view, "id": "VMODAL", "team_id": world.team_id, "state": {"values": state}},
    }


def action_ids(call: Call) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in call.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


# --- commands --------------------------------------------------------------------
async def test_help_and_mistakes_are_ephemeral_in_the_ack(slack: SlackWorld) -> None:
    for line in ("/deadline help", "/position help", "/deadline frobnicate", "/deadline show D9"):
        ack = await slack.command(line)
        assert ack["response_type"] == "ephemeral", line
    assert "/deadline add" in shown(slack.acks[0])
    assert "/position ask" in shown(slack.acks[1])
    assert "D9" in shown(slack.acks[3])
    assert slack.api.calls_to("chat.postMessage") == []


async def test_add_with_an_iso_time_is_posted_in_the_channel_by_the_ack(slack: SlackWorld) -> None:
    ack = await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    assert ack["response_type"] == "in_channel"
    text = shown(ack)
    assert "*D1* Signed usage agreement" in text
    assert f"<!date^{ISO_UNIX}^{{date_short_pretty}} at {{time}}|" in text
    assert "1 day 5 hours left" in text
    assert "<@U1>" in text
    [deadline] = await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")
    assert deadline.channel_id == "C1" and deadline.platform == "slack"


async def test_natural_language_times_are_read_in_the_users_zone(slack: SlackWorld) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    ack = await slack.command("/deadline add Review draft due tomorrow 9am")
    nine_in_new_york = int(datetime(2026, 11, 27, 14, 0, tzinfo=UTC).timestamp())
    assert f"<!date^{nine_in_new_york}^" in shown(ack)
    await slack.command("/deadline add Second review due tomorrow 10am")
    await slack.command("/deadline list")
    assert len(slack.api.calls_to("users.info")) == 1  # cached per user


async def test_a_failed_zone_lookup_reads_as_utc(slack: SlackWorld) -> None:
    slack.api.fail("users.info", error="user_not_found")
    ack = await slack.command("/deadline add Review draft due tomorrow 9am")
    nine_utc = int(datetime(2026, 11, 27, 9, 0, tzinfo=UTC).timestamp())
    assert f"<!date^{nine_utc}^" in shown(ack)


async def test_deadline_commands_round_trip(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command(f"/deadline add Term sheet due {ISO_DUE.replace('27', '30')}")

    listing = await slack.command("/deadline list")
    assert listing["response_type"] == "ephemeral"
    assert "Open deadlines (2)" in shown(listing)

    details = await slack.command("/deadline show D1")
    assert details["response_type"] == "ephemeral"
    assert "History" in shown(details)

    extended = await slack.command(
        "/deadline extend D1 to 2026-11-30T09:00-05:00 because best and final offer under review"
    )
    assert extended["response_type"] == "in_channel"
    assert "because best and final offer under review" in shown(extended)

    reminders = await slack.command("/deadline remind D1 2d,1h")
    assert reminders["response_type"] == "ephemeral"
    assert "2d, 1h" in shown(reminders)

    done = await slack.command("/deadline done D1")
    assert done["response_type"] == "in_channel" and "marked done" in shown(done)
    cancelled = await slack.command("/deadline cancel D2")
    assert cancelled["response_type"] == "in_channel" and "cancelled" in shown(cancelled)

    everything = await slack.command("/deadline list all")
    assert "All deadlines (2)" in shown(everything)
    assert "[met]" in shown(everything) and "[cancelled]" in shown(everything)

    feed = await slack.command("/deadline feed")
    assert feed["response_type"] == "ephemeral"

    statuses = {
        d.number: d.status
        for d in await slack.runtime.repository.list_deadlines(workspace_id="slack:T1")
    }
    assert statuses == {1: DeadlineStatus.MET, 2: DeadlineStatus.CANCELLED}


async def test_positions_recorded_by_command_show_in_the_matrix(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    recorded = await slack.command(
        "/position D1 oppose as Anthropic No mass surveillance of Americans"
    )
    assert recorded["response_type"] == "in_channel"
    assert "Anthropic opposes D1" in shown(recorded)
    await slack.command(
        '/position D1 support as "Department of Defense" License for all lawful use'
    )
    matrix = await slack.command("/position list D1")
    assert matrix["response_type"] == "ephemeral"
    text = shown(matrix)
    assert "*Anthropic*\noppose — No mass surveillance of Americans" in text
    assert "*Department of Defense*\nsupport" in text


# --- the position modal ------------------------------------------------------------
async def test_position_modal_opens_validates_inline_and_records(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    ack = await slack.command("/position D1")
    assert ack == {}  # nothing in the channel: the modal is the answer
    [opened] = await slack.api.wait_for("views.open")
    assert opened.params["trigger_id"] == "trigger-2"
    view = opened.params["view"]
    check_view(view)
    assert view["callback_id"] == views.FORM_POSITION
    metadata = json.loads(view["private_metadata"])
    assert metadata == {"v": "1", "c": "C1", "r": slack.api.response_url("r2")}

    missing = submission_payload(slack, view, user_id="U1", values={"stance": None})
    response = await slack.interact(missing)
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"stance"}

    too_long = submission_payload(
        slack, view, user_id="U1", values={"stance": "support", "terms": "x" * 3001}
    )
    answer = await (await slack.interact(too_long)).json()
    assert answer == {
        "response_action": "errors",
        "errors": {"terms": "Terms are 3001 characters; the limit is 3000."},
    }
    assert (
        await slack.runtime.repository.list_positions(workspace_id="slack:T1", deadline_id=1) == []
    )

    good = submission_payload(
        slack,
        view,
        user_id="U1",
        values={"stance": "conditional", "party": "", "terms": "Only with an audit clause"},
    )
    response = await slack.interact(good)
    assert response.status == 200 and await response.text() == ""  # closes the modal
    [posted] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "r2")
    assert posted.params["response_type"] == "in_channel"
    check_message(posted.params)
    assert "<@U1> is conditional on D1" in shown(posted.params)
    [position] = await slack.runtime.repository.list_positions(
        workspace_id="slack:T1", deadline_id=1
    )
    assert position.terms == "Only with an audit clause"


async def test_a_stale_modal_reports_inline(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command("/position D1")
    [opened] = await slack.api.wait_for("views.open")
    await slack.command("/deadline cancel D1")
    answer = await (
        await slack.interact(
            submission_payload(
                slack, opened.params["view"], user_id="U1", values={"stance": "support"}
            )
        )
    ).json()
    assert answer["response_action"] == "errors"
    assert "cancelled" in answer["errors"]["stance"]


# --- asking, DMs and their buttons ---------------------------------------------------
async def test_ask_sends_dms_whose_buttons_record_answers(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    ack = await slack.command("/position ask D1 <@U2|bob> <@U3|carol>")
    assert ack["response_type"] == "in_channel"
    assert "<@U1> asked <@U2>, <@U3> for their positions on D1" in shown(ack)

    dms = await slack.api.wait_for("chat.postMessage", count=2)
    assert sorted(c.params["channel"] for c in dms) == ["U2", "U3"]
    for dm in dms:
        check_message(dm.params)
        assert dm.token == "xoxb-single-workspace"
        assert "<@U1> asks for your position on D1" in shown(dm.params)
    buttons = action_ids(dms[0])
    support = next(a for a in buttons if a[1] == "1|support")
    add_terms = next(a for a in buttons if a[1] == "1" and a[0].startswith(views.ACTION_OPEN_FORM))

    # Bob answers with a stance button in his DM: the channel hears it, the DM confirms.
    response = await slack.interact(
        press_payload(
            slack,
            user_id="U2",
            channel_id="DU2",
            action_id=support[0],
            value=support[1],
            response_url=slack.api.response_url("dm-bob"),
        )
    )
    assert response.status == 200
    [announced] = await slack.api.wait_for(
        "chat.postMessage", where=lambda c: c.params["channel"] == "C1"
    )
    assert "<@U2> supports D1" in shown(announced.params)
    [confirmed] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "dm-bob")
    assert "<@U2> supports D1" in shown(confirmed.params)

    matrix = await slack.command("/position list D1")
    assert "1 of 2 asked have answered; waiting for <@U3>" in shown(matrix)

    # Carol adds terms: the button opens the modal; its result goes to the deadline's channel.
    await slack.interact(
        press_payload(
            slack,
            user_id="U3",
            channel_id="DU3",
            action_id=add_terms[0],
            value=add_terms[1],
            response_url=slack.api.response_url("dm-carol"),
            trigger_id="trigger-carol",
        )
    )
    [opened] = await slack.api.wait_for("views.open")
    assert opened.params["trigger_id"] == "trigger-carol"
    check_view(opened.params["view"])
    assert json.loads(opened.params["view"]["private_metadata"]) == {"v": "1", "c": "C1", "r": ""}
    submitted = submission_payload(
        slack, opened.params["view"], user_id="U3", values={"stance": "oppose", "terms": "No"}
    )
    assert await (await slack.interact(submitted)).text() == ""
    await slack.api.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == "C1" and "<@U3> opposes D1" in c.params["text"],
    )
    matrix = await slack.command("/position list D1")
    assert "2 of 2 asked have answered" in shown(matrix)


async def test_a_dm_that_cannot_be_sent_is_reported_to_the_asker(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    slack.api.fail("chat.postMessage", error="cannot_dm_bot")
    await slack.command("/position ask D1 <@UBOT2|robot>")
    key = slack.response_key()
    [notice] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == key)
    assert notice.params["response_type"] == "ephemeral"
    assert "could not send a direct message to <@UBOT2>" in notice.params["text"]


async def test_a_channel_the_bot_is_not_in_falls_back_to_a_dm(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command("/position ask D1 <@U2|bob>")
    await slack.api.wait_for("chat.postMessage")  # the ask's DM to U2
    slack.api.fail("chat.postMessage", error="not_in_channel")
    await slack.interact(
        press_payload(
            slack, user_id="U2", channel_id="DU2", action_id="parley_stance#3.0", value="1|support"
        )
    )
    [dm] = await slack.api.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == "U2" and "could not post" in c.params["text"],
    )
    assert dm.params["text"].startswith("I could not post in <#C1>")


async def test_other_buttons_are_only_acknowledged(slack: SlackWorld) -> None:
    response = await slack.interact(
        press_payload(slack, user_id="U1", channel_id="C1", action_id="parley_ics#4.0", value="")
    )
    assert response.status == 200
    await slack.command("/deadline help")  # a later request, so the press had its chance
    assert [c.method for c in slack.api.calls if c.method != "auth.test"] == []


# --- App Home ------------------------------------------------------------------------
async def test_app_home_shows_owned_and_asked_deadlines(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command(f"/deadline add Term sheet due {ISO_DUE}", user_id="U3")
    await slack.command("/position ask D1 <@U3|carol>")

    home_event = {"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"}
    assert (await slack.event(home_event)).status == 200
    [published] = await slack.api.wait_for("views.publish")
    assert published.params["user_id"] == "U3"
    view = published.params["view"]
    check_view(view)
    text = shown(view)
    assert "Your open deadlines (1)" in text and "*D2* Term sheet in <#C1>" in text
    assert "Your position is asked on (1)" in text and "*D1* Signed usage agreement" in text

    # Answering from the Home tab records it, announces it in the channel and refreshes the tab.
    buttons = [
        (e["action_id"], e["value"])
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    oppose = next(b for b in buttons if b[1] == "1|oppose")
    await slack.interact(press_payload(slack, user_id="U3", action_id=oppose[0], value=oppose[1]))
    await slack.api.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == "C1" and "opposes" in c.params["text"],
    )
    refreshed = await slack.api.wait_for("views.publish", count=2)
    assert "Your position is asked on (0)" in shown(refreshed[1].params["view"])


async def test_other_tabs_publish_nothing(slack: SlackWorld) -> None:
    await slack.event(
        {"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "messages"}
    )
    await slack.command("/deadline help")
    assert slack.api.calls_to("views.publish") == []


# --- request verification ------------------------------------------------------------
@pytest.mark.parametrize("case", ["forged", "missing", "stale", "other secret"])
async def test_unverified_requests_get_401_and_change_nothing(slack: SlackWorld, case: str) -> None:
    body = slash_command_body(
        command="/deadline",
        text=f"add Forged due {ISO_DUE}",
        response_url=slack.api.response_url("forged"),
    )
    now = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if case == "forged":
        headers |= {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64}
    elif case == "stale":
        stale = now - 6 * 60
        headers |= {
            "X-Slack-Request-Timestamp": str(stale),
            "X-Slack-Signature": signature(body, secret=slack.secret, timestamp=stale),
        }
    elif case == "other secret":
        headers |= {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": signature(body, secret="not-the-secret", timestamp=now),
        }
    response = await slack.http.post("/slack/events", data=body, headers=headers)
    assert response.status == 401
    assert await slack.runtime.repository.list_deadlines(workspace_id="slack:T1") == []
    assert slack.api.calls == []


async def test_a_fresh_signature_within_five_minutes_is_accepted(slack: SlackWorld) -> None:
    body = slash_command_body(command="/deadline", text="help")
    response = await slack.post(body, timestamp=int(time.time()) - 4 * 60)
    assert response.status == 200


async def test_url_verification_answers_the_challenge(slack: SlackWorld) -> None:
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"})
    response = await slack.post(body, content_type="application/json")
    assert response.status == 200
    assert (await response.json())["challenge"] == "abc123"


# --- timing and lifecycle --------------------------------------------------------------
async def test_a_slow_command_acks_at_once_and_answers_through_the_response_url(
    slack: SlackWorld,
) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    # Another process holds SQLite's write lock, so writes wait past the ack budget.
    database = slack.runtime.settings.database_url.split(":///", 1)[1]
    other_process = sqlite3.connect(database, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    slack.adapter.ack_budget = 0.2
    try:
        ack = await slack.command("/deadline remind D1 1h")
        assert ack == {"response_type": "ephemeral", "text": WORKING}
        first = slack.response_key()
        ack = await slack.command(f"/deadline add Term sheet due {ISO_DUE}")
        assert ack["text"] == WORKING
        second = slack.response_key()
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    [reply] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == first)
    assert reply.params["response_type"] == "ephemeral"
    check_message(reply.params)
    assert "Reminders for D1 set to 1h" in shown(reply.params)
    [reply] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == second)
    assert reply.params["response_type"] == "in_channel"
    assert "*D2* Term sheet" in shown(reply.params)


async def test_the_gateway_is_registered_while_the_app_runs(slack: SlackWorld) -> None:
    assert isinstance(slack.runtime.gateways["slack"], SlackGateway)


async def test_task_set_drains_what_finishes_and_cancels_what_does_not() -> None:
    tasks = TaskSet()
    release = asyncio.Event()
    finished: list[str] = []

    async def quick() -> None:
        await release.wait()
        finished.append("quick")

    async def stuck() -> None:
        await asyncio.Event().wait()

    tasks.spawn(quick(), name="quick")
    stuck_task = tasks.spawn(stuck(), name="stuck")
    release.set()
    await tasks.drain(within=0.2)
    assert finished == ["quick"]
    assert stuck_task.cancelled()
    assert len(tasks) == 0


async def test_a_modal_that_cannot_open_comes_as_a_button(slack: SlackWorld) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    slack.api.fail("views.open", error="expired_trigger_id")
    assert await slack.command("/position D1") == {}
    key = slack.response_key()
    [reply] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == key)
    assert reply.params["response_type"] == "ephemeral"
    [(action_id, value)] = [
        (e["action_id"], e["value"])
        for b in reply.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert action_id.startswith(views.ACTION_OPEN_FORM) and value == "1"


async def test_a_slow_zone_lookup_does_not_hold_up_the_command(slack: SlackWorld) -> None:
    slack.api.set_user("U1", tz="America/New_York")
    release = slack.api.hold("users.info")
    ack = await slack.command("/deadline add Review draft due tomorrow 9am")
    nine_utc = int(datetime(2026, 11, 27, 9, 0, tzinfo=UTC).timestamp())
    assert f"<!date^{nine_utc}^" in shown(ack)  # read as UTC while Slack was silent
    release.set()
    # The lookup went on in the background; once it is answered the user's zone is used.
    async with asyncio.timeout(5):
        await slack.adapter.timezones.settled()
    ack = await slack.command("/deadline add Second review due tomorrow 9am")
    nine_in_new_york = int(datetime(2026, 11, 27, 14, 0, tzinfo=UTC).timestamp())
    assert f"<!date^{nine_in_new_york}^" in shown(ack)
    assert len(slack.api.calls_to("users.info")) == 1


async def test_the_app_home_brief_button_sends_a_new_private_link_each_time(
    slack: SlackWorld,
) -> None:
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}", user_id="U3")
    home_event = {"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"}
    await slack.event(home_event)
    [published] = await slack.api.wait_for("views.publish")
    check_view(published.params["view"])
    [brief] = [
        (e["action_id"], e["value"])
        for b in published.params["view"]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Brief"
    ]
    for count in (1, 2):  # two presses (a replayed request would run once)
        press = press_payload(
            slack, user_id="U3", action_id=brief[0], value=brief[1], trigger_id=f"t{count}"
        )
        await slack.interact(press)
        sent = await slack.api.wait_for(
            "chat.postMessage", count=count, where=lambda c: "/brief/" in c.params["text"]
        )
    # The App Home has no conversation: each link comes in a DM to the presser, never C1.
    assert [c.params["channel"] for c in sent] == ["U3", "U3"]
    first, second = (c.params["text"].split("/brief/", 1)[1].split()[0] for c in sent)
    assert first != second
