"""A deadline belongs to its Slack channel, through signed requests: from another channel
or a stranger's DM every command, button, form and time choice answers as for a deadline
that does not exist, changes nothing, and posts nothing anywhere; the people asked reach
it from their DMs and App Home, and what they do is announced in its channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot import views
from tests.adapters.slack.blockkit import texts
from tests.adapters.slack.slack_world import SlackWorld
from tests.builders import snapshot as snapshot_of
from tests.fakes.slack_api import RESPONSE_URL, Call

ISO_DUE = "2026-11-27T17:00-05:00"
RED_LINES = "No mass surveillance of Americans"
COMMANDS = [
    "/deadline show {ref}",
    "/deadline extend {ref} to 2026-11-30T09:00-05:00",
    "/deadline extend {ref} to Friday evening",
    "/deadline move {ref} to 2026-11-27T12:00-05:00",
    "/deadline done {ref}",
    "/deadline cancel {ref}",
    "/deadline remind {ref} 1h",
    "/deadline owners {ref}",
    "/deadline owners {ref} <@U9|mallory>",
    "/deadline owners {ref} remove <@U1|alex>",
    "/position {ref} support",
    "/position {ref} oppose as Anthropic all lawful use",
    "/position {ref}",
    "/position list {ref}",
    "/position ask {ref} <@U9|mallory>",
    "/offer {ref} Sneaky offer <https://example.com/x|x>",
    "/offer list {ref}",
]
# Calls that post, show or open something somewhere (lookups are fine).
VISIBLE = ("chat.postMessage", "chat.postEphemeral", "views.open", "views.publish", RESPONSE_URL)


def keyed(key: str) -> Callable[[Call], bool]:
    """Matches the fake's record of a response_url post with ``key``."""
    return lambda call: call.key == key


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


def visible(world: SlackWorld) -> list[tuple[str, str]]:
    return [
        (c.method, str(c.params.get("channel") or c.key)) for c in world.api.calls
        if c.method in VISIBLE
    ]  # fmt: skip


async def snapshot(world: SlackWorld) -> dict[str, Any]:
    return await snapshot_of(world.runtime.repository)


async def negotiation(slack: SlackWorld) -> None:
    """D1 in C1, owned by U1, with Anthropic's red lines; U2 is asked (and DMed)."""
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command(f"/position D1 oppose as Anthropic {RED_LINES}", user_id="U5")
    await slack.command("/position ask D1 <@U2|legal>")
    await slack.api.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "U2")


def press(
    world: SlackWorld, *, user_id: str, action_id: str, value: str, channel_id: str | None, key: str
) -> dict[str, Any]:
    """A click as Slack sends it: in a channel or DM (``channel_id``), or in the App Home."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": world.team_id},
        "api_app_id": "A1",
        "team": {"id": world.team_id, "domain": "acme"},
        "trigger_id": f"trigger-{key}",
        "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
    }
    if channel_id is None:
        payload["container"] = {"type": "view", "view_id": "VHOME"}
    else:
        payload["container"] = {"type": "message", "channel_id": channel_id}
        payload["channel"] = {"id": channel_id, "name": "x"}
        payload["response_url"] = world.api.response_url(key)
    return payload


@pytest.mark.parametrize("line", COMMANDS)
async def test_every_command_from_another_channel_reaches_nothing(
    slack: SlackWorld, line: str
) -> None:
    await negotiation(slack)
    before, posted = await snapshot(slack), visible(slack)
    for user_id in ("U9", "U1"):  # a stranger, and the owner himself
        for ref, nowhere in (("D1", "D7"), ('"Signed usage"', '"Zebra crossing"')):
            ack = await slack.command(line.format(ref=ref), user_id=user_id, channel_id="C9")
            unknown = await slack.command(
                line.format(ref=nowhere), user_id=user_id, channel_id="C9"
            )
            assert ack["response_type"] == "ephemeral", line
            text = shown(ack)
            assert "agreement" not in text and RED_LINES not in text and "U2" not in text
            assert text == shown(unknown).replace(nowhere.strip('"'), ref.strip('"'))
    await slack.command("/deadline help")  # a later request: anything the others spawned is done
    assert visible(slack) == posted
    assert await snapshot(slack) == before


async def test_buttons_and_forms_from_elsewhere_reach_nothing(slack: SlackWorld) -> None:
    await negotiation(slack)
    before, posted = await snapshot(slack), visible(slack)
    clicks = [
        ("C9", views.ACTION_STANCE + "#1.0", "1|support"),  # another channel
        ("D9", views.ACTION_STANCE + "#1.0", "1|support"),  # the stranger's own DM
        ("C9", views.ACTION_OPEN_FORM + "#5.0", "1"),
        ("D9", views.ACTION_OPEN_FORM + "#5.0", "1"),
        (None, views.ACTION_STANCE + "#1.0", "1|oppose"),  # the App Home
    ]
    for n, (channel, action_id, value) in enumerate(clicks):
        key = f"stranger-{n}"
        payload = press(
            slack, user_id="U9", action_id=action_id, value=value, channel_id=channel, key=key
        )
        assert (await slack.interact(payload)).status == 200
        if channel is None:
            [told] = await slack.api.wait_for(
                "chat.postMessage", where=lambda c: c.params["channel"] == "U9"
            )
            # The App Home is published again: with nothing of a deadline U9 cannot reach.
            [home] = await slack.api.wait_for("views.publish")
            assert home.params["user_id"] == "U9" and "agreement" not in shown(home.params["view"])
        else:
            [told] = await slack.api.wait_for(RESPONSE_URL, where=keyed(key))
        assert told.params.get("response_type", "ephemeral") == "ephemeral"
        assert shown(told.params) == "That deadline no longer exists."
    # A modal Parley opened for another channel cannot record on this deadline either.
    view = {
        "id": "VMODAL",
        "type": "modal",
        "callback_id": views.FORM_POSITION,
        "private_metadata": json.dumps({"v": "1", "c": "C9", "r": ""}),
        "blocks": [],
        "state": {
            "values": {
                "stance": {"s": {"type": "static_select", "selected_option": {"value": "support"}}},
                "party": {"p": {"type": "plain_text_input", "value": "Anthropic"}},
                "terms": {"t": {"type": "plain_text_input", "value": "all lawful use"}},
            }
        },
    }
    submission = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U9", "username": "mallory", "team_id": "T1"},
        "api_app_id": "A1",
        "view": view,
    }
    answer = await (await slack.interact(submission)).json()
    assert answer["response_action"] == "errors"
    assert "That deadline no longer exists." in json.dumps(answer["errors"])
    await slack.command("/deadline help")
    shown_to = [c for c in visible(slack) if c not in posted and c[0] != "views.publish"]
    assert shown_to == [(RESPONSE_URL, f"stranger-{n}") for n in (0, 1, 2, 3)] + [
        ("chat.postMessage", "U9")
    ]
    assert await snapshot(slack) == before


async def test_a_time_choice_runs_in_the_channel_it_was_offered_in_and_cannot_be_redirected(
    slack: SlackWorld,
) -> None:
    await negotiation(slack)
    ack = await slack.command("/deadline extend D1 to Friday evening")
    [choice, *_] = [e for b in ack["blocks"] if b["type"] == "actions" for e in b["elements"]]
    before = await snapshot(slack)
    # The value names the channel it runs in, signed: one altered to name C9 is refused.
    forged = json.dumps(json.loads(choice["value"]) | {"c": "C9"})
    payload = press(
        slack, user_id="U1", action_id=choice["action_id"], value=forged, channel_id="C9", key="f"
    )
    await slack.interact(payload)
    [told] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "f")
    assert shown(told.params).startswith("That button's value was changed after Parley made it")
    assert await snapshot(slack) == before
    # Pressed from elsewhere, the real value runs where it was typed, and announces there.
    payload = press(
        slack,
        user_id="U1",
        action_id=choice["action_id"],
        value=choice["value"],
        channel_id="C9",
        key="elsewhere",
    )
    await slack.interact(payload)
    [announced] = await slack.api.wait_for(
        "chat.postMessage", where=lambda c: c.params["channel"] == "C1"
    )
    assert "<@U1> extended D1" in shown(announced.params)
    assert not [c for c in slack.api.calls if c.params.get("channel") == "C9"]


async def test_the_asked_answer_from_their_dm_and_the_channel_hears_it(slack: SlackWorld) -> None:
    await negotiation(slack)
    payload = press(
        slack,
        user_id="U2",
        action_id=views.ACTION_STANCE + "#1.0",
        value="1|support",
        channel_id="DU2",
        key="legal",
    )
    await slack.interact(payload)
    [announced] = await slack.api.wait_for(
        "chat.postMessage", where=lambda c: c.params["channel"] == "C1"
    )
    assert "<@U2> supports D1" in shown(announced.params)
    # From a DM, a typed command reaches what U2 was asked about, and announces in C1;
    # the DM (which may hold others too) gets an ephemeral copy for U2 alone.
    line = "/position D1 conditional with an audit clause"
    ack = await slack.command(line, user_id="U2", channel_id="DU2")
    assert ack == {}  # not for the DM: the announcement goes to the deadline's channel
    key = slack.response_key()
    await slack.api.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == "C1" and "audit clause" in c.params["text"],
    )
    [copy] = await slack.api.wait_for(RESPONSE_URL, where=lambda c: c.key == key)
    assert copy.params["response_type"] == "ephemeral"
    matrix = await slack.command("/position list D1", user_id="U2", channel_id="DU2")
    assert RED_LINES in shown(matrix) and "with an audit clause" in shown(matrix)


async def test_only_people_slack_linked_are_asked(slack: SlackWorld) -> None:
    await negotiation(slack)
    before, posted = await snapshot(slack), visible(slack)
    for text in ("@general", "&lt;@C0SECRET&gt;", "<#C0SECRET|secret>", "<!here>"):
        ack = await slack.command(f"/position ask D1 <@U3|policy> {text}")
        assert ack["response_type"] == "ephemeral"
        assert "Nothing was done" in shown(ack)
    await slack.command("/deadline help")
    assert visible(slack) == posted and await snapshot(slack) == before


async def test_a_co_owner_finds_the_deadline_in_the_app_home(slack: SlackWorld) -> None:
    await negotiation(slack)
    ack = await slack.command("/deadline owners D1 <@U3|sam>")
    assert "<@U1> added <@U3> as co-owners of D1" in shown(ack)
    home_event = {"type": "app_home_opened", "user": "U3", "channel": "DU3", "tab": "home"}
    assert (await slack.event(home_event)).status == 200
    [published] = await slack.api.wait_for("views.publish")
    assert "Your open deadlines (1)" in shown(published.params["view"])


async def test_a_button_with_an_impossible_id_is_out_of_date(slack: SlackWorld) -> None:
    await negotiation(slack)
    before = await snapshot(slack)
    values = ("99999999999999999999999|support", "-1|support", "1_0|support")
    for n, value in enumerate(values):
        key = f"impossible-{n}"
        payload = press(
            slack,
            user_id="U2",
            action_id=views.ACTION_STANCE + "#1.0",
            value=value,
            channel_id="DU2",
            key=key,
        )
        assert (await slack.interact(payload)).status == 200
        [told] = await slack.api.wait_for(RESPONSE_URL, where=keyed(key))
        assert shown(told.params) == "That button is out of date."
    assert await snapshot(slack) == before
