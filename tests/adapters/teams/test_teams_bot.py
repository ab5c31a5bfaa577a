"""Parley in Teams as a conversation: real Bot Framework activities posted to
``POST /api/messages``; replies read at the fake Bot Connector."""

from __future__ import annotations

import json

import pytest

from tests.adapters.teams.teams_world import (
    ALEX,
    ALEX_TEAMS_ID,
    BOT_ID,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    PERSONAL,
    TEAM,
    WORKSPACE,
    TeamsWorld,
    mention,
)

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"
THREAD = f"{CHANNEL};messageid=1764176400123"


async def test_a_channel_command_is_answered_in_its_thread(teams: TeamsWorld) -> None:
    posted = await teams.say(ADD)
    assert posted.status == 200
    [reply] = posted.messages
    assert reply.kind == "reply"
    assert reply.conversation_id == THREAD
    assert reply.activity_id.startswith("1764176400123")
    card = reply.card
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert "New deadline set by @Alex Rivera" in reply.card_text
    assert "**D1** Signed usage agreement" in reply.card_text
    # Each viewer sees the due time in their own zone.
    assert "{{DATE(2026-11-27T22:00:00Z, SHORT)}} {{TIME(2026-11-27T22:00:00Z)}}" in reply.card_text
    assert "1 day 5 hours left" in reply.card_text
    buttons = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    assert {"parley_action": "parley_stance", "value": "1|support"} in [
        b.get("data") for b in buttons
    ]
    assert reply.body["summary"].startswith("New deadline set by @Alex Rivera: D1 Signed usage")
    # The deadline belongs to the channel, not to the thread it was typed in.
    [deadline] = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert (deadline.channel_id, deadline.platform, deadline.owner_id) == (CHANNEL, "teams", ALEX)
    assert deadline.tz == "America/New_York"


async def test_every_message_refreshes_the_conversation_reference(teams: TeamsWorld) -> None:
    await teams.say("deadline list")
    stored = await teams.runtime.repository.get_conversation_reference(
        workspace_id=WORKSPACE, conversation_id=CHANNEL
    )
    assert stored is not None
    reference = json.loads(stored)
    assert reference["serviceUrl"] == teams.connector.service_url
    assert reference["conversation"]["id"] == CHANNEL  # the channel, not the thread
    assert reference["conversation"]["tenantId"] == WORKSPACE.removeprefix("teams:")
    assert reference["bot"]["id"] == BOT_ID


async def test_help_and_errors_go_to_the_user_with_a_mention(teams: TeamsWorld) -> None:
    posted = await teams.say("deadline show D9")
    [reply] = posted.messages
    assert reply.kind == "reply"
    assert reply.body["text"] == "<at>Alex Rivera</at>"
    [mention] = reply.body["entities"]
    assert mention["mentioned"]["id"] == ALEX_TEAMS_ID
    assert "There is no deadline D9 in this channel." in reply.card_text

    help_reply = (await teams.say("")).messages[0]
    assert "deadline add" in help_reply.card_text
    assert "deadline add" in (await teams.say("help")).text
    assert "position" in (await teams.say("position help")).text


async def test_the_commands_of_a_negotiation(teams: TeamsWorld) -> None:
    await teams.say(ADD)

    listed = await teams.say("deadline list")
    assert "Open deadlines (1)" in listed.text and "D1" in listed.text

    shown = await teams.say("deadline show D1")
    facts = [e for e in shown.messages[0].card["body"] if e["type"] == "FactSet"]
    assert {"title": "Owner", "value": "@Alex Rivera (owner)"} in facts[0]["facts"]

    extended = await teams.say(
        "deadline extend D1 to Monday 09:00 America/New_York because best and final offer"
    )
    assert "extended D1" in extended.text and "best and final offer" in extended.text

    reminded = await teams.say("deadline remind D1 2d,1h")
    assert "Reminders for D1 set to 2d, 1h" in reminded.text

    recorded = await teams.say("position D1 oppose as Anthropic No mass surveillance of Americans")
    assert "Anthropic opposes D1" in recorded.text
    own = await teams.say("position D1 support")
    assert "@Alex Rivera supports D1" in own.text

    matrix = await teams.say("position list D1")
    facts = [
        f for e in matrix.messages[0].card["body"] if e["type"] == "FactSet" for f in e["facts"]
    ]
    assert {"title": "Anthropic", "value": "oppose — No mass surveillance of Americans"} in facts
    assert {"title": "@Alex Rivera", "value": "support"} in facts

    done = await teams.say("deadline done D1")
    assert "marked done (met) D1" in done.text
    assert "already met" in (await teams.say("deadline cancel D1")).text
    # Every reply went into the thread the commands were typed in.
    assert {c.conversation_id for c in teams.connector.messages} == {THREAD}


async def test_a_personal_chat_needs_no_mention_and_uses_the_users_zone(teams: TeamsWorld) -> None:
    posted = await teams.say("deadline add Board vote due tomorrow 10:00", personal=True)
    [reply] = posted.messages
    assert reply.conversation_id == PERSONAL
    assert "text" not in reply.body  # no @mention in a personal chat
    [deadline] = await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert deadline.tz == "Europe/Berlin"
    assert (deadline.channel_id, deadline.owner_id) == (PERSONAL, DANA)
    listed = await teams.say("deadline list", personal=True)
    assert "Board vote" in listed.text
    assert "Board vote" not in (await teams.say("deadline list")).text  # another conversation


async def test_a_stance_button_records_the_clickers_position(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    clicked = await teams.click({"parley_action": "parley_stance", "value": "1|conditional"})
    assert clicked.status == 200
    assert "@Alex Rivera is conditional on D1" in clicked.text
    [position] = await teams.runtime.repository.list_positions(
        workspace_id=WORKSPACE, deadline_id=1
    )
    assert (position.stakeholder, position.stance.value) == (ALEX, "conditional")


async def test_the_position_card_form_and_its_submission(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    [form_reply] = (await teams.say("position D1")).messages
    body = form_reply.card["body"]
    choice = next(e for e in body if e["type"] == "Input.ChoiceSet")
    assert choice["id"] == "stance" and choice["isRequired"] is True and choice["errorMessage"]
    assert [c["value"] for c in choice["choices"]] == [
        "support",
        "oppose",
        "conditional",
        "undecided",
    ]
    texts = {e["id"]: e for e in body if e["type"] == "Input.Text"}
    assert texts["party"]["maxLength"] == 100
    assert texts["terms"]["isMultiline"] is True and texts["terms"]["maxLength"] == 3000
    [submit] = [a for e in body if e["type"] == "ActionSet" for a in e["actions"]]
    assert submit["data"] == {"parley_form": "parley_position", "value": "1"}

    # A submission without a stance (a client that skipped validation) shows the error on the card.
    refused = await teams.click(
        {"parley_form": "parley_position", "value": "1", "stance": "", "terms": "x"},
        reply_to="1000000000042",
    )
    [update] = refused.calls
    assert (update.kind, update.activity_id) == ("update", "1000000000042")
    assert "Pick a stance: support, oppose, conditional or undecided." in update.card_text
    assert not await teams.runtime.repository.list_positions(workspace_id=WORKSPACE, deadline_id=1)

    accepted = await teams.click(
        {
            "parley_form": "parley_position",
            "value": "1",
            "stance": "oppose",
            "party": "Anthropic",
            "terms": "No mass surveillance; a human in every final targeting decision",
        },
        reply_to="1000000000042",
    )
    [update] = accepted.calls
    assert (update.kind, update.activity_id) == ("update", "1000000000042")
    assert (
        "Anthropic opposes D1 Signed usage agreement (recorded by @Alex Rivera)" in update.card_text
    )
    [position] = await teams.runtime.repository.list_positions(
        workspace_id=WORKSPACE, deadline_id=1
    )
    assert (position.label, position.terms) == (
        "Anthropic",
        "No mass surveillance; a human in every final targeting decision",
    )


async def test_an_adaptive_card_invoke_answers_with_the_updated_card(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    posted = await teams.post(teams.activity("card_invoke"))
    assert posted.status == 200
    assert posted.body["statusCode"] == 200
    assert posted.body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "is conditional on D1" in json.dumps(posted.body["value"])
    assert not posted.messages  # the card itself is the answer
    [position] = await teams.runtime.repository.list_positions(
        workspace_id=WORKSPACE, deadline_id=1
    )
    assert (position.stance.value, position.terms) == ("conditional", "Only with an audit clause")


async def test_asking_for_positions_messages_each_person_directly(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    teams.connector.add_member(DANA_TEAMS_ID, aad_object_id=DANA, name="Dana Okafor")
    # Teams names people by their 29: id only: Parley asks the connector for the AAD id.
    posted = await teams.say(
        "position ask D1 <at>Dana Okafor</at>", mentions=[mention(DANA_TEAMS_ID, "Dana Okafor")]
    )
    kinds = [c.kind for c in posted.calls]
    assert kinds == ["member", "reply", "create", "send"]
    announce = posted.calls[1]
    assert "@Alex Rivera asked @Dana Okafor for their positions on D1" in announce.card_text
    create = posted.calls[2]
    assert create.body["members"] == [{"id": DANA}]
    assert create.body["channelData"] == {"tenant": {"id": WORKSPACE.removeprefix("teams:")}}
    direct = posted.calls[3]
    assert direct.conversation_id == f"a:{DANA}"
    assert "asks for your position on D1" in direct.card_text
    [request] = await teams.runtime.repository.list_position_requests(
        workspace_id=WORKSPACE, deadline_id=1
    )
    assert request.user_id == DANA


async def test_a_failed_direct_message_is_reported_to_the_asker(teams: TeamsWorld) -> None:
    await teams.say(ADD)
    teams.connector.fail("create", status=403, code="BotNotInConversationRoster")
    posted = await teams.say(
        "position ask D1 <at>Dana Okafor</at>",
        mentions=[mention(DANA_TEAMS_ID, "Dana Okafor", DANA)],
    )
    assert [c.kind for c in posted.calls] == ["reply", "create", "reply"]
    assert "couldn't message @Dana Okafor directly" in posted.calls[2].card_text


async def test_the_feed_answer_goes_to_a_personal_chat(teams: TeamsWorld) -> None:
    posted = await teams.say("deadline feed")
    assert [c.kind for c in posted.calls] == ["create", "send", "reply"]
    assert posted.calls[0].body["members"] == [{"id": ALEX_TEAMS_ID}]
    private = posted.calls[1]
    assert private.conversation_id == f"a:{ALEX_TEAMS_ID}"
    assert "Your private calendar feed" in private.card_text
    assert "http://localhost:3000/calendar/" in private.card_text  # PUBLIC_URL/calendar/<token>
    in_channel = posted.calls[2]
    assert in_channel.conversation_id == THREAD
    assert in_channel.card_text.strip().endswith("I sent you the details in our personal chat.")
    assert "/calendar/" not in json.dumps(in_channel.body)


async def test_the_brief_link_goes_to_the_personal_chat(teams: TeamsWorld) -> None:
    await teams.say("deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    posted = await teams.say("deadline brief D1")
    assert [c.kind for c in posted.calls] == ["create", "send", "reply"]
    private = posted.calls[1]
    assert private.conversation_id == f"a:{ALEX_TEAMS_ID}"
    assert "Your private brief page for D1" in private.card_text
    assert "http://localhost:3000/brief/" in private.card_text  # PUBLIC_URL/brief/<token>
    assert "/brief/" not in json.dumps(posted.calls[2].body)


async def test_the_brief_button_on_show_sends_a_link_to_the_personal_chat(
    teams: TeamsWorld,
) -> None:
    await teams.say("deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    shown = await teams.say("deadline show D1")
    card = shown.calls[-1].card
    buttons = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    [brief] = [b["data"] for b in buttons if b["title"] == "Brief"]
    clicked = await teams.click(brief)
    assert [c.kind for c in clicked.calls] == ["create", "send", "reply"]
    assert clicked.calls[1].conversation_id == f"a:{ALEX_TEAMS_ID}"
    assert "http://localhost:3000/brief/" in clicked.calls[1].card_text


async def test_the_feed_answer_never_falls_back_to_the_channel(teams: TeamsWorld) -> None:
    teams.connector.fail("create", status=403, code="ConversationBlockedByUser")
    posted = await teams.say("deadline feed")
    assert [c.kind for c in posted.calls] == ["create", "reply"]
    assert "couldn't message you privately" in posted.calls[1].card_text


async def test_installation_stores_the_reference_and_removal_drops_the_teams(
    teams: TeamsWorld,
) -> None:
    repository = teams.runtime.repository
    installed = await teams.post(teams.activity("installation_add"))
    assert installed.status == 200 and not installed.calls
    stored = await repository.get_conversation_reference(
        workspace_id=WORKSPACE, conversation_id=TEAM
    )
    assert stored is not None
    assert json.loads(stored)["serviceUrl"] == teams.connector.service_url

    welcomed = await teams.post(teams.activity("conversation_update_bot_added"))
    [welcome] = welcomed.messages
    assert (welcome.kind, welcome.conversation_id) == ("send", TEAM)
    assert "Parley is here" in welcome.card_text

    await teams.say("deadline list")  # a second channel of the same team
    await teams.say("deadline list", personal=True)  # and a personal chat
    removed = await teams.post(teams.activity("installation_remove"))
    assert removed.status == 200 and not removed.calls
    for conversation in (TEAM, CHANNEL):
        assert (
            await repository.get_conversation_reference(
                workspace_id=WORKSPACE, conversation_id=conversation
            )
            is None
        )
    assert await repository.get_conversation_reference(
        workspace_id=WORKSPACE, conversation_id=PERSONAL
    )


async def test_a_deleted_channel_loses_its_reference(teams: TeamsWorld) -> None:
    await teams.post(teams.activity("installation_add"))
    await teams.say("deadline list")
    deleted = teams.activity("conversation_update_bot_added", membersAdded=[])
    deleted["channelData"] = {
        **deleted["channelData"],
        "eventType": "channelDeleted",
        "channel": {"id": CHANNEL, "name": "negotiation"},
    }
    assert (await teams.post(deleted)).status == 200
    repository = teams.runtime.repository
    assert (
        await repository.get_conversation_reference(workspace_id=WORKSPACE, conversation_id=CHANNEL)
        is None
    )
    assert await repository.get_conversation_reference(workspace_id=WORKSPACE, conversation_id=TEAM)


async def test_bad_requests(teams: TeamsWorld) -> None:
    response = await teams.client.post("/api/messages", data="hello")
    assert response.status == 415
    response = await teams.client.post(
        "/api/messages", data="{", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    response = await teams.client.post("/api/messages", json={"text": "no type"})
    assert response.status == 400


@pytest.mark.parametrize(
    "service_url", ["http://example.com/", "https://smba.trafficmanager.net/amer/"]
)
async def test_local_mode_posts_only_to_this_machine(teams: TeamsWorld, service_url: str) -> None:
    activity = teams.activity("channel_message", text=f"<at>Parley</at> {ADD}")
    activity["serviceUrl"] = service_url
    posted = await teams.post(activity)
    assert posted.status == 401
    assert not await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
