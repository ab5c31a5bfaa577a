"""Captured Teams activities -> the core's inputs (pure functions)."""

from __future__ import annotations

import pytest

from adapters.teams import parse
from tests.adapters.teams.teams_world import (
    ALEX,
    BOT_ID,
    CHANNEL,
    DANA,
    PERSONAL,
    TEAM,
    TENANT,
    WORKSPACE,
    load,
)


def test_a_channel_message() -> None:
    activity = load("channel_message")
    ctx = parse.context(activity)
    assert ctx.workspace_id == WORKSPACE
    assert ctx.channel_id == CHANNEL  # the thread suffix is dropped
    assert (ctx.user_id, ctx.user_name) == (ALEX, "Alex Rivera")
    assert (ctx.tz, ctx.platform) == ("America/New_York", "teams")
    typed = parse.typed(activity)
    assert (typed.command, typed.text) == ("deadline", "list")
    assert parse.group_id(activity) == TEAM
    assert not parse.is_personal(activity)


def test_a_personal_message() -> None:
    activity = load("personal_message")
    ctx = parse.context(activity)
    assert (ctx.channel_id, ctx.user_id, ctx.tz) == (PERSONAL, DANA, "Europe/Berlin")
    assert parse.is_personal(activity)
    assert parse.group_id(activity) == PERSONAL


@pytest.mark.parametrize(
    ("text", "command", "rest"),
    [
        ("<at>Parley</at> /deadline add X due Friday", "deadline", "add X due Friday"),
        ("<at>Parley</at>&nbsp;position D1 support", "position", "D1 support"),
        ("<p><at>Parley</at> deadline show <b>D1</b></p>", "deadline", "show D1"),
        ("<at>Parley</at>", "deadline", "help"),
        ("<at>Parley</at> help", "deadline", "help"),
        ("<at>Parley</at> remind me", "remind", "me"),
        ("deadline add A &amp; B due Friday", "deadline", "add A & B due Friday"),
    ],
)
def test_the_bot_mention_and_markup_are_removed(text: str, command: str, rest: str) -> None:
    typed = parse.typed({**load("channel_message"), "text": text})
    assert (typed.command, typed.text) == (command, rest)


def test_other_mentions_become_user_ids() -> None:
    activity = load("channel_message")
    activity["text"] = "<at>Parley</at> position ask D1 <at>Dana Okafor</at> <at>Sam</at>"
    activity["entities"] += [
        {
            "type": "mention",
            "mentioned": {"id": "29:dana", "name": "Dana Okafor", "aadObjectId": DANA},
            "text": "<at>Dana Okafor</at>",
        },
        {"type": "mention", "mentioned": {"id": "29:sam", "name": "Sam"}, "text": "<at>Sam</at>"},
    ]
    assert parse.unresolved_mentions(activity) == ["29:sam"]
    assert parse.command_text(activity) == f"position ask D1 <@{DANA}> <@29:sam>"
    resolved = parse.command_text(activity, {"29:sam": "aad-sam"})
    assert resolved == f"position ask D1 <@{DANA}> <@aad-sam>"


def test_time_zone_fallbacks() -> None:
    activity = load("channel_message")
    del activity["localTimezone"]
    assert parse.timezone_of(activity) == "America/New_York"  # from clientInfo
    activity["entities"] = [{"type": "clientInfo", "timezone": "Mars/Olympus"}]
    assert parse.timezone_of(activity) == "UTC"
    assert parse.timezone_of({"localTimezone": "Asia/Tokyo"}) == "Asia/Tokyo"


def test_workspace_of_an_emulator_activity() -> None:
    activity = {"conversation": {"id": "c1"}, "from": {"id": "u1"}}
    assert parse.workspace_id(activity) == "teams:emulator"
    assert parse.tenant_id_of(WORKSPACE) == TENANT
    with pytest.raises(ValueError):
        parse.tenant_id_of("slack:T1")


def test_card_clicks() -> None:
    press = parse.card_action(load("card_submit"))
    assert isinstance(press, parse.Press)
    assert (press.action_id, press.value, press.ctx.user_id) == ("parley_stance", "1|support", ALEX)

    submission = parse.card_action(load("card_invoke"))
    assert isinstance(submission, parse.Submission)
    assert (submission.form_id, submission.value) == ("parley_position", "1")
    assert submission.fields == {
        "stance": "conditional",
        "party": "",
        "terms": "Only with an audit clause",
    }
    assert parse.card_action(load("channel_message")) is None
    assert parse.card_action({**load("card_invoke"), "name": "task/fetch"}) is None


def test_installation_changes() -> None:
    assert parse.membership(load("installation_add")) == "added"
    assert parse.membership(load("installation_remove")) == "removed"
    assert parse.membership(load("conversation_update_bot_added")) == "added"
    removed = {**load("conversation_update_bot_added"), "membersAdded": []}
    removed["membersRemoved"] = [{"id": BOT_ID}]
    assert parse.membership(removed) == "removed"
    someone = {**load("conversation_update_bot_added"), "membersAdded": [{"id": "29:x"}]}
    assert parse.membership(someone) is None
    deleted = load("conversation_update_bot_added")
    deleted["channelData"] = {**deleted["channelData"], "eventType": "channelDeleted"}
    deleted["channelData"]["channel"] = {"id": "19:old@thread.tacv2"}
    assert parse.membership(deleted) == "channel_deleted"
    assert parse.deleted_channel_id(deleted) == "19:old@thread.tacv2"
    assert parse.membership(load("channel_message")) is None


def test_the_conversation_reference_names_the_channel_not_the_thread() -> None:
    reference = parse.conversation_reference(load("channel_message"))
    assert reference == {
        "bot": {"id": BOT_ID, "name": "Parley"},
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": CHANNEL,
        },
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/amer/",
        "locale": "en-US",
    }
