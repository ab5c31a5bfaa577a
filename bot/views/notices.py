"""The direct messages that tell the asked what changed (DESIGN.md, Telling the asked)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import (
    Change,
    ChangeKind,
    Deadline,
)
from bot.messages import (
    Audience,
    Message,
    Role,
    Text,
    moment,
)
from bot.views.base import countdown, due_line, mention

NOTICE_LIMIT = 10  # changes listed in one notice; earlier ones are counted


def _change_line(change: Change, tz: str) -> str:
    who = mention(change.actor_id)
    because = f" because {change.reason}" if change.reason else ""
    if change.kind is ChangeKind.CANCELLED:
        return f"{who} cancelled it{because}"
    if change.kind is ChangeKind.MET:
        return f"{who} marked it done (met){because}"
    action, _, direction = change.kind.value.partition(" ")  # "moved earlier"
    verb = f"{action} it {direction}".rstrip()
    span = ""
    if change.previous_due is not None and change.new_due is not None:
        span = f" from {moment(change.previous_due, tz)} to {moment(change.new_due, tz)}"
    return f"{who} {verb}{span}{because}"


def notice_message(
    deadline: Deadline, *, changes: Sequence[Change], user_id: str, now: datetime
) -> Message:
    """One direct message telling ``user_id`` the changes to ``deadline``, then when it is
    due now (its status, once closed): the time left is today's, not the change's."""
    heading = f"Update on {deadline.ref} {deadline.title} in <#{deadline.channel_id}>"
    told = [_change_line(change, deadline.tz) for change in changes[-NOTICE_LIMIT:]]
    if len(changes) > NOTICE_LIMIT:
        told.insert(0, f"{len(changes) - NOTICE_LIMIT} earlier changes")
    listed = Text("\n".join(f"• {line}" for line in told))
    return Message(
        fallback=f"{heading}: {'; '.join(told)}. Due {due_line(deadline, now)}",
        blocks=(Text(heading, Role.HEADING), listed, countdown(deadline)),
        audience=Audience.DIRECT,
        user_id=user_id,
    )
