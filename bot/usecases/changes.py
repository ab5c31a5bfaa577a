"""Changes only a deadline's owners make: close it (done, with its outcome, or
cancelled), set its reminders, change its owners, seal it, set its silence rule.

Each refuses anyone but an owner first (``access.require_owner``), before
looking at anything else, and announces what it changed in the deadline's own
channel, wherever it was typed. Extending and moving (``schedule``) are
owner-only too; ``bot.service`` checks them before reading the time.

Owners: the creator owns a deadline; any owner may add co-owners or remove
owners (themselves included) with ``/deadline owners <ref> [remove] @a @b``,
but never the last one. With nobody named, ``owners`` lists them, for anyone
who reaches the deadline.

Closing settles the deadline (``Deadline.settled_at``): a sealed one is revealed
in the same write, and the final matrix is posted with the outcome.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot import notices, views
from bot.domain import (
    REASON_MAX,
    Change,
    ChangeKind,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    format_offset,
    plan_alerts,
)
from bot.errors import InvalidInput
from bot.escalation import alert_offsets
from bot.grammar import SetOwners, SetReminders, SetSilence
from bot.messages import Audience, Message
from bot.ports import DeadlineStore, NegotiationStore
from bot.usecases import access, escalation, parties

OWNERS_MAX = 20


def _announce(text: str, deadline: Deadline) -> Message:
    message = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    return replace(message, channel_id=deadline.channel_id)


async def close(
    *,
    store: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    status: DeadlineStatus,
    reason: str = "",
) -> list[Message]:
    """Mark ``deadline`` met (with its outcome, ``reason``) or cancelled; its pending
    alerts go, a sealed deadline is revealed, and the people asked on it are told
    (``bot.notices``) in the same write. The channel sees the final matrix."""
    met = status is DeadlineStatus.MET
    verb = "marked done (met)" if met else "cancelled"
    doing = f"mark {deadline.ref} done" if met else f"cancel {deadline.ref}"
    access.require_owner(ctx, deadline, doing)
    if deadline.status in (DeadlineStatus.MET, DeadlineStatus.CANCELLED):
        raise InvalidInput(f"{deadline.ref} is already {deadline.status.value}.")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"The reason is {len(reason)} characters; the limit is {REASON_MAX}.")
    kind = EventKind.COMPLETED if met else EventKind.CANCELLED
    revealing = deadline.sealed_now
    updated = replace(
        deadline, status=status, updated_at=now, settled_at=deadline.settled_at or now
    )
    data: dict[str, object] = {"reason": reason} if reason else {}
    if revealing:
        data["revealed"] = True
    event = Event(deadline_id=deadline.id, kind=kind, at=now, actor_id=ctx.user_id, data=data)
    told = ChangeKind.MET if met else ChangeKind.CANCELLED
    change = Change(kind=told, at=now, actor_id=ctx.user_id, reason=reason)
    notice = await notices.notice_of(deadline, change, store=store)
    saved = await store.update_deadline(deadline=updated, event=event, alerts=(), notice=notice)
    because = f" because {reason}" if reason else ""
    who = views.mention(ctx.user_id)
    text = f"{who} {verb} {saved.ref} {saved.title}{because}. Its reminders are off."
    messages = [_announce(text, saved)]
    if met or revealing:
        ws = saved.workspace_id
        outcome = f"met{because}" if met else "cancelled"
        messages.append(
            views.final_matrix(
                saved,
                now=now,
                headline=f"Final positions on {saved.ref} {saved.title}",
                positions=await store.list_positions(workspace_id=ws, deadline_id=saved.id),
                requests=await store.list_position_requests(workspace_id=ws, deadline_id=saved.id),
                silence=await parties.silence(store, ws, saved),
                offers=await store.list_offers(workspace_id=ws, deadline_id=saved.id),
                outcome=outcome,
            )
        )
    return messages


async def seal(
    *, store: DeadlineStore, now: datetime, ctx: Context, deadline: Deadline
) -> list[Message]:
    """``/deadline seal``: positions become commit-reveal, only while none is recorded."""
    access.require_owner(ctx, deadline, f"seal {deadline.ref}")
    if deadline.sealed:
        raise InvalidInput(f"{deadline.ref} is already sealed.")
    if deadline.status is not DeadlineStatus.OPEN:
        raise InvalidInput(
            f"{deadline.ref} is {deadline.status.value}; it can no longer be sealed."
        )
    if await store.list_positions(workspace_id=ctx.workspace_id, deadline_id=deadline.id):
        raise InvalidInput(
            f"{deadline.ref} already has positions, shown to everyone; a deadline can be "
            "sealed only before any position is recorded. Nothing was changed."
        )
    event = Event(deadline_id=deadline.id, kind=EventKind.SEALED, at=now, actor_id=ctx.user_id)
    updated = replace(deadline, sealed=True, updated_at=now)
    saved = await store.update_deadline(deadline=updated, event=event, alerts=None)
    text = (
        f"{views.mention(ctx.user_id)} sealed positions on {saved.ref} {saved.title}: each "
        "position is answered with a private receipt, the channel sees only its commitment, "
        "and all are revealed at the deadline."
    )
    return [_announce(text, saved)]


async def set_silence(
    *, store: DeadlineStore, now: datetime, ctx: Context, deadline: Deadline, command: SetSilence
) -> list[Message]:
    """``/deadline silence``: what happens to the silent at the deadline."""
    access.require_owner(ctx, deadline, f"change {deadline.ref}'s silence rule")
    if deadline.status is not DeadlineStatus.OPEN:
        raise InvalidInput(f"{deadline.ref} is {deadline.status.value}; its deadline has passed.")
    rule = command.rule
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.SILENCE_CHANGED,
        at=now,
        actor_id=ctx.user_id,
        data={"rule": rule.text},
    )
    saved = await store.update_deadline(
        deadline=replace(deadline, silence=rule, updated_at=now), event=event, alerts=None
    )
    text = (
        f"{views.mention(ctx.user_id)} set the silence rule of {saved.ref} {saved.title}: "
        f"{views.silence_rule_text(saved)}."
    )
    return [_announce(text, saved)]


async def set_reminders(
    *,
    store: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    command: SetReminders,
) -> list[Message]:
    """Replace the reminder offsets; those already past are skipped, and said so."""
    access.require_owner(ctx, deadline, f"change {deadline.ref}'s reminders")
    if deadline.status is not DeadlineStatus.OPEN:
        raise InvalidInput(
            f"{deadline.ref} is {deadline.status.value}; it has no reminders to set."
        )
    labels = ", ".join(format_offset(o) for o in command.offsets)
    updated = replace(deadline, reminder_offsets=tuple(command.offsets), updated_at=now)
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.REMINDERS_CHANGED,
        at=now,
        actor_id=ctx.user_id,
        data={"offsets": labels},
    )
    ladder = await escalation.ladder_of(store, deadline)
    alerts = plan_alerts(due_at=deadline.due_at, offsets=alert_offsets(updated, ladder), now=now)
    saved = await store.update_deadline(deadline=updated, event=event, alerts=alerts)
    skipped = [o for o in command.offsets if saved.due_at - o <= now]
    note = (
        f" (already past, skipped: {', '.join(format_offset(o) for o in skipped)})"
        if skipped
        else ""
    )
    text = f"Reminders for {saved.ref} set to {labels}, plus one at the deadline{note}."
    return [views.info_message(text, user_id=ctx.user_id)]


async def change_owners(
    *, store: DeadlineStore, now: datetime, ctx: Context, deadline: Deadline, command: SetOwners
) -> list[Message]:
    """List the owners (nobody named), or add or remove the people named."""
    if not command.people:
        text = f"Owners of {deadline.ref} {deadline.title}: {views.owner_names(deadline)}."
        return [views.info_message(text, user_id=ctx.user_id)]
    access.require_owner(ctx, deadline, f"change {deadline.ref}'s owners")
    named = access.people(ctx, command.people)
    if command.remove:
        strangers = [u for u in named if u not in deadline.owners]
        if strangers:
            raise InvalidInput(
                f"{views.mention(strangers[0])} is not an owner of {deadline.ref}. "
                "Nothing was changed."
            )
        owners = tuple(o for o in deadline.owners if o not in named)
        if not owners:
            raise InvalidInput(
                f"{deadline.ref} needs an owner: that would leave none. Add another owner "
                "first. Nothing was changed.",
                hint=f"/deadline owners {deadline.ref} <@user>",
            )
        changed, data_key, verb = named, "removed", "removed"
    else:
        changed = [u for u in named if u not in deadline.owners]
        if not changed:
            raise InvalidInput(
                f"{', '.join(map(views.mention, named))} already own {deadline.ref}. "
                "Nothing was changed."
            )
        owners = (*deadline.owners, *changed)
        if len(owners) > OWNERS_MAX:
            raise InvalidInput(f"A deadline can have at most {OWNERS_MAX} owners.")
        data_key, verb = "added", "added"
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.OWNERS_CHANGED,
        at=now,
        actor_id=ctx.user_id,
        data={data_key: changed},
    )
    updated = replace(deadline, owner_id=owners[0], owners=owners, updated_at=now)
    saved = await store.update_owners(deadline=updated, previous=deadline.owners, event=event)
    who = ", ".join(map(views.mention, changed))
    role = "as owners of" if verb == "removed" else "as co-owners of"
    text = (
        f"{views.mention(ctx.user_id)} {verb} {who} {role} {saved.ref} {saved.title}. "
        f"Owners now: {views.owner_names(saved)}."
    )
    return [_announce(text, saved)]
