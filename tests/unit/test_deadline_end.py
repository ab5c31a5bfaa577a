"""The deadline's end through the dispatcher, on in-memory stores and a clock moved by
hand: each silence rule, the reveal of sealed positions, and that a retried job
neither extends twice nor records silence twice."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from datetime import datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.domain import AlertStatus, DeadlineStatus
from bot.errors import TransientDelivery
from bot.scheduler import Dispatcher
from bot.service import Parley
from tests.conftest import Chat
from tests.fakes.stores import MemoryDeadlines, MemoryOutbox, MemoryReplay
from tests.unit.test_alerts_in_memory import say
from tests.unit.test_scheduler import RecordingGateway

DUE = datetime.fromisoformat("2026-11-27T22:00:00+00:00")  # Friday 17:00 in New York
LATE = timedelta(milliseconds=4)
ADD = "/deadline add Signed usage agreement due Friday 17:00 America/New_York remind 1h"
RED_LINE = "No mass surveillance of Americans"


@pytest.fixture
def deadlines() -> MemoryDeadlines:
    return MemoryDeadlines()


@pytest.fixture
def outbox(deadlines: MemoryDeadlines) -> MemoryOutbox:
    return MemoryOutbox(deadlines)


@pytest.fixture
def service(deadlines: MemoryDeadlines, clock: ManualClock) -> Parley:
    return Parley(repository=deadlines, clock=clock, keys=MemoryReplay())


@pytest.fixture
def gateway(clock: ManualClock) -> RecordingGateway:
    return RecordingGateway(clock)


@pytest.fixture
def dispatcher(
    deadlines: MemoryDeadlines, outbox: MemoryOutbox, gateway: RecordingGateway, clock: ManualClock
) -> Dispatcher:
    return Dispatcher(
        outbox=outbox,
        deadlines=deadlines,
        gateways={"shell": gateway},
        clock=clock,
        pacing={"shell": 0.0},
        rng=random.Random(7),
    )


async def negotiation(service: Parley, clauses: str) -> None:
    await say(service, "/party add Anthropic @dana")
    await say(service, '/party add "Department of Defense" @pete')
    await say(service, f"{ADD} {clauses}")
    await say(service, "/position ask D1 @legal")


async def send_at(dispatcher: Dispatcher, clock: ManualClock, at: datetime) -> int:
    clock.set(at + LATE)
    return await dispatcher.run_once()


async def reach(dispatcher: Dispatcher, clock: ManualClock, at: datetime) -> int:
    """Send the 1h alert before the deadline ``at``, then what is due at it."""
    assert await send_at(dispatcher, clock, at - timedelta(hours=1)) == 1
    return await send_at(dispatcher, clock, at)


@pytest.mark.parametrize("rule", ["support", "oppose"])
async def test_a_stance_rule_records_the_silent_by_silence_then_the_deadline_is_missed(
    service: Parley,
    dispatcher: Dispatcher,
    gateway: RecordingGateway,
    clock: ManualClock,
    deadlines: MemoryDeadlines,
    rule: str,
) -> None:
    await negotiation(service, f"silence {rule}")
    await say(service, "/position D1 conditional as Anthropic written terms", user="dana")
    assert await reach(dispatcher, clock, DUE) == 1
    reached = gateway.channel_texts()[-1]
    assert "Deadline reached — D1 is now missed" in reached
    assert f"Department of Defense: {rule} (by silence)" in reached
    assert f"@legal: {rule} (by silence)" in reached
    assert "Anthropic: conditional — written terms" in reached
    assert "Silent" not in reached
    history = await say(service, "/deadline show D1")
    assert f"Department of Defense: {rule} (by silence)" in history
    assert "[missed]" in await say(service, "/deadline list")
    [deadline] = deadlines.deadlines.values()
    assert deadline.status is DeadlineStatus.MISSED and deadline.settled_at is not None


async def test_none_lists_the_silent(
    service: Parley, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await negotiation(service, "")
    assert await reach(dispatcher, clock, DUE) == 1
    reached = gateway.channel_texts()[-1]
    assert "Silent: Anthropic, Department of Defense, @legal" in reached
    assert "by silence" not in reached


async def test_extend_moves_the_deadline_once_naming_the_silent_and_reveals_nothing(
    service: Parley,
    dispatcher: Dispatcher,
    gateway: RecordingGateway,
    clock: ManualClock,
    outbox: MemoryOutbox,
) -> None:
    await negotiation(service, "sealed silence extend 1d")
    await say(service, f"/position D1 oppose as Anthropic {RED_LINE}", user="dana")
    assert await reach(dispatcher, clock, DUE) == 1
    announced = gateway.channel_texts()[-1]
    assert "silence from Department of Defense, @legal" in announced
    assert "extended once" in announced and "Sat 28 Nov" in announced
    assert RED_LINE not in announced and "oppose" not in announced
    shown = await say(service, "/deadline show D1")
    assert "[open]" in shown or "Status: open" in shown
    assert "extended by the silence rule" in shown and RED_LINE not in shown
    # The new deadline's alerts are planned; at it, the rule is used up: listed as silent.
    assert await outbox.next_alert_due() == DUE + timedelta(days=1) - timedelta(hours=1)
    assert await reach(dispatcher, clock, DUE + timedelta(days=1)) == 1
    final = gateway.channel_texts()[-1]
    assert "D1 is now missed" in final
    assert "Silent: Department of Defense, @legal" in final
    assert f"Anthropic: oppose — {RED_LINE}" in final
    assert "extend 1d" in await say(service, "/deadline show D1")


async def test_extend_with_nobody_silent_reveals_at_once(
    service: Parley, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await say(service, f"{ADD} sealed silence extend 1d")
    await say(service, f"/position D1 oppose {RED_LINE}", user="sam")
    assert await reach(dispatcher, clock, DUE) == 1
    final = gateway.channel_texts()[-1]
    assert "D1 is now missed" in final and f"terms {RED_LINE}" in final


async def test_the_reveal_at_the_deadline_checks_with_sha256(
    service: Parley, dispatcher: Dispatcher, gateway: RecordingGateway, clock: ManualClock
) -> None:
    await negotiation(service, "sealed silence oppose")
    receipt = await say(service, f"/position D1 support as Anthropic {RED_LINE}", user="dana")
    before = " ".join(gateway.channel_texts())
    assert RED_LINE not in before
    assert await reach(dispatcher, clock, DUE) == 1
    assert RED_LINE not in gateway.channel_texts()[-2]
    final = gateway.channel_texts()[-1]
    revealed = re.search(
        r"label (?P<label>.+?) · stance (?P<stance>\w+) · terms (?P<terms>.*?) · "
        r"salt (?P<salt>[0-9a-f]{32}) · commitment (?P<commitment>[0-9a-f]{64})",
        final,
    )
    assert revealed is not None, final
    text = "\n".join(revealed[name] for name in ("salt", "label", "stance", "terms"))
    assert hashlib.sha256(text.encode()).hexdigest() == revealed["commitment"]
    assert revealed["commitment"] in receipt and revealed["label"] == "Anthropic"
    assert "Department of Defense: oppose (by silence)" in final
    assert "check with /position verify D1" in final.lower() or "/position verify D1" in final
    assert "✅ checks" in await say(service, "/position verify D1")


async def test_a_retried_job_extends_once_and_tells_it_again(
    service: Parley,
    dispatcher: Dispatcher,
    gateway: RecordingGateway,
    clock: ManualClock,
    outbox: MemoryOutbox,
    deadlines: MemoryDeadlines,
) -> None:
    await negotiation(service, "silence extend 2h")
    assert await send_at(dispatcher, clock, DUE - timedelta(hours=1)) == 1
    gateway.failures.append(TransientDelivery("503"))
    assert await send_at(dispatcher, clock, DUE) == 1
    assert len(gateway.channel_texts()) == 1  # the 1h alert; the next post failed
    [deadline] = deadlines.deadlines.values()
    assert deadline.due_at == DUE + timedelta(hours=2) and deadline.silence_extended
    # Claimed again after its back-off: the same announcement, no second extension.
    for _ in range(5):
        clock.advance(timedelta(minutes=1))
        await dispatcher.run_once()
    _, announced = gateway.channel_texts()
    assert "extended once" in announced and "Department of Defense" in announced
    [deadline] = deadlines.deadlines.values()
    assert deadline.due_at == DUE + timedelta(hours=2)
    extended = [e for e in deadlines.events if e.data.get("by_silence") and e.kind == "extended"]
    assert len(extended) == 1


async def test_a_retried_job_records_silence_once(
    service: Parley,
    dispatcher: Dispatcher,
    gateway: RecordingGateway,
    clock: ManualClock,
    outbox: MemoryOutbox,
    deadlines: MemoryDeadlines,
) -> None:
    await negotiation(service, "silence support")
    assert await send_at(dispatcher, clock, DUE - timedelta(hours=1)) == 1
    gateway.failures.append(TransientDelivery("503"))
    assert await send_at(dispatcher, clock, DUE) == 1
    for _ in range(5):
        clock.advance(timedelta(minutes=1))
        await dispatcher.run_once()
    [final] = [t for t in gateway.channel_texts() if "Deadline reached" in t]
    assert final.count("(by silence)") == 3
    silence_events = [e for e in deadlines.events if e.data.get("by_silence")]
    assert len(silence_events) == 3
    assert outbox.statuses() == [AlertStatus.SENT, AlertStatus.SENT]


async def test_on_sqlite_a_retried_extension_then_the_reveal(
    chat: Chat, clock: ManualClock
) -> None:
    """The same on the SQL stores: the claimed alert survives its own extension, a failed
    post is retried without extending twice, and the next deadline reveals."""
    gateway = RecordingGateway(clock)
    sql = Dispatcher(
        outbox=chat.runtime.repository,
        deadlines=chat.runtime.repository,
        gateways={"shell": gateway},
        clock=clock,
        pacing={"shell": 0.0},
        rng=random.Random(7),
    )
    await chat.say('/party add "Department of Defense" @pete')
    await chat.say(f"{ADD} sealed silence extend 1h")
    await chat.say(f"/position D1 oppose {RED_LINE}", user="sam")
    assert await send_at(sql, clock, DUE - timedelta(hours=1)) == 1
    gateway.failures.append(TransientDelivery("503"))
    assert await send_at(sql, clock, DUE) == 1
    for _ in range(5):
        clock.advance(timedelta(seconds=20))
        await sql.run_once()
    announced = [t for t in gateway.channel_texts() if "reached its deadline with silence" in t]
    assert len(announced) == 1 and "silence from Department of Defense" in announced[0]
    assert RED_LINE not in " ".join(gateway.channel_texts())
    history = await chat.say("/deadline show D1")
    assert history.count("extended by the silence rule") == 1
    assert await send_at(sql, clock, DUE + timedelta(hours=1)) == 1
    final = gateway.channel_texts()[-1]
    assert "D1 is now missed" in final and f"terms {RED_LINE}" in final
    assert "Silent: Department of Defense" in final
    assert "✅ checks" in await chat.say("/position verify D1")


async def test_two_replicas_at_the_deadline_post_and_record_once(
    chat: Chat, clock: ManualClock
) -> None:
    gateway = RecordingGateway(clock)
    replicas = [
        Dispatcher(
            outbox=chat.runtime.repository,
            deadlines=chat.runtime.repository,
            gateways={"shell": gateway},
            clock=clock,
            pacing={"shell": 0.0},
            rng=random.Random(seed),
        )
        for seed in (1, 2)
    ]
    await chat.say('/party add "Department of Defense" @pete')
    await chat.say(f"{ADD} sealed silence oppose")
    await chat.say(f"/position D1 support {RED_LINE}", user="sam")
    clock.set(DUE - timedelta(hours=1) + LATE)
    await asyncio.gather(*(replica.run_once() for replica in replicas))
    clock.set(DUE + LATE)
    claimed = await asyncio.gather(*(replica.run_once() for replica in replicas))
    assert sorted(claimed) == [0, 1]
    [final] = [t for t in gateway.channel_texts() if "Deadline reached" in t]
    assert final.count("(by silence)") == 1 and RED_LINE in final
    history = await chat.say("/deadline show D1")
    assert history.count("oppose (by silence)") == 1
    assert history.count("sealed positions revealed") == 1
