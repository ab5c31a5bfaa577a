"""The in-memory stores of tests/fakes/stores.py hold to what the SQL stores do.

One random story of deadline changes and dispatcher calls is told to both the
fakes and ``SqlRepository`` on SQLite (whose leases run on the caller's clock,
as the fakes' do); every answer, and every read after each step, must agree.
Alert ids are the store's own business (SQLite reuses freed ones), so alerts
are compared by what they are, and the n-th claimed alert of one side is the
n-th of the other.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from bot.domain import (
    Alert,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    NewDeadline,
    Position,
    PositionRequest,
    Stance,
    plan_alerts,
)
from bot.errors import NotFound
from bot.escalation import DEFAULT_LADDER
from bot.ports import AlertOutbox, DeadlineStore, EscalationStore, ReplayStore
from storage.db import make_engine
from storage.repository import SqlRepository
from tests.fakes.stores import MemoryDeadlines, MemoryOutbox, MemoryReplay

START = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
WORKSPACES = ("A", "B")
OTHER_WORKSPACE = {"A": "B", "B": "A"}
USERS = ("U1", "U2")
# Deadlines a few hours ahead and alerts minutes to hours apart, so that stories of a
# few dozen steps see alerts fall due, get claimed, leased, retried and settled.
OFFSETS = (timedelta(hours=2), timedelta(hours=1), timedelta(minutes=15))

deadline_index = st.integers(0, 3)
ACTIONS = st.one_of(
    st.tuples(
        st.just("add"),
        st.sampled_from(WORKSPACES),
        st.integers(1, 6),
        st.frozensets(st.sampled_from(OFFSETS)),
    ),
    st.tuples(st.just("move"), deadline_index, st.integers(-2, 4), st.booleans()),
    st.tuples(
        st.just("close"),
        deadline_index,
        st.sampled_from([DeadlineStatus.MET, DeadlineStatus.CANCELLED]),
    ),
    st.tuples(
        st.just("position"),
        deadline_index,
        st.sampled_from(USERS),
        st.sampled_from(Stance),
        st.sampled_from([False, False, True]),  # typed from the other workspace
    ),
    st.tuples(
        st.just("ask"),
        deadline_index,
        st.lists(st.sampled_from(USERS), max_size=3),
        st.sampled_from([False, False, True]),  # asked from the other workspace
    ),
    st.tuples(st.just("claim"), st.integers(1, 4), st.sampled_from([60.0, 3600.0])),
    st.tuples(st.just("sent"), st.integers(0, 3)),
    st.tuples(st.just("failed"), st.integers(0, 3)),
    st.tuples(st.just("retry"), st.integers(0, 3), st.integers(0, 60)),
    st.tuples(st.just("renew"), st.sampled_from([60.0, 3600.0])),
    st.tuples(st.just("release")),
    st.tuples(st.just("ladder"), deadline_index, st.booleans()),
    st.tuples(st.just("nudge"), deadline_index),
)
# Each action comes some minutes after the one before it.
Story = list[tuple[int, tuple[Any, ...]]]
STEPS = st.lists(st.tuples(st.integers(0, 45), ACTIONS), min_size=10, max_size=40)


def shown(value: Any) -> Any:
    """What the stores must agree on: everything but alert ids and deadline uids."""
    if isinstance(value, Alert):
        return replace(value, id=0)
    if isinstance(value, Deadline):
        return replace(value, uid="")
    if isinstance(value, list | tuple):
        return [shown(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: shown(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


@dataclass
class Side:
    """One implementation, and the alerts it has claimed and not yet settled."""

    deadlines: DeadlineStore
    outbox: AlertOutbox
    escalations: EscalationStore
    held: list[Alert] = field(default_factory=list)

    def pick(self, n: int) -> Alert | None:
        return self.held[n] if n < len(self.held) else None


async def outcome(call: Any) -> Any:
    try:
        return ("ok", shown(await call))
    except NotFound:
        return ("not found",)


async def step(side: Side, action: tuple[Any, ...], now: datetime, made: list[Deadline]) -> Any:
    kind, *args = action
    if kind == "add":
        ws, hours, offsets = args
        due = now + timedelta(hours=hours)
        draft = NewDeadline(ws, "C1", "slack", f"T{len(made)}", due, "UTC", "U1", (), now)
        created = Event(0, EventKind.CREATED, now, "U1")
        planned = plan_alerts(due_at=due, offsets=tuple(offsets), now=now)
        return await outcome(
            side.deadlines.create_deadline(draft=draft, event=created, alerts=planned)
        )
    if kind in ("ladder", "nudge"):
        if args[0] >= len(made):
            return None
        stored = made[args[0]]
        if kind == "nudge":
            return await outcome(
                side.escalations.claim_nudge(
                    workspace_id=stored.workspace_id,
                    deadline_id=stored.id,
                    now=now,
                    not_before=now - timedelta(hours=1),
                    event=Event(
                        deadline_id=stored.id, kind=EventKind.NUDGED, at=now, actor_id="U1"
                    ),
                )
            )
        ladder = DEFAULT_LADDER if args[1] else None
        offsets = OFFSETS + (tuple(r.offset for r in ladder) if ladder else ())
        side.held = [alert for alert in side.held if alert.deadline_id != stored.id]
        return await outcome(
            side.escalations.set_ladder(
                deadline=stored,
                ladder=ladder,
                event=Event(stored.id, EventKind.ESCALATION_CHANGED, now, "U1"),
                alerts=plan_alerts(due_at=stored.due_at, offsets=offsets, now=now),
            )
        )
    if kind in ("move", "close", "position", "ask"):
        if args[0] >= len(made):
            return None
        stored = made[args[0]]
        latest = await side.deadlines.get_deadline_by_id(
            workspace_id=stored.workspace_id, deadline_id=stored.id
        )
        assert latest is not None
        changed = Event(stored.id, EventKind.EXTENDED, now, "U1")
        if kind == "close" or (kind == "move" and args[2]):
            # Its pending alerts are replaced, claimed ones too. The claims are dropped:
            # SQLite may give a replacement the id of an alert it replaced.
            side.held = [alert for alert in side.held if alert.deadline_id != stored.id]
        if kind == "move":
            due = latest.due_at + timedelta(hours=args[1])
            moved = replace(latest, due_at=due, updated_at=now)
            alerts = plan_alerts(due_at=due, offsets=OFFSETS, now=now) if args[2] else None
            return await outcome(
                side.deadlines.update_deadline(deadline=moved, event=changed, alerts=alerts)
            )
        if kind == "close":
            closed = replace(latest, status=args[1], updated_at=now)
            return await outcome(
                side.deadlines.update_deadline(deadline=closed, event=changed, alerts=())
            )
        if kind == "position":
            user, stance, elsewhere = args[1:]
            ws = OTHER_WORKSPACE[stored.workspace_id] if elsewhere else stored.workspace_id
            position = Position(stored.id, user, user, stance, "", user, now)
            return await outcome(
                side.deadlines.record_position(workspace_id=ws, position=position, event=changed)
            )
        users, elsewhere = args[1:]
        ws = OTHER_WORKSPACE[stored.workspace_id] if elsewhere else stored.workspace_id
        requests = [PositionRequest(stored.id, user, "U1", now) for user in users]
        return await outcome(
            side.deadlines.add_position_requests(workspace_id=ws, requests=requests, event=changed)
        )
    if kind == "claim":
        limit, lease = args
        claimed = await side.outbox.claim_due_alerts(now=now, lease_seconds=lease, limit=limit)
        # An alert claimed again (its lease ran out) is held once, as claimed last.
        held = {alert.id: alert for alert in side.held + claimed}
        side.held = sorted(held.values(), key=lambda alert: (alert.due_at, alert.id))
        return shown(claimed)
    if kind in ("sent", "failed", "retry"):
        alert = side.pick(args[0])
        if alert is None:
            return None
        side.held.remove(alert)
        if kind == "sent":
            await side.outbox.mark_alerts_sent(alert_ids=[alert.id], sent_at=now)
        elif kind == "failed":
            await side.outbox.mark_alert_failed(alert_id=alert.id, error="gone")
        else:
            retry_at = now + timedelta(minutes=args[1])
            await side.outbox.release_alert(alert_id=alert.id, retry_at=retry_at, error="busy")
        return shown(alert)
    if kind == "renew":
        ids = [alert.id for alert in side.held]
        kept = await side.outbox.renew_leases(alert_ids=ids, lease_seconds=args[0], now=now)
        side.held = [alert for alert in side.held if alert.id in kept]
        return len(kept)
    assert kind == "release"
    # The claims stay held: a later renew of given-back alerts must keep none of them.
    await side.outbox.release_leases(alert_ids=[alert.id for alert in side.held])
    return None


async def reads(side: Side, now: datetime) -> Any:
    """What the dispatcher and the channel would see after each step."""
    return [
        await side.outbox.next_alert_due(),
        await side.outbox.count_due_alerts(now=now),
        *[shown(await side.deadlines.list_deadlines(workspace_id=ws)) for ws in WORKSPACES],
    ]


async def details(side: Side, made: list[Deadline]) -> Any:
    """Every deadline's positions, requests and history, at the end of the story."""
    seen = []
    for ws in WORKSPACES:
        ids = [d.id for d in made]
        states = await side.deadlines.load_deadline_states(workspace_id=ws, deadline_ids=ids)
        events = [await side.deadlines.list_events(workspace_id=ws, deadline_id=d.id) for d in made]
        ladders = await side.escalations.get_ladders(workspace_id=ws, deadline_ids=ids)
        seen += [shown(sorted(states, key=lambda s: s.deadline.id)), shown(events), ladders]
    return seen


async def tell_both(path: Path, steps: Story) -> None:
    sql = SqlRepository(make_engine(f"sqlite+aiosqlite:///{path}"))
    memory = MemoryDeadlines()
    sides = (Side(sql, sql, sql), Side(memory, MemoryOutbox(memory), memory))
    now, made = START, list[Deadline]()
    try:
        for minutes, action in steps:
            now += timedelta(minutes=minutes)
            answers = [await step(side, action, now, made) for side in sides]
            assert answers[0] == answers[1], action
            if action[0] == "add":
                made.append(answers[0][1])
            seen = [await reads(side, now) for side in sides]
            assert seen[0] == seen[1], action
        told = [await details(side, made) for side in sides]
        assert told[0] == told[1]
    finally:
        await sql.close()


# Stories that random ones reach too seldom.
CLAIMS_IN_ORDER_LEASED_AND_RETRIED: Story = [
    (0, ("add", "A", 3, frozenset())),
    (0, ("add", "A", 1, frozenset())),
    (181, ("claim", 1, 60.0)),  # the earlier alert first, though added later
    (0, ("claim", 4, 60.0)),  # not the one still leased
    (0, ("retry", 0, 5)),
    (5, ("claim", 4, 60.0)),  # the retried one, one attempt on; the other's lease ran out
]
RENEW_AFTER_GIVING_BACK: Story = [
    (0, ("add", "A", 1, frozenset())),
    (61, ("claim", 4, 60.0)),
    (0, ("release",)),
    (0, ("renew", 60.0)),
]
ASKED_AGAIN_AND_ANSWERED: Story = [
    (0, ("add", "A", 2, frozenset())),
    (0, ("ask", 0, ["U1"], False)),
    (5, ("ask", 0, ["U1", "U2"], False)),
    (5, ("position", 0, "U1", Stance.SUPPORT, False)),
    (5, ("ask", 0, ["U1"], False)),
    (5, ("position", 0, "U1", Stance.OPPOSE, False)),
]
LADDER_AND_NUDGES: Story = [
    (0, ("add", "A", 30, frozenset())),
    (0, ("ladder", 0, True)),
    (0, ("nudge", 0)),
    (30, ("nudge", 0)),
    (30, ("nudge", 0)),
    (0, ("ladder", 0, False)),
]
FROM_THE_OTHER_WORKSPACE: Story = [
    (0, ("add", "B", 2, frozenset())),
    (0, ("ask", 0, ["U1"], True)),
    (0, ("position", 0, "U1", Stance.SUPPORT, True)),
]


@pytest.mark.slow
@settings(
    max_examples=80,
    # No shrinking: every example opens a database, so it would take minutes. The
    # failing story is printed whole.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
@example(steps=CLAIMS_IN_ORDER_LEASED_AND_RETRIED)
@example(steps=RENEW_AFTER_GIVING_BACK)
@example(steps=ASKED_AGAIN_AND_ANSWERED)
@example(steps=FROM_THE_OTHER_WORKSPACE)
@example(steps=LADDER_AND_NUDGES)
def test_the_memory_stores_answer_as_the_sql_stores_do(
    steps: Story, sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / f"told-{secrets.token_hex(4)}.db"
    shutil.copyfile(sqlite_template, path)
    asyncio.run(tell_both(path, steps))


async def replay_story(store: ReplayStore) -> list[object]:
    later = START + timedelta(minutes=5)
    answers: list[object] = [
        await store.claim_replay_key(key="a", now=START, expires_at=later),
        await store.claim_replay_key(key="a", now=START, expires_at=later),
        await store.claim_replay_key(key="b", now=START, expires_at=START),
        # expired by ``later``: taken over
        await store.claim_replay_key(key="a", now=later, expires_at=later + timedelta(hours=1)),
    ]
    await store.release_replay_key(key="a")
    return [
        *answers,
        await store.claim_replay_key(key="a", now=START, expires_at=later),
        await store.prune_replay_keys(now=later + timedelta(minutes=1)),
        await store.deployment_secret(name="buttons", create="1" * 64, now=START),
        await store.deployment_secret(name="buttons", create="2" * 64, now=START),
    ]


async def test_the_memory_replay_store_answers_as_the_sql_one_does(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "replay.db"
    shutil.copyfile(sqlite_template, path)
    sql = SqlRepository(make_engine(f"sqlite+aiosqlite:///{path}"))
    try:
        told = await replay_story(sql)
    finally:
        await sql.close()
    assert told == await replay_story(MemoryReplay())
    assert told == [True, False, True, True, True, 2, "1" * 64, "1" * 64]
