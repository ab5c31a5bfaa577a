"""The grammar of escalation: ``/deadline escalate`` and ``/position nudge``.

Forms (see ``bot.help``)::

    deadline escalate <ref> [<ladder>|off]   no ladder: the default, 1d:dm,4h:owners,1h:channel
    position nudge <ref>

A ladder is comma-separated ``<offset>:<step>`` rungs (spaces after the commas
are fine), ``step`` one of ``dm``, ``owners``, ``channel`` (``bot.escalation``).
The reference may be several words: the ladder is the longest tail of the text
that reads as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.errors import GrammarError
from bot.escalation import DEFAULT_LADDER, Ladder, Rung, Step, normal
from bot.help import DEADLINE_FORMS, POSITION_FORMS, usage
from bot.words import Ref, quote, read_ref, starts_quoted, take_quoted, whole_ref

MAX_RUNGS = 10  # each distinct offset becomes an alert row
MAX_RUNG_OFFSET = timedelta(weeks=8)
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_RUNG_RE = re.compile(r"([0-9]{1,7})([mhdw]):([a-z]+)", re.IGNORECASE)
_STEPS = ", ".join(step.value for step in Step)


@dataclass(frozen=True, slots=True)
class SetEscalation:
    """``/deadline escalate``: ``ladder`` None is ``off``."""

    ref: Ref
    ladder: Ladder | None


@dataclass(frozen=True, slots=True)
class NudgeSilent:
    """``/position nudge``: DM the silent now."""

    ref: Ref


def parse_ladder(text: str) -> Ladder:
    """``"1d:dm, 4h:owners,1h:channel"`` -> rungs, earliest first, without repeats."""
    hint = usage(DEADLINE_FORMS["escalate"])
    items = [item for item in re.split(r"[,\s]+", text) if item]
    if not items:
        raise GrammarError("I need at least one rung, e.g. 1d:dm,4h:owners,1h:channel.", hint=hint)
    rungs: list[Rung] = []
    for item in items:
        match = _RUNG_RE.fullmatch(item)
        if match is None:
            raise GrammarError(
                f"I couldn't read {quote(item)} as a rung: use <offset>:<step>, the offset a "
                f"number and m, h, d or w, the step one of {_STEPS} (e.g. 4h:owners).",
                hint=hint,
            )
        step = match.group(3).lower()
        if step not in set(Step):
            raise GrammarError(
                f"{quote(match.group(3))} in {quote(item)} is not a step: use {_STEPS}.",
                hint=hint,
            )
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        if seconds < 60:
            raise GrammarError(f"The offset in {quote(item)} must be at least 1.", hint=hint)
        if seconds > MAX_RUNG_OFFSET.total_seconds():
            raise GrammarError(
                f"The offset in {quote(item)} is more than 8 weeks; rungs go at most 8 weeks "
                "(8w) before a deadline.",
                hint=hint,
            )
        rungs.append(Rung(timedelta(seconds=seconds), Step(step)))
    ladder = normal(rungs)
    if len(ladder) > MAX_RUNGS:
        raise GrammarError(
            f"That is {len(ladder)} rungs; a ladder can have at most {MAX_RUNGS}.", hint=hint
        )
    return ladder


def parse_escalate(rest: str, *, said: str) -> SetEscalation:
    hint = usage(DEADLINE_FORMS["escalate"])
    if not rest:
        raise GrammarError("Which deadline, and which ladder?", hint=hint)
    if starts_quoted(rest):
        ref, after = take_quoted(rest, said=said, hint=hint)
        return SetEscalation(ref=ref, ladder=_ladder_or_off(after))
    tokens = rest.split()
    if len(tokens) > 1 and tokens[-1].lower() == "off":
        return SetEscalation(ref=read_ref(" ".join(tokens[:-1]), said=said, hint=hint), ladder=None)
    # The reference may be several words; the ladder is the longest tail that reads as one.
    for start in range(max(1, len(tokens) - 2 * MAX_RUNGS), len(tokens)):
        try:
            ladder = parse_ladder(" ".join(tokens[start:]))
        except GrammarError:
            continue
        return SetEscalation(
            ref=read_ref(" ".join(tokens[:start]), said=said, hint=hint), ladder=ladder
        )
    if ":" in tokens[-1]:
        parse_ladder(tokens[-1])  # raises, naming what is wrong with the rung
    return SetEscalation(ref=whole_ref(rest, said=said, hint=hint), ladder=DEFAULT_LADDER)


def _ladder_or_off(text: str) -> Ladder | None:
    text = text.strip()
    if not text:
        return DEFAULT_LADDER
    if text.lower() == "off":
        return None
    return parse_ladder(text)


def parse_nudge(rest: str, *, said: str) -> NudgeSilent:
    return NudgeSilent(whole_ref(rest, said=said, hint=usage(POSITION_FORMS["nudge"])))
