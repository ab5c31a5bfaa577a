"""Positions: the matrix, the tally, the form, and the messages that ask for one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import (
    Deadline,
    DeadlineStatus,
    Event,
    Offer,
    Position,
    PositionRequest,
    Stance,
    shown_events,
    shown_positions,
)
from bot.history import history_lines
from bot.messages import (
    Audience,
    Block,
    Choice,
    Divider,
    Facts,
    Field,
    Form,
    Message,
    Role,
    Text,
    link,
)
from bot.negotiation import Silence
from bot.sealing import short
from bot.views.base import (
    FORM_POSITION,
    HISTORY_LIMIT,
    MATRIX_LIMIT,
    NO_SILENCE,
    countdown,
    deadline_summary,
    due_line,
    mention,
    owner_names,
    position_buttons,
    sealing_text,
    shown_status,
    silence_rule_text,
    upcoming_reminders,
)


def deadline_details(
    deadline: Deadline,
    *,
    now: datetime,
    events: Sequence[Event],
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    user_id: str,
    silence: Silence = NO_SILENCE,
    escalation: str | None = None,
) -> Message:
    """``show``: the facts, then the history; ``escalation``: the ladder in words, if any."""
    positions = shown_positions(deadline, positions)
    events = shown_events(deadline, events)
    status = shown_status(deadline, now)
    reminders = upcoming_reminders(deadline, now)
    rules = (
        *((("Sealed", sealing_text(deadline)),) if deadline.sealed else ()),
        ("If silent", silence_rule_text(deadline)),
    )
    facts = Facts(
        (
            ("Status", status.value),
            ("Time zone", deadline.tz),
            ("Owners" if len(deadline.owners) > 1 else "Owner", owner_names(deadline)),
            ("Reminders", reminders),
            *((("Escalation", escalation),) if escalation else ()),
            ("Positions", position_tally(positions, requests)),
            *((("Silent", silence_text(silence)),) if silence else ()),
            *rules,
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
            f"Due: {due_line(deadline, now)} ({deadline.tz})",
            f"Owner{'s' if len(deadline.owners) > 1 else ''}: {owner_names(deadline)}",
            f"Reminders: {reminders}",
            *([f"Escalation: {escalation}"] if escalation else []),
            f"Positions: {position_tally(positions, requests)}",
            *([f"Silent: {silence_text(silence)}"] if silence else []),
            *(f"{label}: {value}" for label, value in rules),
            "History:",
            *history,
        ]
    )
    return Message(fallback=fallback, blocks=tuple(blocks), user_id=user_id)


def position_tally(positions: Sequence[Position], requests: Sequence[PositionRequest]) -> str:
    counts: dict[Stance, int] = {}
    for position in positions:
        if not position.hidden:
            counts[position.stance] = counts.get(position.stance, 0) + 1
    parts = [f"{counts[s]} {s.value}" for s in Stance if s in counts]
    sealed = sum(1 for position in positions if position.hidden)
    if sealed:
        parts.append(f"{sealed} sealed")
    parts = parts or ["none yet"]
    text = ", ".join(parts)
    if requests:
        answered = sum(1 for r in requests if r.answered_at is not None)
        text += f"; {answered} of {len(requests)} asked have answered"
    return text


def position_value(position: Position) -> str:
    """A position's stance as the matrix shows it: sealed ones by their commitment."""
    if position.hidden:
        return f"sealed (commitment `{short(position.commitment or '')}`)"
    if position.by_silence:
        return f"{position.stance.value} (by silence)"
    return position.stance.value


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
    positions = shown_positions(deadline, positions)
    heading = headline or f"Positions on {deadline.ref} {deadline.title}"
    blocks: list[Block] = [Text(heading, Role.HEADING), countdown(deadline)]
    lines = [heading, f"Due {due_line(deadline, now)}"]
    latest = offers[-1] if offers else None
    if latest is not None:
        on_table = f"On the table: {latest.ref} {link(latest.title, latest.url)}"
        blocks.append(Text(on_table, Role.MUTED))
        lines.append(on_table)
    if positions:
        rows: list[tuple[str, str]] = []
        for position in positions[:MATRIX_LIMIT]:
            value = position_value(position)
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
    if current is not None:
        # A form posted in a shared conversation (Teams) shows its initial values to all.
        current = next(iter(shown_positions(deadline, (current,))))
        current = None if current.hidden else current
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
        fallback=f"{text}, due {due_line(deadline, now)}",
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
        fallback=f"{text}; due {due_line(deadline, now)}",
        blocks=(
            Text(text, Role.HEADING),
            countdown(deadline),
            position_buttons(deadline),
        ),
        audience=Audience.DIRECT,
        user_id=user_id,
    )
