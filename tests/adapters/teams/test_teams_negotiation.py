"""Parties and offers in Teams: every line of their grammar typed after @Parley in a
channel, as real Bot Framework activities; replies read at the fake Bot Connector."""

from __future__ import annotations

from typing import Any

from bot.domain import negotiation_key
from tests.adapters.teams.teams_world import (
    ALEX,
    ALEX_TEAMS_ID,
    CHANNEL,
    DANA,
    DANA_TEAMS_ID,
    WORKSPACE,
    Posted,
    TeamsWorld,
    mention,
)
from tests.builders import snapshot

ADD = "deadline add Signed usage agreement due 2026-11-27T17:00-05:00"
THREAD = f"{CHANNEL};messageid=1764176400123"
AT_DANA = mention(DANA_TEAMS_ID, "Dana Okafor", DANA)
AT_ALEX = mention(ALEX_TEAMS_ID, "Alex Rivera", ALEX)
DANA_ACCOUNT = {"id": DANA_TEAMS_ID, "name": "Dana Okafor", "aadObjectId": DANA}


async def say_as_dana(teams: TeamsWorld, text: str, **more: Any) -> Posted:
    """Dana types ``text`` after @Parley in the channel."""
    activity = teams.activity(
        "channel_message", text=f"<at>Parley</at> {text}\n", **{"from": DANA_ACCOUNT}
    )
    activity["entities"] = [*activity["entities"], *more.get("mentions", ())]
    return await teams.post(activity)


def public(posted: Posted) -> bool:
    """Whether the reply is for the channel (no @mention of the sender in front)."""
    [reply] = posted.messages
    return "text" not in reply.body


async def test_party_grammar_through_teams(teams: TeamsWorld) -> None:
    helped = await teams.say("party help")
    assert "party add <name>" in helped.text and not public(helped)

    added = await teams.say("party add Anthropic <at>Dana Okafor</at>", mentions=[AT_DANA])
    assert "Anthropic" in added.text and "@Dana Okafor" in added.text
    assert public(added) and added.messages[0].conversation_id == THREAD
    declared = await teams.say('party add "Department of Defense"')
    assert "Department of Defense" in declared.text and public(declared)

    listed = await teams.say("party list")
    assert "Anthropic" in listed.text and "@Dana Okafor" in listed.text
    assert "Department of Defense" in listed.text and not public(listed)

    # Only Anthropic's reps change its reps: Alex is refused, Dana may.
    before = await snapshot(teams.runtime.repository)
    refused = await teams.say("party add Anthropic <at>Alex Rivera</at>", mentions=[AT_ALEX])
    assert "Only Anthropic's reps (@Dana Okafor)" in refused.text and not public(refused)
    refused = await teams.say("party remove Anthropic <at>Dana Okafor</at>", mentions=[AT_DANA])
    assert "Only Anthropic's reps (@Dana Okafor)" in refused.text
    assert await snapshot(teams.runtime.repository) == before
    joined = await say_as_dana(
        teams, "party add Anthropic <at>Alex Rivera</at>", mentions=[AT_ALEX]
    )
    assert "@Alex Rivera" in joined.text and public(joined)
    left = await say_as_dana(
        teams, "party remove Anthropic <at>Dana Okafor</at>", mentions=[AT_DANA]
    )
    assert public(left)
    parties = await teams.runtime.repository.list_parties(
        workspace_id=WORKSPACE, negotiation=negotiation_key(WORKSPACE, CHANNEL)
    )
    assert {p.name: p.reps for p in parties} == {
        "Anthropic": (ALEX,),
        "Department of Defense": (),
    }

    # A party without reps is removed by any member; a name Teams did not link is refused.
    removed = await teams.say('party remove "Department of Defense"')
    assert "Department of Defense" in removed.text and public(removed)
    assert "Department of Defense" not in (await teams.say("party list")).text
    typed = await teams.say("party add Legal @legal")
    assert "is not someone Teams linked as a person" in typed.text
    mistaken = await teams.say("party frobnicate")
    assert "frobnicate" in mistaken.text and not public(mistaken)


async def test_a_non_rep_is_refused_and_a_rep_records_the_partys_position(
    teams: TeamsWorld,
) -> None:
    await teams.say("party add Anthropic <at>Dana Okafor</at>", mentions=[AT_DANA])
    await teams.say(ADD)
    refused = await teams.say("position D1 oppose as anthropic red lines")
    assert "Only Anthropic's reps (@Dana Okafor) can record its position on D1" in refused.text
    assert not public(refused)
    assert (
        await teams.runtime.repository.list_positions(workspace_id=WORKSPACE, deadline_id=1) == []
    )
    matrix = await teams.say("position list D1")
    assert "Silent: Anthropic" in matrix.text

    recorded = await say_as_dana(teams, "position D1 oppose as anthropic red lines")
    assert "Anthropic opposes D1" in recorded.text and public(recorded)
    [position] = await teams.runtime.repository.list_positions(
        workspace_id=WORKSPACE, deadline_id=1
    )
    assert (position.label, position.recorded_by) == ("Anthropic", DANA)


async def test_offer_grammar_through_teams(teams: TeamsWorld) -> None:
    await teams.say("party add Anthropic <at>Dana Okafor</at>", mentions=[AT_DANA])
    await teams.say(ADD)
    helped = await teams.say("offer help")
    assert "offer <ref> <title>" in helped.text and not public(helped)
    await say_as_dana(teams, "position D1 oppose as Anthropic red lines")

    offered = await teams.say(
        "offer D1 Best and final offer https://docs.example.com/bafo.pdf from anthropic"
    )
    linked = "[Best and final offer](https://docs.example.com/bafo.pdf) (docs.example.com)"
    assert f"O1 {linked} from Anthropic" in offered.text
    assert public(offered)
    [reply] = offered.messages
    # The notification text shows the host, not markup; no button repeats the link.
    fallback = reply.card["fallbackText"]
    assert "O1 Best and final offer (docs.example.com) from Anthropic" in fallback
    assert [e for e in reply.card["body"] if e["type"] == "ActionSet"] == []

    second = await teams.say("offer D1 Revised terms")
    assert "O2 Revised terms" in second.text

    listed = await teams.say("offer list D1")
    assert f"O1 {linked} from Anthropic" in listed.text
    assert "O2 Revised terms (current)" in listed.text and not public(listed)
    matrix = await teams.say("position list D1")
    assert "On the table: O2 Revised terms" in matrix.text
    assert "oppose (before O1) — red lines" in matrix.text

    before = await snapshot(teams.runtime.repository)
    for line, refusal in (
        ("offer D1 BAFO https://pete:hunter2@example.com/bafo", "user name or password"),
        ("offer D9 Anything", "D9"),
        ("offer list D9", "D9"),
    ):
        answer = await teams.say(line)
        assert refusal in answer.text, line
        assert "hunter2" not in answer.text and not public(answer)
    assert await snapshot(teams.runtime.repository) == before
