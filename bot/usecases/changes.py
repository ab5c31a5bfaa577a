"""Changes only a deadline's owners make: close it, set its reminders, change its owners.

Each refuses anyone but an owner first (``access.require_owner``), before
looking at anything else, and announces what it changed in the deadline's own
channel, wherever it was typed. Extending and moving (``schedule``) are
owner-only too; ``bot.service`` checks them before reading the time.

Owners: the creator owns a deadline; any owner may add co-owners or remove
owners (themselves included) with ``/deadline owners <ref> [remove] @a @b``,
but never the last one. With nobody named, ``owners`` lists them, for anyone
who reaches the deadline.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot import notices, views
from bot.domain import (
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
from bot.grammar import SetOwners, SetReminders
from bot.messages import Audience, Message
from bot.ports import DeadlineStore, NegotiationStore
from bot.usecases import access, escalation

OWNERS_MAX = 20


def _announce(text: str, deadline: Deadline) -> Message:
    message = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    return replace(message, channel_id=deadline.channel_id)


async def close(
    *,
    store: DeadlineStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    status: DeadlineStatus,
) -> list[Message]:
    """Mark ``deadline`` met or cancelled; its pending alerts go, and the people asked
    on it are told (``bot.notices``) in the same write."""
    verb = "marked done (met)" if status is DeadlineStatus.MET else "cancelled"
    doing = (
        f"mark {deadline.ref} done" if status is DeadlineStatus.MET else f"cancel {deadline.ref}"
    )
    access.require_owner(ctx, deadline, doing)
    if deadline.status in (DeadlineStatus.MET, DeadlineStatus.CANCELLED):
        raise InvalidInput(f"{deadline.ref} is already {deadline.status.value}.")
    kind = EventKind.COMPLETED if status is DeadlineStatus.MET else EventKind.CANCELLED
    updated = replace(deadline, status=status, updated_at=now)
    event = Event(deadline_id=deadline.id, kind=kind, at=now, actor_id=ctx.user_id)
    told = ChangeKind.MET if status is DeadlineStatus.MET else ChangeKind.CANCELLED
    change = Change(kind=told, at=now, actor_id=ctx.user_id)
    notice = await notices.notice_of(deadline, change, store=store)
    saved = await store.update_deadline(deadline=updated, event=event, alerts=(), notice=notice)
    text = f"{views.mention(ctx.user_id)} {verb} {saved.ref} {saved.title}. Its reminders are off."
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
