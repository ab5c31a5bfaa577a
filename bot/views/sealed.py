"""Sealed positions and the end of a deadline: the receipt, the channel's notice of a
sealed position, the final matrix with the reveal, and the silence rule's extension."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain import Deadline, Offer, Position, PositionRequest
from bot.messages import Audience, Message, Role, Text, format_local
from bot.negotiation import Silence
from bot.sealing import reveal_lines, short
from bot.views.base import NO_SILENCE
from bot.views.positions import position_matrix, silence_text

RECIPE = "printf '%s\\n%s\\n%s\\n%s' '<salt>' '<label>' '<stance>' '<terms>' | sha256sum"


def sealed_notice(deadline: Deadline, *, label: str, commitment: str) -> Message:
    """What the channel sees of a sealed position: who, and the start of its commitment."""
    text = (
        f"{label} has recorded a sealed position (commitment `{short(commitment)}`) on "
        f"{deadline.ref} {deadline.title}"
    )
    return Message(
        fallback=text,
        blocks=(Text(text),),
        audience=Audience.CHANNEL,
        channel_id=deadline.channel_id,
    )


def receipt(deadline: Deadline, *, position: Position, label: str, user_id: str) -> Message:
    """The private receipt of a sealed position: every field the commitment hashes."""
    lines = [
        f"Your sealed position on {deadline.ref} {deadline.title} is recorded. Nobody sees "
        "it until the deadline. Keep this receipt to check the reveal:",
        f"label: `{label}`",
        f"stance: `{position.stance.value}`",
        f"terms: `{position.terms}`",
        f"salt: `{position.salt}`",
        f"commitment: `{position.commitment}`",
        "The commitment is the SHA-256 of salt, label, stance and terms, one per line: "
        f"{RECIPE} (docs/security.md). After the reveal: /position verify {deadline.ref}",
    ]
    body = "\n".join(lines)
    return Message(
        fallback=body,
        blocks=(Text(body),),
        audience=Audience.EPHEMERAL,
        user_id=user_id,
        sensitive=True,
    )


def final_matrix(
    deadline: Deadline,
    *,
    now: datetime,
    headline: str,
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
    silence: Silence = NO_SILENCE,
    offers: Sequence[Offer] = (),
    outcome: str = "",
) -> Message:
    """The matrix posted when a deadline ends, with the reveal of a sealed one."""
    matrix = position_matrix(
        deadline,
        now=now,
        positions=positions,
        requests=requests,
        audience=Audience.CHANNEL,
        headline=headline,
        silence=silence,
        offers=offers,
    )
    extra: list[Text] = []
    if outcome:
        extra.append(Text(f"Outcome: {outcome}"))
    if deadline.sealed and not deadline.sealed_now:
        extra.append(Text("\n".join(reveal_lines(deadline, positions))))
    if not extra:
        return replace(matrix, channel_id=deadline.channel_id)
    return Message(
        fallback="\n".join([matrix.fallback, *(t.body for t in extra)]),
        blocks=(*matrix.blocks, *extra),
        audience=Audience.CHANNEL,
        channel_id=deadline.channel_id,
    )


def extended_by_silence(deadline: Deadline, *, previous_due: datetime, silence: Silence) -> Message:
    """The silence rule extended the deadline once: who was silent, and the new time."""
    silent = silence_text(silence) or "nobody"
    old, new = format_local(previous_due, deadline.tz), format_local(deadline.due_at, deadline.tz)
    text = (
        f"⏳ {deadline.ref} {deadline.title} reached its deadline with silence from {silent}: "
        f"by its silence rule it is extended once, from {old} to {new}."
    )
    if deadline.sealed:
        text += " Sealed positions stay sealed until then."
    return Message(
        fallback=text,
        blocks=(Text(text, Role.HEADING),),
        audience=Audience.CHANNEL,
        channel_id=deadline.channel_id,
    )
