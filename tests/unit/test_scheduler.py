"""The alert engine with a controllable clock: what the channel sees, and when."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.shell.render import render_message
from bot.channel_links import LinkedChannel
from bot.clock import ManualClock
from bot.dispatch_policy import DispatchPolicy
from bot.domain import AlertStatus, Event, EventKind, NewDeadline, PlannedAlert
from bot.errors import DeliveryError, PermanentDelivery, RateLimited, TransientDelivery
from bot.messages import Audience, Message
from bot.scheduler import Dispatcher
from tests.conftest import Chat
from tests.fakes.stores import MemoryDeadlines, MemoryOutbox, SlowWrites

FRIDAY_5PM_ET = datetime.fromisoformat("2026-11-27T22:00:00+00:00")
# Where a real clock stands when an alert goes out: a few milliseconds after its instant.
LATE = timedelta(milliseconds=3)
REACHED = re.compile(r"Deadline reached(?::| —) (D\d+)")


@dataclass
class Post:
    at: datetime
    channel_id: str
    message: Message

    @property
    def text(self) -> str:
        return render_message(self.message, now=self.at)


@dataclass
class RecordingGateway:
    """A platform that records posts; ``failures`` are raised first, one per send."""

    clock: ManualClock
    posts: list[Post] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append(Post(self.clock.now(), channel_id, message))
        return None

    def channel_texts(self) -> list[str]:
        return [p.text for p in self.posts if p.message.audience is Audience.CHANNEL]

    def reached(self) -> Counter[str]:
        """How often each deadline's at-deadline alert was posted, as "<channel> D<n>"
        (deadlines are numbered per channel)."""
        return Counter(
            f"{post.channel_id} {ref}"
            for post in self.posts
            if post.message.audience is Audience.CHANNEL
            for ref in REACHED.findall(post.text)
        )


@pytest.fixture
def gateway(clock: ManualClock) -> RecordingGateway:
    return RecordingGateway(clock)


@pytest.fixture
def dispatcher(chat: Chat, gateway: RecordingGateway, clock: ManualClock) -> Dispatcher:
    return Dispatcher(
        outbox=chat.runtime.repository,
        deadlines=chat.runtime.repository,
        gateways={"shell": gateway},
        clock=clock,
        pacing={"shell": 0.0},
        rng=random.Random(7),
    )


async def run_until(dispatcher: Dispatcher, clock: ManualClock, moment: datetime) -> None:
    """Advance the clock to ``moment``, sending whatever falls due on the way, in order,
    each a few milliseconds after its instant."""
    while True:
        next_due = await dispatcher.outbox.next_alert_due()
        if next_due is None or next_due > moment:
            break
        clock.set(max(next_due + LATE, clock.now()))
        await dispatcher.run_once()
    clock.set(moment)
    await dispatcher.run_once()


async def run_paced(dispatcher: Dispatcher, clock: ManualClock) -> int:
    """``run_once``, moving the clock on whenever the dispatcher waits for pacing."""
    run = asyncio.create_task(dispatcher.run_once())
    while not run.done():
        await asyncio.sleep(0)
        if clock.sleepers:
            clock.advance(timedelta(milliseconds=250))
    return await run


async def test_offsets_fire_in_order_each_once(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due Friday 17:00 America/New_York")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET + timedelta(hours=1))
    times = [p.at - LATE for p in gateway.posts]
    # 7d is already past when the deadline is set on Thursday noon.
    assert times == [
        FRIDAY_5PM_ET - timedelta(days=1),
        FRIDAY_5PM_ET - timedelta(hours=4),
        FRIDAY_5PM_ET - timedelta(hours=1),
        FRIDAY_5PM_ET - timedelta(minutes=15),
        FRIDAY_5PM_ET,
    ]
    texts = gateway.channel_texts()
    assert "⏰ 1 day until D1 is due" in texts[0] and "— 1 day left" in texts[0]
    assert "⏰ 4 hours until D1 is due" in texts[1] and "— 4 hours left" in texts[1]
    assert "⏰ 1 hour until D1 is due" in texts[2] and "— 1 hour left" in texts[2]
    assert "⏰ 15 minutes until D1 is due" in texts[3] and "— 15 minutes left" in texts[3]
    assert "🔔 Deadline reached — D1 is now missed: Signed usage agreement" in texts[4]
    assert await dispatcher.run_once() == 0
    listed = await chat.say("/deadline list")  # missed stays in the list until settled
    assert "Open and missed deadlines (1)" in listed and "[missed]" in listed
    await chat.say("/deadline done D1")
    assert "No open deadlines" in await chat.say("/deadline list")


async def test_countdown_carries_the_position_summary(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due Friday 17:00 America/New_York")
    await chat.say("/position D1 oppose as Anthropic No mass surveillance")
    await chat.say("/position ask D1 @legal @policy")
    await chat.say("/position D1 support", user="legal")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET - timedelta(hours=4))
    text = gateway.channel_texts()[0]
    assert "1 oppose" in text and "1 support" in text
    assert "1 of 2 asked have answered; waiting for @policy" in text


async def test_extend_moves_alerts_and_done_cancel_drop_them(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due Friday 17:00 America/New_York")
    await chat.say("/deadline add Side letter due Friday 12:00 America/New_York")
    await chat.say("/deadline extend D1 to Monday 09:00 America/New_York")
    await chat.say("/deadline cancel D2")
    await run_until(dispatcher, clock, FRIDAY_5PM_ET + timedelta(minutes=1))
    assert gateway.posts == []
    monday_9am = datetime.fromisoformat("2026-11-30T14:00:00+00:00")
    await run_until(dispatcher, clock, monday_9am)
    assert [p.at - LATE for p in gateway.posts] == [
        monday_9am - timedelta(days=1),
        monday_9am - timedelta(hours=4),
        monday_9am - timedelta(hours=1),
        monday_9am - timedelta(minutes=15),
        monday_9am,
    ]
    await chat.say("/deadline add Next round due Tuesday 12:00 America/New_York")
    await chat.say("/deadline done D3")
    await run_until(dispatcher, clock, monday_9am + timedelta(days=3))
    assert len(gateway.posts) == 5


async def test_alerts_missed_during_downtime_collapse_into_one(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say("/deadline add Signed usage agreement due Friday 17:00 America/New_York")
    # Nobody ran between Thursday noon and Friday 16:50: the 1d, 4h and 1h alerts were missed.
    clock.set(FRIDAY_5PM_ET - timedelta(minutes=10))
    assert await dispatcher.run_once() == 4  # 1d, 4h, 1h and 15m are all due
    assert len(gateway.posts) == 1
    text = gateway.posts[0].text
    assert "Catching up after downtime: 4 missed alerts (1d, 4h, 1h, 15m); the latest is " in text
    assert "the latest is 5 minutes late." in text
    assert "⏰ 10 minutes until D1 is due" in text
    assert dispatcher.stats.collapsed == 3


async def test_nudges_go_only_to_those_who_have_not_answered(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say("/deadline add Counter-offer due Monday 09:00 America/New_York")
    await chat.say("/position ask D1 @legal @policy @finance")
    await chat.say("/position D1 support", user="legal")
    monday_9am = datetime.fromisoformat("2026-11-30T14:00:00+00:00")
    await run_until(dispatcher, clock, monday_9am - timedelta(days=1))
    directs = [p.message for p in gateway.posts if p.message.audience is Audience.DIRECT]
    assert sorted(m.user_id or "" for m in directs) == ["finance", "policy"]
    await chat.say("/position D1 oppose", user="policy")
    await run_until(dispatcher, clock, monday_9am - timedelta(hours=1))
    directs = [p.message for p in gateway.posts if p.message.audience is Audience.DIRECT]
    assert sorted(m.user_id or "" for m in directs) == ["finance", "finance", "policy"]
    # The 4h alert nudges nobody.
    assert len(gateway.channel_texts()) == 3


async def test_rate_limit_is_honoured_and_nothing_is_sent_twice(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say(
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York remind 4h"
    )
    due = FRIDAY_5PM_ET - timedelta(hours=4)
    gateway.failures = [RateLimited("ratelimited", retry_after=30), TransientDelivery("500")]
    clock.set(due)
    await dispatcher.run_once()
    assert gateway.posts == []
    clock.set(due + timedelta(seconds=29))
    assert await dispatcher.run_once() == 0  # Retry-After not yet over
    clock.set(due + timedelta(seconds=30))
    await dispatcher.run_once()  # the 500
    assert gateway.posts == []
    clock.set(due + timedelta(seconds=40))  # backoff 2**2 s with jitter is at most 6 s
    await dispatcher.run_once()
    assert len(gateway.posts) == 1
    assert dispatcher.stats.retried == 2
    clock.set(due + timedelta(minutes=5))
    assert await dispatcher.run_once() == 0


async def test_permanent_failure_marks_failed_and_tells_the_owner_once(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say(
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York remind 4h,1h"
    )
    gateway.failures = [PermanentDelivery("channel_not_found")]
    clock.set(FRIDAY_5PM_ET - timedelta(hours=4))
    await dispatcher.run_once()
    gateway.failures = [PermanentDelivery("channel_not_found")]
    clock.set(FRIDAY_5PM_ET - timedelta(hours=1))
    await dispatcher.run_once()
    notices = [p for p in gateway.posts if p.message.audience is Audience.DIRECT]
    assert len(notices) == 1 and notices[0].message.user_id == "alex"
    assert "could not post the alert for D1" in notices[0].text
    alerts = (await chat.runtime.repository.export_all())["alerts"]
    assert sorted(a["status"] for a in alerts) == ["failed", "failed", "pending"]


async def test_transient_failures_give_up_after_the_attempt_limit(
    chat: Chat, gateway: RecordingGateway, clock: ManualClock
) -> None:
    dispatcher = Dispatcher(
        outbox=chat.runtime.repository,
        deadlines=chat.runtime.repository,
        gateways={"shell": gateway},
        clock=clock,
        policy=DispatchPolicy(max_attempts=3),
        pacing={"shell": 0.0},
    )
    await chat.say(
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York remind 4h"
    )
    gateway.failures = [TransientDelivery("timeout")] * 3
    clock.set(FRIDAY_5PM_ET - timedelta(hours=4))
    for _ in range(3):
        await dispatcher.run_once()
        clock.advance(timedelta(minutes=5))
    alerts = (await chat.runtime.repository.export_all())["alerts"]
    four_hours = [a for a in alerts if a["due_at"] == "2026-11-27T18:00:00+00:00"]
    assert [a["status"] for a in four_hours] == ["failed"]


async def test_posts_to_one_channel_are_paced(
    chat: Chat, gateway: RecordingGateway, clock: ManualClock
) -> None:
    dispatcher = Dispatcher(
        outbox=chat.runtime.repository,
        deadlines=chat.runtime.repository,
        gateways={"shell": gateway},
        clock=clock,
        pacing={"shell": 1.0},
    )
    for n in range(3):
        await chat.say(f"/deadline add Item {n} due Friday 17:00 America/New_York remind 4h")
    clock.set(FRIDAY_5PM_ET - timedelta(hours=4))
    await run_paced(dispatcher, clock)
    gaps = [
        (b.at - a.at).total_seconds()
        for a, b in zip(gateway.posts, gateway.posts[1:], strict=False)
    ]
    assert gaps == [1.0, 1.0]


async def test_a_busy_channel_does_not_hold_up_the_others(
    chat: Chat, gateway: RecordingGateway, clock: ManualClock
) -> None:
    dispatcher = Dispatcher(
        outbox=chat.runtime.repository,
        deadlines=chat.runtime.repository,
        gateways={"shell": gateway},
        clock=clock,
        pacing={"shell": 1.0},
        # Short leases: the last jobs of the busy channel wait past the lease they were
        # claimed with, and renew it right before their post.
        policy=DispatchPolicy(lease_seconds=3.0, send_timeout=1.5),
    )
    for n in range(5):
        await chat.say(f"/deadline add Busy {n} due Friday 17:00 America/New_York remind 4h")
    await chat.say(
        "/deadline add Quiet due Friday 17:00 America/New_York remind 4h", channel_id="quiet"
    )
    due = FRIDAY_5PM_ET - timedelta(hours=4)
    clock.set(due)
    assert await run_paced(dispatcher, clock) == 6
    quiet = [p for p in gateway.posts if p.channel_id == "quiet"]
    assert [p.at for p in quiet] == [due]
    busy = [p.at for p in gateway.posts if p.channel_id == "negotiation"]
    assert busy == [due + timedelta(seconds=n) for n in range(5)]
    alerts = (await chat.runtime.repository.export_all())["alerts"]
    four_hours = [a for a in alerts if a["due_at"] == "2026-11-27T18:00:00+00:00"]
    assert [a["status"] for a in four_hours] == ["sent"] * 6


@pytest.mark.parametrize(
    ("remind", "offset", "late", "headline"),
    [
        ("1d", timedelta(days=1), LATE, "⏰ 1 day until D1 is due"),
        ("1h", timedelta(hours=1), LATE, "⏰ 1 hour until D1 is due"),
        ("1h", timedelta(hours=1), timedelta(seconds=59), "⏰ 1 hour until D1 is due"),
        ("1m", timedelta(minutes=1), LATE, "⏰ 1 minute until D1 is due"),
        ("1m", timedelta(minutes=1), timedelta(seconds=5), "⏰ 1 minute until D1 is due"),
        (
            "1m",
            timedelta(minutes=1),
            timedelta(seconds=10),  # more than a tenth of the offset
            "⏰ 1 minute until D1 is due (catch-up: the 1 minute reminder, "
            "less than a minute late)",
        ),
        (
            "1h",
            timedelta(hours=1),
            timedelta(minutes=7),
            "⏰ 53 minutes until D1 is due (catch-up: the 1 hour reminder, 7 minutes late)",
        ),
        (
            "1h",
            timedelta(hours=1),
            timedelta(seconds=61),
            "⏰ 59 minutes until D1 is due (catch-up: the 1 hour reminder, 1 minute late)",
        ),
    ],
)
async def test_a_countdown_names_its_offset_unless_it_is_late(
    chat: Chat,
    dispatcher: Dispatcher,
    gateway: RecordingGateway,
    clock: ManualClock,
    remind: str,
    offset: timedelta,
    late: timedelta,
    headline: str,
) -> None:
    await chat.say(
        f"/deadline add Signed usage agreement due Friday 17:00 America/New_York remind {remind}"
    )
    clock.set(FRIDAY_5PM_ET - offset + late)
    assert await dispatcher.run_once() == 1
    (text,) = gateway.channel_texts()
    assert text.splitlines()[0] == f"== {headline} =="


async def test_the_alert_at_the_deadline_says_it_is_now_missed(
    chat: Chat, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await chat.say(
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York remind 1h"
    )
    clock.set(FRIDAY_5PM_ET + timedelta(minutes=3))  # the process was down for three minutes
    await dispatcher.run_once()
    reached = gateway.channel_texts()[-1]
    assert reached.splitlines()[0] == (
        "== 🔔 Deadline reached — D1 is now missed: Signed usage agreement (3 minutes late) =="
    )
    shown = await chat.say("/deadline show D1")
    assert "Status: missed" in shown
    assert "passed without being marked done (missed)" in shown


async def two_replicas(
    *,
    slow_writes: float,
    b_looks_from: float,
    pacing: float,
    channels: list[str],
    lease_seconds: float = 60.0,
    linked: bool = False,
) -> tuple[Counter[str], list[AlertStatus]]:
    """Replica A, whose writes take ``slow_writes`` seconds each (its host is under CPU
    load), claims a deadline due now in each of ``channels``; replica B, whose writes
    are quick, looks for claimable alerts once a second from ``b_looks_from`` seconds
    on, for five minutes. How often each deadline was posted; the alerts' statuses."""
    clock = ManualClock(FRIDAY_5PM_ET)
    store = MemoryDeadlines()
    platform = RecordingGateway(clock)

    def replica(outbox: MemoryOutbox) -> Dispatcher:
        return Dispatcher(
            outbox=outbox,
            deadlines=store,
            gateways={"shell": platform},
            clock=clock,
            policy=DispatchPolicy(lease_seconds=lease_seconds, send_timeout=30.0),
            pacing={"shell": pacing},
        )

    a = replica(MemoryOutbox(store, slow_writes=SlowWrites(clock, slow_writes)))
    b = replica(MemoryOutbox(store))
    start = clock.now()
    for n, channel in enumerate(channels, start=1):
        await add_due_now(store, f"Item {n}", channel, start)
    if linked:  # each channel linked with a second one, "<channel>+": posted in both
        for channel in set(channels):
            await store.add_links(links=[link(channel, channel), link(f"{channel}+", channel)])
    runs = [asyncio.create_task(a.run_once())]
    looks_from, until = start + timedelta(seconds=b_looks_from), start + timedelta(minutes=5)
    looked_at = None
    while clock.now() < until or not all(run.done() for run in runs):
        await asyncio.sleep(0)
        b_idle = len(runs) == 1 or runs[-1].done()
        if looks_from <= clock.now() < until and clock.now() != looked_at and b_idle:
            runs.append(asyncio.create_task(b.run_once()))
            looked_at = clock.now()
        elif clock.sleepers or all(run.done() for run in runs):
            clock.advance(timedelta(seconds=1))
    for run in runs:
        await run
    return platform.reached(), MemoryOutbox(store).statuses()


async def test_two_replicas_post_once_when_one_is_slow_to_record_its_posts() -> None:
    # A's writes take 20 s. The old scheduler posted D2 at 45 s on A's claim (lease
    # to 60 s) and recorded it at 65 s; B, looking at 61 s, took D2 over and posted it
    # again. A post must now be recorded within its lease, with twice the time A's
    # last write took: A gives its claims back, and B posts them.
    posted, statuses = await two_replicas(
        slow_writes=20.0, b_looks_from=30.0, pacing=25.0, channels=["negotiation"] * 2
    )
    assert posted == {"negotiation D1": 1, "negotiation D2": 1}
    assert statuses == [AlertStatus.SENT, AlertStatus.SENT]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    slow_writes=st.integers(0, 45),
    b_looks_from=st.integers(0, 120),
    pacing=st.sampled_from([0.0, 1.0, 25.0]),
    channels=st.lists(st.sampled_from(["negotiation", "side"]), min_size=1, max_size=4),
    # Above twice the send timeout, a job that starts soon after its claim posts
    # without renewing: no replica can claim it before the lease ends.
    lease_seconds=st.sampled_from([60.0, 80.0, 120.0]),
)
def test_two_replicas_post_each_alert_once_whatever_the_timing(
    slow_writes: int, b_looks_from: int, pacing: float, channels: list[str], lease_seconds: float
) -> None:
    posted, statuses = asyncio.run(
        two_replicas(
            slow_writes=slow_writes,
            b_looks_from=b_looks_from,
            pacing=pacing,
            channels=channels,
            lease_seconds=lease_seconds,
        )
    )
    numbered = [f"{c} D{channels[: i + 1].count(c)}" for i, c in enumerate(channels)]
    assert posted == dict.fromkeys(numbered, 1)
    assert statuses == [AlertStatus.SENT] * len(channels)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    slow_writes=st.integers(0, 45),
    b_looks_from=st.integers(0, 120),
    pacing=st.sampled_from([0.0, 25.0]),
    channels=st.lists(st.sampled_from(["negotiation", "side"]), min_size=1, max_size=3),
)
def test_two_replicas_post_each_alert_once_in_each_linked_channel(
    slow_writes: int, b_looks_from: int, pacing: float, channels: list[str]
) -> None:
    posted, statuses = asyncio.run(
        two_replicas(
            slow_writes=slow_writes,
            b_looks_from=b_looks_from,
            pacing=pacing,
            channels=channels,
            linked=True,
        )
    )
    numbered = [f"{c} D{channels[: i + 1].count(c)}" for i, c in enumerate(channels)]
    mirrored = [f"{c}+ D{channels[: i + 1].count(c)}" for i, c in enumerate(channels)]
    assert posted == dict.fromkeys(numbered + mirrored, 1)
    assert statuses == [AlertStatus.SENT] * len(channels)


async def test_a_failure_in_one_linked_channel_is_retried_there_only(clock: ManualClock) -> None:
    store = MemoryDeadlines()
    platform = RecordingGateway(clock)
    engine = Dispatcher(
        outbox=MemoryOutbox(store),
        deadlines=store,
        gateways={"shell": platform},
        clock=clock,
        pacing={"shell": 0.0},
    )
    await add_due_now(store, "Item", "negotiation", clock.now())
    await store.add_links(links=[link("negotiation", "negotiation"), link("legal", "negotiation")])
    platform.failures.append(TransientDelivery("the home channel's platform is down"))
    assert await engine.run_once() == 1
    assert platform.reached() == {"legal D1": 1}
    clock.advance(timedelta(minutes=5))
    assert await engine.run_once() == 1
    assert platform.reached() == {"negotiation D1": 1, "legal D1": 1}
    assert MemoryOutbox(store).statuses() == [AlertStatus.SENT]


def link(channel: str, home: str) -> LinkedChannel:
    return LinkedChannel(
        workspace_id="shell:test",
        channel_id=channel,
        platform="shell",
        home_workspace_id="shell:test",
        home_channel_id=home,
        linked_by="alex",
        linked_by_name="alex",
        linked_at=FRIDAY_5PM_ET,
    )


async def add_due_now(store: MemoryDeadlines, title: str, channel: str, now: datetime) -> None:
    """A deadline due ``now`` in ``channel``, with only its own alert."""
    draft = NewDeadline(
        workspace_id="shell:test",
        channel_id=channel,
        platform="shell",
        title=title,
        due_at=now,
        tz="America/New_York",
        owner_id="alex",
        reminder_offsets=(),
        created_at=now,
    )
    event = Event(deadline_id=0, kind=EventKind.CREATED, at=now, actor_id="alex")
    await store.create_deadline(
        draft=draft, event=event, alerts=(PlannedAlert(offset=timedelta(0), due_at=now),)
    )


@dataclass
class SlowGateway(RecordingGateway):
    """A platform that takes ``seconds`` (on the clock) to answer each post."""

    seconds: float = 9.0

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        await self.clock.sleep(self.seconds)
        return await super().send(workspace_id=workspace_id, channel_id=channel_id, message=message)


async def test_an_alert_claimed_again_while_it_waits_is_posted_once(clock: ManualClock) -> None:
    """One post at a time, 9 s each, six channels: the sixth channel's alert waits past
    its lease (40 s), and the same replica claims it again then. Posted at 45 s on a
    renewed lease, it must not be posted again on the fresh claim at 54 s."""
    store = MemoryDeadlines()
    platform = SlowGateway(clock)
    dispatcher = Dispatcher(
        outbox=MemoryOutbox(store),
        deadlines=store,
        gateways={"shell": platform},
        clock=clock,
        policy=DispatchPolicy(lease_seconds=40.0, send_timeout=10.0, max_posting=1),
        pacing={"shell": 0.0},
    )
    start = clock.now()
    for n in range(1, 7):
        await add_due_now(store, f"Item {n}", f"C{n}", start)
    running = asyncio.create_task(dispatcher.run())
    while clock.now() < start + timedelta(minutes=3):
        for _ in range(50):  # whatever can run without the clock moving, runs
            await asyncio.sleep(0)
        clock.advance(timedelta(seconds=1))
    dispatcher.stop()
    await running
    assert platform.reached() == {f"C{n} D1": 1 for n in range(1, 7)}
    assert MemoryOutbox(store).statuses() == [AlertStatus.SENT] * 6
