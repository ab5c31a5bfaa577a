"""Reminder offsets and the silence rule, as typed: ``"7d,2d, 4h"`` -> timedeltas,
``"extend 1d"`` -> a ``SilenceRule``. Shared by ``/deadline add``'s clauses,
``/deadline remind`` and ``/deadline silence`` (``bot.grammar``)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.domain import UNIT_SECONDS, SilenceRule
from bot.errors import GrammarError
from bot.help import DEADLINE_FORMS, usage
from bot.words import quote

MAX_OFFSET = timedelta(weeks=8)
MAX_OFFSETS = 10  # distinct reminders per deadline; each becomes an alert row

_OFFSET_RE = re.compile(r"([0-9]{1,7})([mhdw])", re.IGNORECASE)


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """``"7d,2d, 1d,4h,1h,15m"`` -> timedeltas, longest first, without repeats."""
    hint = usage(DEADLINE_FORMS["remind"])
    items = [item for item in re.split(r"[,\s]+", text) if item]
    if not items:
        raise GrammarError("I need at least one reminder offset, e.g. 7d,1d,1h.", hint=hint)
    seconds: set[int] = set()
    for item in items:
        match = _OFFSET_RE.fullmatch(item)
        if match is None:
            raise GrammarError(
                f"I couldn't read {quote(item)} as a reminder offset: use a number and "
                "m, h, d or w (minutes, hours, days, weeks), e.g. 7d,2d,4h,15m.",
                hint=hint,
            )
        amount = int(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]
        if amount < 60:
            raise GrammarError(f"The offset {quote(item)} must be at least 1.", hint=hint)
        if amount > MAX_OFFSET.total_seconds():
            raise GrammarError(
                f"The offset {quote(item)} is more than 8 weeks; reminders go at most "
                "8 weeks (8w) before a deadline.",
                hint=hint,
            )
        seconds.add(amount)
    if len(seconds) > MAX_OFFSETS:
        raise GrammarError(
            f"That is {len(seconds)} reminders; a deadline can have at most {MAX_OFFSETS}.",
            hint=hint,
        )
    return tuple(timedelta(seconds=value) for value in sorted(seconds, reverse=True))


SILENCE_RULES_TEXT = "support, oppose, extend <offset> (e.g. extend 1d) or none"


def parse_silence_rule(text: str) -> SilenceRule:
    """``support``, ``oppose``, ``none`` or ``extend <offset>`` (one offset)."""
    words = text.lower().split()
    hint = usage(DEADLINE_FORMS["silence"])
    if len(words) == 1 and words[0] in ("support", "oppose", "none"):
        return SilenceRule(words[0])
    if len(words) == 2 and words[0] == "extend":
        offsets = parse_offsets(words[1])
        if len(offsets) != 1:
            raise GrammarError("extend takes one offset, e.g. extend 1d.", hint=hint)
        return SilenceRule("extend", offsets[0])
    if words[:1] == ["extend"]:
        raise GrammarError("extend needs one offset, e.g. extend 1d.", hint=hint)
    raise GrammarError(f"a silence rule is {SILENCE_RULES_TEXT}.", hint=hint)
