"""What happens at a deadline, in DESIGN.md's order, as one step of the alert job at it.

1. The silence rule: ``extend <offset>``, with anyone silent and the extension not
   used yet, moves the deadline once (announced with the names of the silent;
   nothing is revealed, no silence position is recorded).
2. Otherwise the deadline is *settled*, once: silence positions for each silent
   expected party and asked person (``support``/``oppose``, "(by silence)"), and
   the reveal of a sealed deadline's positions.
3. The final matrix (with the reveal) is posted by the job; marking the deadline
   missed follows the post (``bot.alert_jobs``).

Exactly once across replicas and retries: each write is conditional on the state it
changes (``extend_by_silence``: still due at the alert's instant and not extended
yet; ``settle_deadline``: not settled yet), so a job claimed again after a crash, a
failed post or an expired lease finds the step done and only posts what it did.
The extension keeps the alert that announces it (its claim), so a retry of that
alert posts the announcement again from the history instead of extending twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import views
from bot.domain import (
    Alert,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    EventKind,
    Position,
    negotiation_key,
    plan_alerts,
)
from bot.escalation import alert_offsets
from bot.messages import Message
from bot.negotiation import Silence
from bot.ports import NegotiationStore
from bot.usecases.parties import silence as silence_of

ACTOR = "parley"


@dataclass(frozen=True)
class Ended:
    """What the step did: the deadline extended (``announcement`` to post), or settled
    (``state`` as it is now, revealed, with its silence positions)."""

    announcement: Message | None = None
    state: DeadlineState | None = None
    silence: Silence = views.NO_SILENCE


def at_deadline(deadline: Deadline, alerts: list[Alert]) -> Alert | None:
    """The job's alert at a deadline's own instant, if it has one."""
    return next((a for a in alerts if a.offset == timedelta(0)), None)


async def end_deadline(
    store: NegotiationStore, *, state: DeadlineState, alerts: list[Alert], now: datetime
) -> Ended:
    """Apply the silence rule, or settle the deadline (see the module docstring)."""
    deadline = state.deadline
    alert = at_deadline(deadline, alerts)
    ws = deadline.workspace_id
    if alert is not None and deadline.due_at > alert.due_at and deadline.silence_extended:
        retold = await _retell_extension(store, deadline, alert)
        if retold is not None:
            return Ended(announcement=retold)
    silence = await silence_of(store, ws, deadline)
    rule = deadline.silence
    if (
        alert is not None
        and rule.extend_by is not None
        and silence
        and not deadline.silence_extended
        and deadline.settled_at is None
        and deadline.status is DeadlineStatus.OPEN
        and deadline.due_at == alert.due_at
    ):
        extended = await _extend(store, deadline, alert, silence, alerts, now)
        if extended is not None:
            return Ended(announcement=extended)
    if (
        deadline.settled_at is None
        and deadline.status is DeadlineStatus.OPEN
        and deadline.due_at <= now  # not one moved later by its owners since the claim
    ):
        await _settle(store, deadline, silence, now)
    [fresh] = await store.load_deadline_states(workspace_id=ws, deadline_ids=[deadline.id])
    return Ended(state=fresh, silence=await silence_of(store, ws, fresh.deadline))


async def _extend(
    store: NegotiationStore,
    deadline: Deadline,
    alert: Alert,
    silence: Silence,
    alerts: list[Alert],
    now: datetime,
) -> Message | None:
    assert deadline.silence.extend_by is not None
    new_due = deadline.due_at + deadline.silence.extend_by
    silent = [*silence.parties, *(views.mention(u) for u in silence.people)]
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.EXTENDED,
        at=now,
        actor_id=ACTOR,
        data={
            "by_silence": True,
            "silent": silent,
            "from": deadline.due_at.isoformat(),
            "to": new_due.isoformat(),
        },
    )
    moved = replace(deadline, due_at=new_due, updated_at=now)
    done = await store.extend_by_silence(
        deadline=moved,
        previous_due=deadline.due_at,
        event=event,
        alerts=plan_alerts(due_at=new_due, offsets=await _alert_offsets(store, deadline), now=now),
        keep_alert_ids=[a.id for a in alerts],
    )
    if not done:
        return None
    return views.extended_by_silence(moved, previous_due=alert.due_at, silence=silence)


async def _alert_offsets(store: NegotiationStore, deadline: Deadline) -> tuple[timedelta, ...]:
    """The offsets the extended deadline's alert rows stand at: its reminders and the
    rungs of its escalation ladder, if it has one (``bot.escalation``)."""
    ladders = await store.get_ladders(
        workspace_id=deadline.workspace_id, deadline_ids=[deadline.id]
    )
    return alert_offsets(deadline, ladders.get(deadline.id))


async def _retell_extension(
    store: NegotiationStore, deadline: Deadline, alert: Alert
) -> Message | None:
    """The announcement of an extension this alert made before (a retried post)."""
    events = await store.list_events(workspace_id=deadline.workspace_id, deadline_id=deadline.id)
    made = next(
        (
            e
            for e in reversed(events)
            if e.kind is EventKind.EXTENDED
            and e.data.get("by_silence")
            and e.data.get("from") == alert.due_at.isoformat()
        ),
        None,
    )
    if made is None:
        return None
    silent = tuple(str(name) for name in made.data.get("silent", []))
    moved = replace(deadline, due_at=datetime.fromisoformat(str(made.data["to"])))
    return views.extended_by_silence(
        moved, previous_due=alert.due_at, silence=Silence(parties=silent)
    )


async def _settle(
    store: NegotiationStore, deadline: Deadline, silence: Silence, now: datetime
) -> None:
    ws = deadline.workspace_id
    positions: list[Position] = []
    stance = deadline.silence.stance
    if stance is not None:
        offers = await store.list_offers(workspace_id=ws, deadline_id=deadline.id)
        parties = await store.list_parties(
            workspace_id=ws, negotiation=negotiation_key(ws, deadline.channel_id)
        )
        silent = [p for p in parties if p.name in silence.parties]
        for stakeholder, label in [
            *((p.stakeholder, p.name) for p in silent),
            *((u, views.mention(u)) for u in silence.people),
        ]:
            positions.append(
                Position(
                    deadline_id=deadline.id,
                    stakeholder=stakeholder,
                    label=label,
                    stance=stance,
                    terms="",
                    recorded_by=ACTOR,
                    recorded_at=now,
                    offer=offers[-1].version if offers else None,
                    by_silence=True,
                )
            )
    events = [
        Event(
            deadline_id=deadline.id,
            kind=EventKind.POSITION_RECORDED,
            at=now,
            actor_id=ACTOR,
            data={
                "stakeholder": p.stakeholder,
                "label": p.label,
                "stance": p.stance.value,
                "terms": "",
                "by_silence": True,
            },
        )
        for p in positions
    ]
    if deadline.sealed:
        sealed = await store.list_positions(workspace_id=ws, deadline_id=deadline.id)
        count = sum(1 for p in sealed if p.commitment is not None)
        events.append(
            Event(
                deadline_id=deadline.id,
                kind=EventKind.REVEALED,
                at=now,
                actor_id=ACTOR,
                data={"count": count},
            )
        )
    await store.settle_deadline(deadline=deadline, at=now, positions=positions, events=events)
