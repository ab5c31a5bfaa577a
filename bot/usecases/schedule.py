"""Setting when a deadline is due: add it, extend it (later only), move it (either way).

Times are read in the typing user's zone (``ctx.tz``). A new deadline takes
the zone its time was meant in; an extended or moved one keeps its own zone
unless the text names another. ``extend`` reads a phrase without an explicit
date as the first match after the current due time ("Monday 09:00" on a
Friday deadline is the Monday after it) and refuses a time that is not
later; ``move`` takes any future time but the current one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import notices, views
from bot.domain import (
    DEFAULT_OFFSETS,
    NO_RULE,
    REASON_MAX,
    TITLE_MAX,
    Change,
    ChangeKind,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    NewDeadline,
    format_offset,
    negotiation_key,
    plan_alerts,
)
from bot.errors import InvalidInput
from bot.grammar import AddDeadline, ExtendDeadline, MoveDeadline
from bot.messages import Message, Role, Text, format_local
from bot.ports import NegotiationStore
from bot.timeplace import describe
from bot.usecases import escalation
from bot.usecases.parties import match as match_party
from bot.when import parse_when


async def add_deadline(
    *,
    repository: NegotiationStore,
    now: datetime,
    ctx: Context,
    command: AddDeadline,
    event_url: Callable[[Deadline], Awaitable[str | None]],
) -> list[Message]:
    """Create the deadline and announce it in its channel."""
    title = " ".join(command.title.split())
    if not title:
        raise InvalidInput("The title is empty.", hint="Usage: `/deadline add <title> due <when>`")
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            f"The title is {len(title)} characters; the limit is {TITLE_MAX}.",
            hint="Shorten it and try again.",
        )
    expected: tuple[str, ...] | None = None
    if command.expect is not None:
        declared = await repository.list_parties(
            workspace_id=ctx.workspace_id,
            negotiation=negotiation_key(ctx.workspace_id, ctx.channel_id),
        )
        expected = tuple(dict.fromkeys(match_party(declared, name).key for name in command.expect))
    when = parse_when(command.when, now=now, tz=ctx.tz)
    offsets = DEFAULT_OFFSETS if command.offsets is None else command.offsets
    due_at = when.at.astimezone(UTC)
    draft = NewDeadline(
        workspace_id=ctx.workspace_id,
        channel_id=ctx.channel_id,
        platform=ctx.platform,
        title=title,
        due_at=due_at,
        tz=when.tz,
        owner_id=ctx.user_id,
        reminder_offsets=tuple(offsets),
        created_at=now,
        sealed=command.sealed,
        silence=command.silence or NO_RULE,
        expected=expected,
    )
    data: dict[str, object] = {
        "title": title,
        "due_at": due_at.isoformat(),
        "tz": when.tz,
        "due_local": when.understood,
    }
    if command.sealed:
        data["sealed"] = True
    if command.silence is not None:
        data["silence"] = command.silence.text
    if expected is not None:
        data["expected"] = list(expected)
    event = Event(deadline_id=0, kind=EventKind.CREATED, at=now, actor_id=ctx.user_id, data=data)
    alerts = plan_alerts(due_at=due_at, offsets=draft.reminder_offsets, now=now)
    deadline = await repository.create_deadline(draft=draft, event=event, alerts=alerts)
    skipped = [o for o in offsets if due_at - o <= now]
    extra = []
    if skipped:
        extra.append(
            Text(
                "Reminders already past, skipped: " + ", ".join(format_offset(o) for o in skipped),
                Role.MUTED,
            )
        )
    card = views.deadline_card(
        deadline,
        now=now,
        headline=f"New deadline set by {views.mention(ctx.user_id)}",
        extra=extra,
        calendar_url=await event_url(deadline),
    )
    return [replace(card, channel_id=deadline.channel_id)]


@dataclass(frozen=True, slots=True)
class Rescheduled:
    """What an extension or a move changed, to announce in the channel (the people
    asked on the deadline are told by direct message: ``bot.notices``)."""

    deadline: Deadline  # as saved, with its new due time
    previous_due: datetime
    actor_id: str
    verb: str  # "extended", "moved earlier" or "moved later"
    reason: str

    def announcement(self, *, now: datetime, calendar_url: str | None) -> Message:
        card = views.rescheduled_card(
            self.deadline,
            now=now,
            actor_id=self.actor_id,
            verb=self.verb,
            previous_due=self.previous_due,
            reason=self.reason,
            calendar_url=calendar_url,
        )
        return replace(card, channel_id=self.deadline.channel_id)


async def reschedule(
    *,
    repository: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    command: ExtendDeadline | MoveDeadline,
) -> Rescheduled:
    """Extend or move ``deadline`` to the time ``command`` names; reschedule its alerts
    and tell the people asked on it (``bot.notices``), in the same write."""
    later_only = isinstance(command, ExtendDeadline)
    word = "extend" if later_only else "move"
    if deadline.status in (DeadlineStatus.MET, DeadlineStatus.CANCELLED):
        raise InvalidInput(
            f"{deadline.ref} is {deadline.status.value}; only open or missed deadlines "
            f"can be {word}d."
        )
    reason = " ".join(command.reason.split())
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"The reason is {len(reason)} characters; the limit is {REASON_MAX}.")
    after = deadline.due_at if later_only else None
    when = parse_when(command.when, now=now, tz=ctx.tz, after=after)
    new_due = when.at.astimezone(UTC)
    tz = when.tz if when.zone_named else deadline.tz
    new_local = describe(new_due.astimezone(ZoneInfo(tz)), tz)
    old_local = format_local(deadline.due_at, deadline.tz)
    said = " ".join(command.when.split())
    if new_due == deadline.due_at:
        raise InvalidInput(
            f'"{said}" is {new_local}, when {deadline.ref} is already due. Nothing was changed.'
        )
    if later_only and new_due < deadline.due_at:
        raise InvalidInput(
            f'"{said}" is {new_local}, earlier than {deadline.ref}\'s current due time '
            f"({old_local}): extend only moves a deadline later. Nothing was changed.",
            hint=f"To move it earlier: /deadline move {deadline.ref} to {said}",
        )
    verb = (
        "extended"
        if later_only
        else "moved " + ("earlier" if new_due < deadline.due_at else "later")
    )
    updated = replace(deadline, due_at=new_due, tz=tz, status=DeadlineStatus.OPEN, updated_at=now)
    data = {
        "from": deadline.due_at.isoformat(),
        "to": new_due.isoformat(),
        "from_local": old_local,
        "to_local": new_local,
        "reason": reason,
    }
    if not later_only:
        data["direction"] = verb.removeprefix("moved ")
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.EXTENDED if later_only else EventKind.MOVED,
        at=now,
        actor_id=ctx.user_id,
        data=data,
    )
    offsets = await escalation.planned_offsets(repository, deadline)  # reminders and rungs
    alerts = plan_alerts(due_at=new_due, offsets=offsets, now=now)
    change = Change(
        kind=ChangeKind(verb),
        at=now,
        actor_id=ctx.user_id,
        previous_due=deadline.due_at,
        new_due=new_due,
        reason=reason,
    )
    notice = await notices.notice_of(deadline, change, store=repository)
    saved = await repository.update_deadline(
        deadline=updated, event=event, alerts=alerts, notice=notice
    )
    return Rescheduled(
        deadline=saved,
        previous_due=deadline.due_at,
        actor_id=ctx.user_id,
        verb=verb,
        reason=reason,
    )
