"""Compose the core's replies and alerts as neutral ``Message`` values.

Pure functions from domain values to messages; every adapter renders the
result. Users are written as ``<@id>`` mentions, channels as ``<#id>`` (Slack
links them; elsewhere they read as written), and instants inside text as
``moment`` tokens, which each renderer turns into its platform's form (each
viewer's own zone). Lists are cut to ``LIST_LIMIT`` entries with an "and N
more" line so every platform's size limits hold.

Alert wording (DESIGN.md): a countdown names its nominal offset ("1 hour until
D1 is due") while it is sent less than min(offset/10, 60 s) after its instant;
later than that it is a catch-up and says how late it is. Time left is
rounded, never cut. Closed deadlines show their status, not time left.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain import (
    Change,
    ChangeKind,
    Deadline,
    DeadlineStatus,
    Event,
    Offer,
    Position,
    PositionRequest,
    Stance,
    format_offset,
)
from bot.history import history_lines
from bot.messages import (
    Actions,
    Audience,
    Block,
    Button,
    Choice,
    Countdown,
    Divider,
    Facts,
    Field,
    Form,
    Message,
    Role,
    Text,
    Tone,
    duration_words,
    format_local,
    moment,
    time_left,
)
from bot.negotiation import Silence

LIST_LIMIT = 20
HISTORY_LIMIT = 15
MATRIX_LIMIT = 40
NO_SILENCE = Silence()

ACTION_STANCE = "parley_stance"  # value: "<deadline id>|<stance>"
ACTION_OPEN_FORM = "parley_position_form"  # value: "<deadline id>"
ACTION_CHOOSE_TIME = "parley_choose_time"  # value: a signed TimeChoice (bot.usecases.choices)
FORM_POSITION = "parley_position"  # form value: "<deadline id>"
# The button actions the core's ``Parley.press`` answers.
CORE_ACTIONS = frozenset({ACTION_STANCE, ACTION_OPEN_FORM, ACTION_CHOOSE_TIME})
CLOSED = frozenset({DeadlineStatus.MET, DeadlineStatus.CANCELLED})
# A countdown sent later than this after its instant is a catch-up (and at most
# a tenth of its offset: a 1-minute alert 10 s late is no longer "1 minute").
ON_TIME = timedelta(seconds=60)


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>"


def owner_names(deadline: Deadline) -> str:
    """``<@alex> (owner)``, ``<@alex> (owner) or <@sam>``, ``<@a> (owner), <@b> or <@c>``."""
    first, *others = deadline.owners
    names = [f"{mention(first)} (owner)", *map(mention, others)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def shown_status(deadline: Deadline, now: datetime) -> DeadlineStatus:
    """An open deadline whose time has passed reads as missed even before the
    alert engine records it."""
    if deadline.status is DeadlineStatus.OPEN and deadline.due_at <= now:
        return DeadlineStatus.MISSED
    return deadline.status


def _due_line(deadline: Deadline, now: datetime) -> str:
    state = deadline.status.value if deadline.status in CLOSED else time_left(deadline.due_at, now)
    return f"{format_local(deadline.due_at, deadline.tz)} ({state})"


def countdown(deadline: Deadline) -> Countdown:
    """The due time, with the time left, or the status of a closed deadline."""
    status = deadline.status.value if deadline.status in CLOSED else ""
    return Countdown(deadline.due_at, deadline.tz, status)


def deadline_summary(deadline: Deadline, now: datetime) -> str:
    status = shown_status(deadline, now)
    suffix = "" if status is DeadlineStatus.OPEN else f" [{status.value}]"
    return f"*{deadline.ref}* {deadline.title}{suffix}"


def position_buttons(deadline: Deadline) -> Actions:
    return Actions(
        (
            Button("Support", ACTION_STANCE, f"{deadline.id}|support", Tone.PRIMARY),
            Button("Oppose", ACTION_STANCE, f"{deadline.id}|oppose", Tone.DANGER),
            Button("Conditional", ACTION_STANCE, f"{deadline.id}|conditional"),
            Button("Undecided", ACTION_STANCE, f"{deadline.id}|undecided"),
            Button("Add terms", ACTION_OPEN_FORM, str(deadline.id)),
        )
    )


def deadline_card(
    deadline: Deadline,
    *,
    now: datetime,
    headline: str,
    audience: Audience = Audience.CHANNEL,
    user_id: str | None = None,
    extra: Sequence[Block] = (),
    calendar_url: str | None = None,
) -> Message:
    """The standard picture of one deadline: headline, due time, time left, buttons."""
    status = shown_status(deadline, now)
    blocks: list[Block] = [
        Text(headline, Role.HEADING),
        Text(deadline_summary(deadline, now)),
        countdown(deadline),
        *extra,
    ]
    if status is DeadlineStatus.OPEN:
        blocks.append(position_buttons(deadline))
    if calendar_url:
        blocks.append(Actions((Button("Add to calendar", "parley_ics", "", url=calendar_url),)))
    fallback = f"{headline}: {deadline.ref} {deadline.title}, due {_due_line(deadline, now)}"
    return Message(fallback=fallback, blocks=tuple(blocks), audience=audience, user_id=user_id)


def deadline_list(
    deadlines: Sequence[Deadline],
    *,
    now: datetime,
    include_closed: bool,
    user_id: str,
    channels: bool = False,
) -> Message:
    """A list of deadlines; ``channels``: from several channels, each says which."""
    if not deadlines:
        what = "deadlines" if include_closed else "open deadlines"
        where = "here or among those you own or were asked about" if channels else "in this channel"
        body = f"No {what} {where}. Add one with `/deadline add <title> due <when>`."
        return Message(fallback=body, blocks=(Text(body),), user_id=user_id)
    missed = any(shown_status(d, now) is DeadlineStatus.MISSED for d in deadlines)
    if include_closed:
        heading = "All deadlines"
    else:
        heading = "Open and missed deadlines" if missed else "Open deadlines"
    blocks: list[Block] = [Text(f"{heading} ({len(deadlines)})", Role.HEADING)]
    lines = [heading + ":"]
    for deadline in deadlines[:LIST_LIMIT]:
        where = f" in {channel(deadline.channel_id)}" if channels else ""
        blocks.append(Text(deadline_summary(deadline, now) + where))
        blocks.append(countdown(deadline))
        due = format_local(deadline.due_at, deadline.tz)
        lines.append(f"{deadline.ref} {deadline.title}{where} — due {due}")
    hidden = len(deadlines) - LIST_LIMIT
    if hidden > 0:
        more = f"… and {hidden} more. Use `/deadline show <ref>` for any of them."
        blocks.append(Text(more, Role.MUTED))
        lines.append(more)
    return Message(fallback="\n".join(lines), blocks=tuple(blocks), user_id=user_id)


def upcoming_reminders(deadline: Deadline, now: datetime) -> str:
    """The reminders still to come (those already past, sent or skipped, are not listed)."""
    if deadline.status in CLOSED:
        return f"none ({deadline.status.value})"
    if deadline.due_at <= now:
        return "none left"
    labels = [format_offset(o) for o in deadline.reminder_offsets if deadline.due_at - o > now]
    return ", ".join([*labels, "at the deadline"]) if labels else "at the deadline"


def deadline_details(
    deadline: Deadline,
    *,
    now: datetime,
    events: Sequence[Event],
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    user_id: str,
    silence: Silence = NO_SILENCE,
) -> Message:
    status = shown_status(deadline, now)
    reminders = upcoming_reminders(deadline, now)
    facts = Facts(
        (
            ("Status", status.value),
            ("Time zone", deadline.tz),
            ("Owners" if len(deadline.owners) > 1 else "Owner", owner_names(deadline)),
            ("Reminders", reminders),
            ("Positions", position_tally(positions, requests)),
            *((("Silent", silence_text(silence)),) if silence else ()),
        )
    )
    history = history_lines(events, deadline.tz)[-HISTORY_LIMIT:]
    if len(events) > len(history):
        history.insert(0, f"… {len(events) - len(history)} earlier entries")
    blocks: list[Block] = [
        Text(deadline_summary(deadline, now), Role.HEADING),
        countdown(deadline),
        facts,
        Divider(),
        Text("*History*\n" + "\n".join(history)),
    ]
    fallback = "\n".join(
        [
            f"{deadline.ref} {deadline.title}",
            f"Status: {status.value}",
            f"Due: {_due_line(deadline, now)} ({deadline.tz})",
            f"Owner{'s' if len(deadline.owners) > 1 else ''}: {owner_names(deadline)}",
            f"Reminders: {reminders}",
            f"Positions: {position_tally(positions, requests)}",
            *([f"Silent: {silence_text(silence)}"] if silence else []),
            "History:",
            *history,
        ]
    )
    return Message(fallback=fallback, blocks=tuple(blocks), user_id=user_id)


def position_tally(positions: Sequence[Position], requests: Sequence[PositionRequest]) -> str:
    counts: dict[Stance, int] = {}
    for position in positions:
        counts[position.stance] = counts.get(position.stance, 0) + 1
    parts = [f"{counts[s]} {s.value}" for s in Stance if s in counts] or ["none yet"]
    text = ", ".join(parts)
    if requests:
        answered = sum(1 for r in requests if r.answered_at is not None)
        text += f"; {answered} of {len(requests)} asked have answered"
    return text


def silence_text(silence: Silence) -> str:
    """The silent parties by name, then the silent asked people."""
    return ", ".join([*silence.parties, *(mention(u) for u in silence.people)])


def waiting_for(requests: Sequence[PositionRequest]) -> list[str]:
    return [r.user_id for r in requests if r.answered_at is None]


def position_matrix(
    deadline: Deadline,
    *,
    now: datetime,
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    audience: Audience = Audience.EPHEMERAL,
    user_id: str | None = None,
    headline: str | None = None,
    silence: Silence = NO_SILENCE,
    offers: Sequence[Offer] = (),
) -> Message:
    heading = headline or f"Positions on {deadline.ref} {deadline.title}"
    blocks: list[Block] = [Text(heading, Role.HEADING), countdown(deadline)]
    lines = [heading, f"Due {_due_line(deadline, now)}"]
    latest = offers[-1] if offers else None
    if latest is not None:
        on_table = f"On the table: {latest.ref} {latest.title}"
        blocks.append(Text(on_table, Role.MUTED))
        lines.append(on_table)
    if positions:
        rows: list[tuple[str, str]] = []
        for position in positions[:MATRIX_LIMIT]:
            value = position.stance.value
            if latest is not None and position.offer != latest.version:
                value += f" (on O{position.offer})" if position.offer else " (before O1)"
            if position.terms:
                value += f" — {position.terms}"
            rows.append((position.label, value))
            lines.append(f"{position.label}: {value}")
        # Facts are shown ten rows to a block (the Block Kit field limit).
        for start in range(0, len(rows), 10):
            blocks.append(Facts(tuple(rows[start : start + 10])))
        if len(positions) > MATRIX_LIMIT:
            more = f"… and {len(positions) - MATRIX_LIMIT} more positions"
            blocks.append(Text(more, Role.MUTED))
            lines.append(more)
    else:
        none = (
            "No positions yet. Record one with `/position <ref> <stance> [as <party>] [<terms>]`."
        )
        blocks.append(Text(none, Role.MUTED))
        lines.append(none)
    pending = waiting_for(requests)
    if requests:
        answered = len(requests) - len(pending)
        status = f"{answered} of {len(requests)} asked have answered"
        if pending:
            status += "; waiting for " + ", ".join(mention(u) for u in pending)
        blocks.append(Text(status, Role.MUTED))
        lines.append(status)
    if silence:
        quiet = "Silent: " + silence_text(silence)
        blocks.append(Text(quiet, Role.MUTED))
        lines.append(quiet)
    if shown_status(deadline, now) is DeadlineStatus.OPEN:
        blocks.append(position_buttons(deadline))
    return Message(
        fallback="\n".join(lines), blocks=tuple(blocks), audience=audience, user_id=user_id
    )


def position_form(deadline: Deadline, *, user_id: str, current: Position | None = None) -> Message:
    form = Form(
        form_id=FORM_POSITION,
        title=f"Position on {deadline.ref}"[:24],
        submit_label="Record",
        value=str(deadline.id),
        fields=(
            Field(
                name="stance",
                label="Stance",
                kind="choice",
                required=True,
                initial=current.stance.value if current else "",
                choices=tuple(Choice(s.value.capitalize(), s.value) for s in Stance),
            ),
            Field(
                name="party",
                label="On behalf of (leave empty for yourself)",
                kind="text",
                placeholder="e.g. Department of Defense",
                max_length=100,
            ),
            Field(
                name="terms",
                label="Terms and red lines",
                kind="multiline",
                initial=current.terms if current else "",
                placeholder="What you accept, and what you will not",
                max_length=3000,
            ),
        ),
    )
    text = f"Record a position on {deadline.ref} {deadline.title}"
    return Message(
        fallback=text,
        blocks=(Text(text, Role.HEADING), countdown(deadline), form),
        user_id=user_id,
    )


def ask_direct_message(
    deadline: Deadline, *, user_id: str, asked_by: str, now: datetime
) -> Message:
    text = f"{mention(asked_by)} asks for your position on {deadline.ref} {deadline.title}"
    return Message(
        fallback=f"{text}, due {_due_line(deadline, now)}",
        blocks=(
            Text(text, Role.HEADING),
            countdown(deadline),
            Text("Pick a stance, or add your terms and red lines:", Role.MUTED),
            position_buttons(deadline),
        ),
        audience=Audience.DIRECT,
        user_id=user_id,
    )


def nudge_message(deadline: Deadline, *, user_id: str, now: datetime) -> Message:
    text = f"Reminder: your position on {deadline.ref} {deadline.title} is still missing"
    return Message(
        fallback=f"{text}; due {_due_line(deadline, now)}",
        blocks=(
            Text(text, Role.HEADING),
            countdown(deadline),
            position_buttons(deadline),
        ),
        audience=Audience.DIRECT,
        user_id=user_id,
    )


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
    if marks_missed:
        headline = f"🔔 Deadline reached — {deadline.ref} is now missed: {deadline.title}"
    else:
        headline = f"🔔 Deadline reached: {deadline.ref} {deadline.title}"
    late = now - deadline.due_at
    if late >= ON_TIME:
        headline += f" ({_late(late)})"
    return position_matrix(
        deadline,
        now=now,
        positions=positions,
        requests=requests,
        audience=Audience.CHANNEL,
        headline=headline,
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
    labels = ", ".join(format_offset(o) if o else "due" for o in missed)
    latest = min(missed)
    late = _late(now - (deadline.due_at - latest))
    note = Text(
        f"Catching up after downtime: {len(missed)} missed alerts ({labels}); "
        f"the latest is {late}.",
        Role.MUTED,
    )
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


def rescheduled_card(
    deadline: Deadline,
    *,
    now: datetime,
    actor_id: str,
    verb: str,
    previous_due: datetime,
    reason: str,
    calendar_url: str | None = None,
) -> Message:
    """An extension or move, announced in the deadline's channel: "<@u> extended D1 …"."""
    because = f" because {reason}" if reason else ""
    was = moment(previous_due, deadline.tz)
    action, _, direction = verb.partition(" ")  # "moved earlier": "moved D1 earlier"
    what = f"{action} {deadline.ref} {direction}".rstrip()
    headline = f"{mention(actor_id)} {what} (was {was}){because}"
    return deadline_card(deadline, now=now, headline=headline, calendar_url=calendar_url)


def time_choices(
    text: str, *, user_id: str, choices: Sequence[tuple[str, str, str]], expires_in: timedelta
) -> Message:
    """A vague time's choices, to the person who typed it: one button per
    ``(label, value, command)``; a console prints each command to type instead.
    The buttons act for that person alone: ``sensitive`` (Teams, which cannot show a
    message to one person in a channel, sends them to the 1:1 chat)."""
    buttons = tuple(
        Button(label, ACTION_CHOOSE_TIME, value, command=command)
        for label, value, command in choices
    )
    minutes = duration_words(expires_in.total_seconds())
    note = f"The buttons work for you alone, once, within {minutes}."
    lines = [text, *(f"{label}: {command}" for label, _, command in choices)]
    return Message(
        fallback="\n".join(lines),
        blocks=(Text(text), Actions(buttons), Text(note, Role.MUTED)),
        user_id=user_id,
        sensitive=True,
    )


def error_message(text: str, *, user_id: str) -> Message:
    return Message(fallback=text, blocks=(Text(text),), user_id=user_id)


def info_message(
    text: str, *, user_id: str | None, audience: Audience = Audience.EPHEMERAL
) -> Message:
    return Message(fallback=text, blocks=(Text(text),), audience=audience, user_id=user_id)


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
        fallback=f"{heading}: {'; '.join(told)}. Due {_due_line(deadline, now)}",
        blocks=(Text(heading, Role.HEADING), listed, countdown(deadline)),
        audience=Audience.DIRECT,
        user_id=user_id,
    )
