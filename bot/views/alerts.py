"""Countdown alerts, the alert at the deadline, and catch-ups.

Alert wording (DESIGN.md): a countdown names its nominal offset ("1 hour until
D1 is due") while it is sent less than min(offset/10, 60 s) after its instant;
later than that it is a catch-up and says how late it is. Time left is
rounded, never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain import (
    Deadline,
    Position,
    PositionRequest,
    format_offset,
)
from bot.messages import (
    Audience,
    Message,
    Role,
    Text,
    duration_words,
    time_left,
)
from bot.views.base import ON_TIME, deadline_card, mention
from bot.views.positions import position_matrix, position_tally, waiting_for


def alert_headline(deadline: Deadline, *, offset: timedelta, now: datetime) -> str:
    """ "⏰ 1 hour until D1 is due" while the alert is on time; else a catch-up saying how late."""
    late = now - (deadline.due_at - offset)
    if late < min(offset / 10, ON_TIME):
        return f"⏰ {duration_words(offset.total_seconds())} until {deadline.ref} is due"
    left = duration_words((deadline.due_at - now).total_seconds())
    lead = f"⏰ {left} until {deadline.ref} is due" if left else f"⏰ {deadline.ref} is due now"
    nominal = duration_words(offset.total_seconds())
    return f"{lead} (catch-up: the {nominal} reminder, {_late(late)})"


def _late(late: timedelta) -> str:
    words = duration_words(late.total_seconds())
    return f"{words} late" if words else "less than a minute late"


def countdown_alert(
    deadline: Deadline,
    *,
    now: datetime,
    offset: timedelta,
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    calendar_url: str | None = None,
    headline: str | None = None,
) -> Message:
    """The channel alert ``offset`` before the deadline, sent at ``now``."""
    pending = waiting_for(requests)
    summary = "Positions: " + position_tally(positions, requests)
    if pending:
        summary += "; waiting for " + ", ".join(mention(u) for u in pending)
    message = deadline_card(
        deadline,
        now=now,
        headline=headline or alert_headline(deadline, offset=offset, now=now),
        extra=(Text(summary, Role.MUTED),),
        calendar_url=calendar_url,
    )
    return Message(
        fallback=f"{message.fallback}. {summary}",
        blocks=message.blocks,
        audience=Audience.CHANNEL,
    )


def deadline_reached(
    deadline: Deadline,
    *,
    now: datetime,
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    marks_missed: bool = False,
) -> Message:
    """The alert at the deadline; ``marks_missed``: this alert turns the deadline missed."""
    return position_matrix(
        deadline,
        now=now,
        positions=positions,
        requests=requests,
        audience=Audience.CHANNEL,
        headline=reached_headline(deadline, now=now, marks_missed=marks_missed),
    )


def reached_headline(deadline: Deadline, *, now: datetime, marks_missed: bool) -> str:
    """ "🔔 Deadline reached ...", saying whether it is now missed and how late this is."""
    if marks_missed:
        headline = f"🔔 Deadline reached — {deadline.ref} is now missed: {deadline.title}"
    else:
        headline = f"🔔 Deadline reached: {deadline.ref} {deadline.title}"
    late = now - deadline.due_at
    if late >= ON_TIME:
        headline += f" ({_late(late)})"
    return headline


def catch_up_note(deadline: Deadline, *, now: datetime, missed: Sequence[timedelta]) -> Text:
    """The line a catch-up adds: how many alerts it stands for, and how late."""
    labels = ", ".join(format_offset(o) if o else "due" for o in missed)
    late = _late(now - (deadline.due_at - min(missed)))
    return Text(
        f"Catching up after downtime: {len(missed)} missed alerts ({labels}); "
        f"the latest is {late}.",
        Role.MUTED,
    )


def catch_up_alert(
    deadline: Deadline,
    *,
    now: datetime,
    missed: Sequence[timedelta],
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    marks_missed: bool = False,
) -> Message:
    """One message standing for several alerts missed while Parley was down."""
    latest = min(missed)
    note = catch_up_note(deadline, now=now, missed=missed)
    if deadline.due_at <= now:
        base = deadline_reached(
            deadline,
            now=now,
            positions=positions,
            requests=requests,
            marks_missed=marks_missed,
        )
    else:
        left = time_left(deadline.due_at, now).removesuffix(" left")
        base = countdown_alert(
            deadline,
            now=now,
            offset=latest,
            positions=positions,
            requests=requests,
            headline=f"⏰ {left} until {deadline.ref} is due",
        )
    return Message(
        fallback=f"{base.fallback} ({note.body})",
        blocks=(*base.blocks, note),
        audience=Audience.CHANNEL,
    )
