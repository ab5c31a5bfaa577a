"""``/deadline escalate`` (owners set a deadline's ladder) and ``/position nudge``
(anyone in the channel messages the silent now, at most once an hour per deadline).

Who is silent is ``bot.negotiation``'s one definition (``parties.silence``); the
ladder itself, and what its rungs do at their offsets, is ``bot.escalation`` and
the dispatcher's (``bot.alert_jobs``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot import views
from bot.domain import (
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    format_offset,
    negotiation_key,
    plan_alerts,
)
from bot.errors import InvalidInput
from bot.escalation import NUDGE_INTERVAL, Ladder, Silent, alert_offsets, ladder_text, silent_on
from bot.grammar_escalation import SetEscalation
from bot.messages import Audience, Message
from bot.ports import NegotiationStore
from bot.usecases import access
from bot.views import escalation as escalation_views


async def ladder_of(store: NegotiationStore, deadline: Deadline) -> Ladder | None:
    found = await store.get_ladders(workspace_id=deadline.workspace_id, deadline_ids=[deadline.id])
    return found.get(deadline.id)


async def planned_offsets(store: NegotiationStore, deadline: Deadline) -> tuple[timedelta, ...]:
    """The offsets of ``deadline``'s alert rows: its reminders and its ladder's rungs."""
    return alert_offsets(deadline, await ladder_of(store, deadline))


async def escalate(
    *,
    store: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    command: SetEscalation,
) -> list[Message]:
    """Set (or turn off) the ladder; its rungs become alert rows at once."""
    access.require_owner(ctx, deadline, f"change {deadline.ref}'s escalation")
    if deadline.status is not DeadlineStatus.OPEN:
        raise InvalidInput(
            f"{deadline.ref} is {deadline.status.value}; there is nobody to escalate to."
        )
    ladder = command.ladder
    text = None if ladder is None else ladder_text(ladder)
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.ESCALATION_CHANGED,
        at=now,
        actor_id=ctx.user_id,
        data={"ladder": text},
    )
    alerts = plan_alerts(due_at=deadline.due_at, offsets=alert_offsets(deadline, ladder), now=now)
    await store.set_ladder(deadline=deadline, ladder=ladder, event=event, alerts=alerts)
    who = views.mention(ctx.user_id)
    if ladder is None:
        said = (
            f"{who} turned escalation off for {deadline.ref} {deadline.title}: the silent asked "
            "get reminders at 1d and 1h."
        )
    else:
        said = (
            f"{who} set escalation for {deadline.ref} {deadline.title} to {text} "
            f"({escalation_views.ladder_words(ladder)}). Each rung reaches only those still silent."
        )
        past = sorted({r.offset for r in ladder if deadline.due_at - r.offset <= now}, reverse=True)
        if past:
            said += f" Already past, skipped: {', '.join(map(format_offset, past))}."
    announce = views.info_message(said, user_id=None, audience=Audience.CHANNEL)
    return [replace(announce, channel_id=deadline.channel_id)]


async def silent_now(store: NegotiationStore, deadline: Deadline) -> Silent:
    """Who is silent on ``deadline`` now, with the silent parties' reps."""
    ws = deadline.workspace_id
    negotiation = negotiation_key(deadline.workspace_id, deadline.channel_id)
    return silent_on(
        deadline,
        parties=await store.list_parties(workspace_id=ws, negotiation=negotiation),
        expected=await store.get_expected(workspace_id=ws, deadline_id=deadline.id),
        positions=await store.list_positions(workspace_id=ws, deadline_id=deadline.id),
        requests=await store.list_position_requests(workspace_id=ws, deadline_id=deadline.id),
    )


async def nudge(
    *, store: NegotiationStore, now: datetime, ctx: Context, deadline: Deadline
) -> list[Message]:
    """DM every silent asked person and rep of a silent party; at most once an hour
    per deadline (stored, so it holds across replicas)."""
    if deadline.status is not DeadlineStatus.OPEN or deadline.due_at <= now:
        state = deadline.status.value if deadline.status is not DeadlineStatus.OPEN else "past due"
        raise InvalidInput(f"{deadline.ref} is {state}; there is nobody to nudge.")
    who = await silent_now(store, deadline)
    reply = escalation_views.nudge_reply(deadline, silent=who, user_id=ctx.user_id)
    recipients = who.recipients()
    if not recipients:
        return [reply]
    last = await store.claim_nudge(
        workspace_id=deadline.workspace_id,
        deadline_id=deadline.id,
        now=now,
        not_before=now - NUDGE_INTERVAL,
        event=Event(
            deadline_id=deadline.id,
            kind=EventKind.NUDGED,
            at=now,
            actor_id=ctx.user_id,
            data={"people": list(who.people), "parties": [p.name for p in who.parties]},
        ),
    )
    if last is not None:
        raise InvalidInput(
            escalation_views.nudge_refused(
                deadline, last=last, again=last + NUDGE_INTERVAL, now=now
            )
        )
    directs = [
        escalation_views.silent_dm(deadline, user_id=user_id, party=party, now=now)
        for user_id, party in recipients
    ]
    return [reply, *directs]
