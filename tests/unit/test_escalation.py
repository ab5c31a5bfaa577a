"""The escalation ladder and the manual nudge through the shell and the dispatcher, on a
controllable clock: each rung reaches only the silent, a rung at a countdown's offset
is one message with it, and ``/position nudge`` holds to once an hour."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.errors import GrammarError
from bot.escalation import DEFAULT_LADDER, Ladder, Rung, Step, ladder_from_text, ladder_text
from bot.grammar import parse_command
from bot.grammar_escalation import NudgeSilent, SetEscalation, parse_ladder
from bot.messages import Audience
from bot.scheduler import Dispatcher
from bot.words import Ref
from tests.conftest import Chat
from tests.unit.test_scheduler import FRIDAY_5PM_ET, LATE, RecordingGateway, run_until

HOUR, WEEK = timedelta(hours=1), timedelta(weeks=1)
ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York"


@pytest.fixture
def dispatcher(chat: Chat, gateway: RecordingGateway, clock: ManualClock) -> Dispatcher:
    repository = chat.runtime.repository
    return Dispatcher(
        outbox=repository,
        deadlines=repository,
        gateways={"shell": gateway},
        clock=clock,
        pacing={"shell": 0.0},
        rng=random.Random(7),
        escalations=repository,
    )


@pytest.fixture
def gateway(clock: ManualClock) -> RecordingGateway:
    return RecordingGateway(clock)


def directs(gateway: RecordingGateway) -> list[tuple[str, str]]:
    """Each direct message so far: (recipient, text)."""
    return [
        (post.message.user_id or "", post.text)
        for post in gateway.posts
        if post.message.audience is Audience.DIRECT
    ]


async def negotiation(chat: Chat) -> None:
    """Two parties with reps, a deadline expecting both, two people asked."""
    await chat.say("/party add Anthropic @dana")
    await chat.say('/party add "Department of Defense" @pete')
    await chat.say(ADD)
    await chat.say("/position ask D1 @legal @policy")


async def test_each_rung_reaches_only_the_silent(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await negotiation(chat)
    said = await chat.say("/deadline escalate D1")
    assert (
        "@alex set escalation for D1 Signed usage agreement to 1d:dm,4h:owners,1h:channel" in said
    )
    assert chat.audiences == [Audience.CHANNEL]
    await chat.say("/position D1 support", user="legal")
    await chat.say('/position D1 support as "Department of Defense"', user="pete")

    # 1d: a direct message to each silent asked person and each rep of a silent party.
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(days=1))
    assert sorted(user for user, _ in directs(gateway)) == ["dana", "policy"]
    to = dict(directs(gateway))
    assert "Reminder: your position on D1 Signed usage agreement is still missing" in to["policy"]
    assert "Anthropic's position (you represent it) on D1" in to["dana"]
    assert "Still silent" not in gateway.channel_texts()[0]

    # 4h: the owners are told who is still silent; nobody else hears of it.
    await chat.say("/position D1 oppose as Anthropic red lines", user="dana")
    await chat.say("/deadline owners D1 @sam")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(hours=4))
    later = directs(gateway)[2:]
    assert sorted(user for user, _ in later) == ["alex", "sam"]
    assert all("Still silent: @policy" in text for _, text in later)
    assert all("Anthropic" not in text.split("Still silent")[1] for _, text in later)

    # 1h: the channel rung is merged into the 1h countdown: one post naming the silent;
    # the built-in 1h nudge is replaced by the ladder.
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(hours=1))
    at_1h = [p for p in gateway.posts if p.at == FRIDAY_5PM_ET - timedelta(hours=1) + LATE]
    assert len(at_1h) == 1
    assert "⏰ 1 hour until D1 is due" in at_1h[0].text
    assert "Still silent: @policy" in at_1h[0].text
    assert len(directs(gateway)) == 4
    channel = gateway.channel_texts()
    assert len(channel) == 3  # 1d, 4h, 1h countdowns: no extra post for the rungs


async def test_a_rung_between_countdowns_posts_alone_and_only_for_the_silent(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say(ADD + " remind 1h")
    await chat.say("/position ask D1 @legal")
    await chat.say("/deadline escalate D1 3h:dm, 2h:channel, 90m:owners")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(hours=3))
    assert gateway.channel_texts() == []  # a dm rung alone posts nothing in the channel
    assert [user for user, _ in directs(gateway)] == ["legal"]
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(hours=2))
    (post,) = gateway.channel_texts()
    assert post.splitlines()[0] == "== 📣 2 hours until D1 is due: Signed usage agreement =="
    assert "Still silent: @legal" in post
    await chat.say("/position D1 support", user="legal")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(minutes=30))
    # Nobody silent at 90m: the owners hear nothing; the 1h countdown goes out as usual.
    assert len(directs(gateway)) == 1
    assert len(gateway.channel_texts()) == 2
    assert "Still silent" not in gateway.channel_texts()[1]


async def test_rungs_missed_during_downtime_run_once_in_the_catch_up(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await negotiation(chat)
    await chat.say("/deadline escalate D1")
    clock.set(FRIDAY_5PM_ET - timedelta(minutes=50))
    await dispatcher.run_once()
    (post,) = gateway.channel_texts()
    assert "Catching up after downtime" in post
    assert "Still silent: @legal, @policy, Anthropic (@dana), Department of Defense (@pete)" in post
    people = sorted(user for user, _ in directs(gateway))
    assert people == ["alex", "dana", "legal", "pete", "policy"]  # each step once
    assert await dispatcher.run_once() == 0


async def test_reschedule_moves_rungs_close_drops_them_and_off_brings_back_nudges(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say(ADD + " remind 15m")
    await chat.say("/position ask D1 @legal")
    await chat.say("/deadline escalate D1 2h:dm")
    await chat.say("/deadline extend D1 to Saturday 17:00 America/New_York")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET)
    assert directs(gateway) == []
    await run_until(dispatcher, clock, FRIDAY_5PM_ET + timedelta(days=1, hours=-2))
    assert [user for user, _ in directs(gateway)] == ["legal"]
    await chat.say("/deadline remind D1 1d,1h")  # the rungs stay with new reminders
    said = await chat.say("/deadline escalate D1 off")
    assert "turned escalation off for D1" in said
    await run_until(dispatcher, clock, FRIDAY_5PM_ET + timedelta(days=1, hours=-1))
    assert [user for user, _ in directs(gateway)] == ["legal", "legal"]  # the built-in 1h nudge

    await chat.say("/deadline add Side letter due Monday 12:00 America/New_York remind 1h")
    await chat.say("/position ask D2 @legal")
    await chat.say("/deadline escalate D2 1d:dm,3h:channel")
    await chat.say("/deadline cancel D2")
    posted = len(gateway.posts)
    await run_until(dispatcher, clock, FRIDAY_5PM_ET + timedelta(days=5))
    assert all("D2" not in post.text for post in gateway.posts[posted:])


async def test_escalate_is_for_owners_and_shows_in_show(chat: Chat) -> None:
    await chat.say(ADD)
    refused = await chat.say("/deadline escalate D1 1h:channel", user="mallory")
    assert "Only @alex (owner) can change D1's escalation" in refused
    assert "Escalation" not in await chat.say("/deadline show D1")
    said = await chat.say("/deadline escalate D1 2d:owners, 1d:dm")
    assert "set escalation for D1 Signed usage agreement to 2d:owners,1d:dm" in said
    assert "Already past, skipped: 2d." in said
    shown = await chat.say("/deadline show D1")
    assert "Escalation: 2d: tell the owners who is silent; 1d: message the silent" in shown
    assert "escalation set to 2d:owners,1d:dm by @alex" in shown
    refused = await chat.say("/deadline escalate D1 1h:email")
    assert '"email" in "1h:email" is not a step: use dm, owners, channel.' in refused
    await chat.say("/deadline done D1")
    refused = await chat.say("/deadline escalate D1")
    assert "D1 is met; there is nobody to escalate to." in refused


async def test_nudge_reaches_the_silent_at_most_once_an_hour(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say(ADD)
    said = await chat.say("/position nudge D1", user="sam")
    assert "Nobody is silent on D1 Signed usage agreement: there is nobody to nudge." in said
    await chat.say("/party add Anthropic @dana")
    await chat.say("/party add Acme")  # a silent party with no reps: named, not messaged
    await chat.say("/deadline expect D1 Anthropic Acme")
    await chat.say("/position ask D1 @legal @policy")
    await chat.say("/position D1 support", user="policy")
    said = await chat.say("/position nudge D1", user="sam")
    assert "Nudged @legal, @dana (for Anthropic) by direct message about D1" in said
    assert "Silent without reps to message: Acme." in said
    assert chat.audiences == [Audience.EPHEMERAL, Audience.DIRECT, Audience.DIRECT]
    assert [m.user_id for m in chat.replies[1:]] == ["legal", "dana"]

    clock.advance(timedelta(minutes=20))
    refused = await chat.say("/position nudge D1")
    assert "D1 was nudged 20 minutes ago; a deadline can be nudged once an hour." in refused
    assert "You can nudge it again in 40 minutes" in refused
    assert chat.audiences == [Audience.EPHEMERAL]
    clock.advance(timedelta(minutes=40))
    assert "Nudged @legal, @dana" in await chat.say("/position nudge D1")
    # The hour is per deadline.
    await chat.say("/deadline add Side letter due Friday 12:00 America/New_York")
    await chat.say("/position ask D2 @legal")
    said = await chat.say("/position nudge D2")
    assert "Nudged @legal, @dana (for Anthropic) by direct message about D2" in said


@pytest.mark.parametrize(
    ("text", "ref", "ladder"),
    [
        ("escalate D1", Ref(1, ""), DEFAULT_LADDER),
        ("escalate d2 off", Ref(2, ""), None),
        ("escalate D1 1d:dm, 4h:owners,1h:channel", Ref(1, ""), DEFAULT_LADDER),
        (
            "escalate 3 1h:CHANNEL,1h:dm,1h:dm",
            Ref(3, ""),
            (Rung(HOUR, Step.DM), Rung(HOUR, Step.CHANNEL)),
        ),
        (
            "escalate Signed usage 2w:owners",
            Ref(None, "Signed usage"),
            (Rung(2 * WEEK, Step.OWNERS),),
        ),
        ('escalate "Deal: phase 2" 30m:dm', Ref(None, "Deal: phase 2"), (Rung(HOUR / 2, Step.DM),)),
        ("escalate Signed usage", Ref(None, "Signed usage"), DEFAULT_LADDER),
    ],
)
def test_escalate_grammar(text: str, ref: Ref, ladder: Ladder | None) -> None:
    assert parse_command("deadline", text) == SetEscalation(ref=ref, ladder=ladder)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("escalate", "Which deadline, and which ladder?"),
        ("escalate D1 1d:email", '"email" in "1d:email" is not a step'),
        ("escalate D1 1d:dm,soon:owners", 'I couldn\'t read "soon:owners" as a rung'),
        ("escalate D1 9w:dm", "more than 8 weeks"),
        ("escalate D1 0m:dm", "must be at least 1"),
        ("escalate D1 " + ",".join(f"{n}m:dm" for n in range(1, 12)), "at most 10"),
    ],
)
def test_escalate_grammar_refuses(text: str, message: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_command("deadline", text)
    assert message in caught.value.message
    assert "/deadline escalate <ref> [<ladder>|off]" in (caught.value.hint or "")


def test_nudge_grammar_and_stored_ladders_round_trip() -> None:
    assert parse_command("position", "nudge D4") == NudgeSilent(Ref(4, ""))
    with pytest.raises(GrammarError):
        parse_command("position", "nudge")
    ladder = parse_ladder("2w:owners,90m:channel,1d:dm,1d:channel")
    assert ladder_from_text(ladder_text(ladder)) == ladder


async def test_nudge_reaches_each_person_once_and_stays_in_its_channel(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say(ADD)
    await chat.say("/position ask D1 @dana @legal")  # dana: asked, and a silent party's rep
    said = await chat.say("/position nudge D1")
    assert "Nudged @dana, @legal by direct message about D1" in said
    assert [m.user_id for m in chat.replies[1:]] == ["dana", "legal"]
    elsewhere = await chat.say("/position nudge D1", channel_id="legal-room")
    assert "There is no deadline D1 in this channel" in elsewhere
    assert chat.audiences == [Audience.EPHEMERAL]


@pytest.mark.parametrize(
    "text",
    [
        "/deadline escalate D1 " + ",".join(f"{n}m:dm" for n in range(1, 5000)),
        "/deadline escalate D1 1d:dm:owners",
        "/deadline escalate D1 -1d:dm",
        "/position nudge D1 D2",
    ],
)
async def test_hostile_escalation_input_gets_one_clear_line(chat: Chat, text: str) -> None:
    await chat.say(ADD)
    said = await chat.say(text)
    assert chat.audiences == [Audience.EPHEMERAL]
    assert "Traceback" not in said
    assert "Escalation" not in await chat.say("/deadline show D1")


async def test_control_characters_are_taken_out_of_a_ladder(chat: Chat) -> None:
    await chat.say(ADD)
    said = await chat.say("/deadline escalate D1 1d:dm,\u202e4h:own\u0000ers, 1d:dm")
    assert "to 1d:dm,4h:owners" in said


async def test_two_replicas_send_a_rung_once(
    chat: Chat, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await negotiation(chat)
    await chat.say("/deadline escalate D1 1d:dm,1d:owners")
    repository = chat.runtime.repository
    replicas = [
        Dispatcher(
            outbox=repository,
            deadlines=repository,
            gateways={"shell": gateway},
            clock=clock,
            pacing={"shell": 0.0},
            escalations=repository,
        )
        for _ in range(2)
    ]
    clock.set(FRIDAY_5PM_ET - timedelta(days=1) + LATE)
    claimed = await asyncio.gather(*(replica.run_once() for replica in replicas))
    assert sorted(claimed) == [0, 1]
    assert sorted(user for user, _ in directs(gateway)) == [
        "alex",
        "dana",
        "legal",
        "pete",
        "policy",
    ]
    assert len(gateway.channel_texts()) == 1


async def test_an_extension_by_the_silence_rule_keeps_the_ladders_rungs(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say(ADD + " remind 1h silence extend 1d")
    await chat.say("/position ask D1 @legal")
    await chat.say("/deadline escalate D1 2h:dm")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(hours=2))
    assert [user for user, _ in directs(gateway)] == ["legal"]
    # At the deadline @legal is still silent: the rule extends it by a day ...
    await run_until(dispatcher, clock, FRIDAY_5PM_ET)
    assert "by its silence rule it is extended once" in gateway.channel_texts()[-1]
    # ... and the ladder's rung stands 2h before the new time, as a reminder does.
    new_due = FRIDAY_5PM_ET + timedelta(days=1)
    await run_until(dispatcher, clock, new_due - timedelta(hours=2))
    assert [user for user, _ in directs(gateway)] == ["legal", "legal"]
    assert "D1 Signed usage agreement" in directs(gateway)[-1][1]
    await run_until(dispatcher, clock, new_due)
    assert "D1 is now missed" in gateway.channel_texts()[-1]
    assert len(directs(gateway)) == 2
