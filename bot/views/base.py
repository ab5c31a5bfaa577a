"""The pieces every view shares, and the deadline's own cards.

Users are written as ``<@id>`` mentions, channels as ``<#id>`` (Slack links
them; elsewhere they read as written), and instants inside text as ``moment``
tokens, which each renderer turns into its platform's form (each viewer's own
zone). Lists are cut to ``LIST_LIMIT`` entries with an "and N more" line so
every platform's size limits hold. Closed deadlines show their status, not
time left.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain import (
    Deadline,
    DeadlineStatus,
    format_offset,
)
from bot.messages import (
    Actions,
    Audience,
    Block,
    Button,
    Countdown,
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
ACTION_BRIEF = "parley_brief"  # value: "<deadline id>"; mints a new brief URL
FORM_POSITION = "parley_position"  # form value: "<deadline id>"
# The button actions the core's ``Parley.press`` answers.
CORE_ACTIONS = frozenset({ACTION_STANCE, ACTION_OPEN_FORM, ACTION_CHOOSE_TIME, ACTION_BRIEF})
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


def due_line(deadline: Deadline, now: datetime) -> str:
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


def sealing_text(deadline: Deadline) -> str:
    """Whether positions are sealed, and until when; "" for an unsealed deadline."""
    if not deadline.sealed:
        return ""
    if deadline.sealed_now:
        return "sealed until the deadline (commitments only; revealed at the deadline)"
    return "revealed"


def silence_rule_text(deadline: Deadline) -> str:
    """What the silence rule does at the deadline, in words."""
    rule = deadline.silence
    if rule.stance is not None:
        return f"{rule.kind} (the silent are recorded as {rule.kind}, by silence)"
    if rule.extend_by is not None:
        used = " (used)" if deadline.silence_extended else ""
        by = format_offset(rule.extend_by)
        return f"{rule.text}: extended once by {by} if anyone is silent{used}"
    return "none (the silent are listed as silent)"


def rules_text(deadline: Deadline) -> str:
    """One line for a deadline's card: sealing and the silence rule, when set."""
    parts = []
    if deadline.sealed:
        parts.append(f"Positions {sealing_text(deadline)}")
    if deadline.silence.kind != "none":
        parts.append(f"If silent: {silence_rule_text(deadline)}")
    return " · ".join(parts)


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
    rules = rules_text(deadline)
    blocks: list[Block] = [
        Text(headline, Role.HEADING),
        Text(deadline_summary(deadline, now)),
        countdown(deadline),
        *((Text(rules, Role.MUTED),) if rules else ()),
        *extra,
    ]
    if status is DeadlineStatus.OPEN:
        blocks.append(position_buttons(deadline))
    if calendar_url:
        blocks.append(Actions((Button("Add to calendar", "parley_ics", "", url=calendar_url),)))
    fallback = f"{headline}: {deadline.ref} {deadline.title}, due {due_line(deadline, now)}"
    if rules:
        fallback += f". {rules}"
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


def brief_button(deadline: Deadline) -> Button:
    """Mints a new brief URL of ``deadline`` on every press: a URL is shown only once,
    since only its token's hash is kept."""
    ref = deadline.ref
    return Button("Brief", ACTION_BRIEF, str(deadline.id), command=f"/deadline brief {ref}")
