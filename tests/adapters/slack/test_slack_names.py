"""Names through Slack: ``users.info`` and ``conversations.info`` on the fake Web API,
asked in the background, stored, and shown where Slack cannot render a mention (the
calendar feed), while Slack messages keep their mentions and channel links."""

from __future__ import annotations

import re
from typing import Any

from bot.domain import NameKind
from tests.adapters.slack.blockkit import texts
from tests.adapters.slack.slack_world import SlackWorld

ISO_DUE = "2026-11-27T17:00-05:00"
FEED = re.compile(r"/calendar/([A-Za-z0-9_-]+)\.ics")


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


def people(slack: SlackWorld) -> None:
    slack.api.users["U1"] = {
        "id": "U1",
        "name": "alex",
        "tz": "America/New_York",
        "profile": {"display_name": "Alex Rivera", "real_name": "Alexandra Rivera"},
    }
    slack.api.users["U2"] = {"id": "U2", "name": "dana", "profile": {"real_name": "Dana Okafor"}}
    slack.api.channels["C1"] = {"name": "negotiations"}


async def settle(slack: SlackWorld) -> None:
    """Let the background lookups (and replies) finish."""
    await slack.adapter.tasks.drain(5)


async def test_names_are_fetched_once_in_the_background_and_stored(slack: SlackWorld) -> None:
    people(slack)
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command("/position ask D1 <@U2|dana>")
    await settle(slack)
    await slack.command("/deadline list")
    await settle(slack)
    # One users.info a person (shared with the time-zone lookup), one conversations.info.
    assert sorted(c.params["user"] for c in slack.api.calls_to("users.info")) == ["U1", "U2"]
    assert [c.params["channel"] for c in slack.api.calls_to("conversations.info")] == ["C1"]
    repository = slack.runtime.repository
    assert await repository.find_names(
        workspace_id="slack:T1", kind=NameKind.USER, subject_ids=["U1", "U2"]
    ) == {"U1": "Alex Rivera", "U2": "Dana Okafor"}
    assert await repository.find_names(
        workspace_id="slack:T1", kind=NameKind.CHANNEL, subject_ids=["C1"]
    ) == {"C1": "negotiations"}


async def test_slack_messages_keep_mentions_and_the_ask_dm_links_the_channel(
    slack: SlackWorld,
) -> None:
    people(slack)
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await settle(slack)
    await slack.command("/position ask D1 <@U2|dana>")
    [dm] = await slack.api.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "U2")
    text = shown(dm.params)
    assert "<@U1> asks for your position on D1 Signed usage agreement in <#C1>" in text
    assert "Alex Rivera" not in text  # Slack shows the name of <@U1> itself
    assert "<@U1|" not in dm.params["text"] and "<#C1|" not in dm.params["text"]


async def test_the_channel_feed_shows_names_instead_of_ids(slack: SlackWorld) -> None:
    people(slack)
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await slack.command("/position ask D1 <@U2|dana>")
    await settle(slack)
    ack = await slack.command("/deadline feed")
    match = FEED.search(shown(ack))
    assert match is not None
    response = await slack.http.get(f"/calendar/{match[1]}.ics")
    assert response.status == 200
    body = (await response.text()).replace("\r\n ", "")
    assert "X-WR-CALNAME:Parley: #negotiations" in body
    assert "Owner: @Alex Rivera" in body
    assert "Waiting for: @Dana Okafor" in body
    assert "@U1" not in body and "@U2" not in body


async def test_a_failed_lookup_leaves_ids_and_is_not_asked_again_at_once(
    slack: SlackWorld,
) -> None:
    slack.api.fail("conversations.info", error="missing_scope")
    await slack.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await settle(slack)
    await slack.command("/deadline list")
    await settle(slack)
    assert len(slack.api.calls_to("conversations.info")) == 1
    ack = await slack.command("/deadline feed")
    match = FEED.search(shown(ack))
    assert match is not None
    body = await (await slack.http.get(f"/calendar/{match[1]}.ics")).text()
    assert "X-WR-CALNAME:Parley: C1" in body
