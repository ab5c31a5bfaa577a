"""Sealed positions (commit–reveal): the commitment, the receipt, the reveal and its check.

On a sealed deadline a recorded position is announced only by its commitment,
the lowercase hex SHA-256 of the UTF-8 bytes::

    salt + "\n" + label + "\n" + stance + "\n" + terms

``salt``: 32 random lowercase hex characters (``secrets``); ``label``: the party
name as declared, or for an own position the platform user id (printed in the
receipt); ``stance``: support, oppose, conditional or undecided; ``terms``: the
stored terms ("" if none). The recorder gets every field privately (the
receipt); nobody sees them again until the deadline is settled, when they are
revealed verbatim and anyone can recompute the hash (``/position verify``, or
the ``printf … | sha256sum`` recipe in docs/security.md).

What is hidden, and how, is ``bot.domain.shown_positions`` and
``bot.domain.shown_events``: every path that shows positions goes through them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from bot.domain import Deadline, Position

SALT_CHARS = 32
SHORT = 8  # hex characters of a commitment shown in the channel


def new_salt() -> str:
    return secrets.token_hex(SALT_CHARS // 2)


def commitment(*, salt: str, label: str, stance: str, terms: str) -> str:
    """The commitment to a sealed position (see the module docstring)."""
    text = f"{salt}\n{label}\n{stance}\n{terms}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def short(value: str) -> str:
    """A commitment as the channel sees it: its first characters, then "…"."""
    return value[:SHORT] + "…"


def commit_label(position: Position) -> str:
    """The label a position's commitment was computed over: the party name, or the
    user id of an own position."""
    if position.stakeholder.startswith("party:"):
        return position.label
    return position.stakeholder


def checks(position: Position) -> bool:
    """Whether a revealed position's fields hash to its commitment."""
    if position.salt is None or position.commitment is None:
        return False
    recomputed = commitment(
        salt=position.salt,
        label=commit_label(position),
        stance=position.stance.value,
        terms=position.terms,
    )
    return secrets.compare_digest(recomputed, position.commitment)


def reveal_lines(deadline: Deadline, positions: Sequence[Position]) -> list[str]:
    """Each sealed position verbatim: label, stance, terms, salt and commitment."""
    lines = [f"Sealed positions on {deadline.ref} {deadline.title}, revealed:"]
    sealed = [p for p in positions if p.commitment is not None and not p.hidden]
    for position in sealed:
        lines.append(
            f"• label `{commit_label(position)}` · stance `{position.stance.value}` · "
            f"terms `{position.terms}` · salt `{position.salt}` · "
            f"commitment `{position.commitment}`"
        )
    if not sealed:
        lines.append("• none was recorded")
    lines.append(f"Check them with /position verify {deadline.ref}")
    return lines


def verify_lines(deadline: Deadline, positions: Sequence[Position]) -> list[str]:
    """``/position verify``: each commitment, and once revealed whether it checks."""
    sealed = [p for p in positions if p.commitment is not None]
    if not deadline.sealed:
        return [f"{deadline.ref} is not sealed: its positions are shown as recorded."]
    lines = [f"Commitments on {deadline.ref} {deadline.title}:"]
    for position in sealed:
        if position.hidden:
            lines.append(f"• {position.label}: `{position.commitment}` (sealed until the reveal)")
        else:
            verdict = "✅ checks" if checks(position) else "❌ does NOT check"
            lines.append(
                f"• {position.label}: `{position.commitment}` — sha256 of salt, label "
                f"`{commit_label(position)}`, stance and terms {verdict}"
            )
    if not sealed:
        lines.append("• none recorded yet")
    return lines
