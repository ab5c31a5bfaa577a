"""Escalation: the rungs' messages (``bot.escalation``), the manual nudge's, and the
ladder in words, as ``show`` and ``/deadline escalate`` describe it.

The silent are written as mentions: asked people as themselves, a silent party
by name with its reps (``Anthropic (<@dana>)``), so a channel post or an owner's
message names whom to chase.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain import Deadline, Party, format_offset
from bot.escalation import Ladder, Silent, Step
from bot.messages import Audience, Message, Role, Text, duration_words, moment
from bot.views.base import countdown, due_line, mention, position_buttons

STEP_WORDS = {
    Step.DM: "message the silent",
    Step.OWNERS: "tell the owners who is silent",
    Step.CHANNEL: "mention the silent in the channel",
}


def ladder_words(ladder: Ladder) -> str:
    """``1d: message the silent; 4h: tell the owners who is silent; ...``"""
    return "; ".join(f"{format_offset(r.offset)}: {STEP_WORDS[r.step]}" for r in ladder)


def silent_names(silent: Silent) -> str:
    """``@legal, Anthropic (@dana, @sam), DoD``: asked people, then silent parties."""
    parties = [
        f"{party.name} ({', '.join(map(mention, party.reps))})" if party.reps else party.name
        for party in silent.parties
    ]
    return ", ".join([*map(mention, silent.people), *parties])


def silent_line(silent: Silent) -> str:
    return f"Still silent: {silent_names(silent)}"


def with_silent(message: Message, silent: Silent) -> Message:
    """A countdown with the ``channel`` rung merged in: one message naming the silent."""
    line = silent_line(silent)
    return replace(
        message, fallback=f"{message.fallback}. {line}", blocks=(*message.blocks, Text(line))
    )


def _left(deadline: Deadline, now: datetime) -> str:
    words = duration_words((deadline.due_at - now).total_seconds())
    return f"{words} until {deadline.ref} is due" if words else f"{deadline.ref} is due now"


def channel_escalation(deadline: Deadline, *, silent: Silent, now: datetime) -> Message:
    """The ``channel`` rung where no countdown goes out: a post naming the silent."""
    headline = f"📣 {_left(deadline, now)}: {deadline.title}"
    line = silent_line(silent)
    return Message(
        fallback=f"{headline}. {line}",
        blocks=(Text(headline, Role.HEADING), countdown(deadline), Text(line)),
        audience=Audience.CHANNEL,
    )


def owners_escalation(
    deadline: Deadline, *, owner_id: str, silent: Silent, now: datetime
) -> Message:
    """The ``owners`` rung: one owner told who is still silent."""
    headline = f"{_left(deadline, now)} ({deadline.title}), and some have not answered"
    line = silent_line(silent)
    return Message(
        fallback=f"{headline}. {line}",
        blocks=(Text(headline, Role.HEADING), countdown(deadline), Text(line)),
        audience=Audience.DIRECT,
        user_id=owner_id,
    )


def silent_dm(deadline: Deadline, *, user_id: str, party: Party | None, now: datetime) -> Message:
    """The ``dm`` rung and the manual nudge: one silent person (a rep: for their party)."""
    whose = "your position" if party is None else f"{party.name}'s position (you represent it)"
    text = f"Reminder: {whose} on {deadline.ref} {deadline.title} is still missing"
    return Message(
        fallback=f"{text}; due {due_line(deadline, now)}",
        blocks=(Text(text, Role.HEADING), countdown(deadline), position_buttons(deadline)),
        audience=Audience.DIRECT,
        user_id=user_id,
    )


def nudge_reply(deadline: Deadline, *, silent: Silent, user_id: str) -> Message:
    """Whom ``/position nudge`` reached (or that nobody is silent), to the one who typed it."""
    if not silent:
        text = f"Nobody is silent on {deadline.ref} {deadline.title}: there is nobody to nudge."
    else:
        reached = silent.recipients()
        names = ", ".join(
            mention(user) + (f" (for {party.name})" if party is not None else "")
            for user, party in reached
        )
        text = (
            f"Nudged {names} by direct message about {deadline.ref} {deadline.title}."
            if reached
            else f"Silent on {deadline.ref}: {silent_names(silent)}, with no reps to message."
        )
        unreachable = [party.name for party in silent.parties if not party.reps]
        if reached and unreachable:
            text += f" Silent without reps to message: {', '.join(unreachable)}."
    return Message(fallback=text, blocks=(Text(text),), user_id=user_id)


def nudge_refused(deadline: Deadline, *, last: datetime, again: datetime, now: datetime) -> str:
    """Why a second nudge within the hour is refused, and when it can be sent."""
    wait = duration_words(max((again - now).total_seconds(), 60.0)) or "a minute"
    ago = duration_words((now - last).total_seconds())
    when = f"{ago} ago" if ago else "just now"
    return (
        f"{deadline.ref} was nudged {when}; a deadline can be nudged once an hour. "
        f"You can nudge it again in {wait} ({moment(again, deadline.tz)})."
    )
