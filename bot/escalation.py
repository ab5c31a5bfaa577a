"""The escalation ladder: who is reached, and how, as a deadline nears while people
are silent (``/deadline escalate``), and the manual nudge (``/position nudge``).

A ladder is a set of rungs ``<offset>:<step>``, each ``offset`` before the due
time. At a rung only those still silent (``bot.negotiation``'s one definition)
are reached:

- ``dm``: each silent asked person and each rep of a silent expected party, by
  direct message;
- ``owners``: the deadline's owners, by direct message, with the list of the silent;
- ``channel``: a post mentioning the silent reps and asked people. It is the
  alert job's own post (``bot.alert_jobs``), so it goes wherever a countdown
  goes: today the deadline's channel, and every channel of a linked negotiation
  once the dispatcher posts there.

Each rung's offset is an alert row of the outbox, like a reminder's: a rung at
a reminder's offset shares its row, and its channel post is merged into the
countdown (one message). A deadline with a ladder gets no built-in 1d/1h nudges
(``bot.domain.NUDGE_OFFSETS``); without one (the default, and after ``off``) it
keeps them. ``DEFAULT_LADDER`` is what ``/deadline escalate <ref>`` alone sets.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.domain import Deadline, Party, Position, PositionRequest, format_offset
from bot.negotiation import Silence, expected_parties, silent

# A manual nudge may be sent at most this often per deadline.
NUDGE_INTERVAL = timedelta(hours=1)


class Step(enum.StrEnum):
    DM = "dm"
    OWNERS = "owners"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True, order=True)
class Rung:
    """Reach the silent by ``step``, ``offset`` before the due time."""

    offset: timedelta
    step: Step


Ladder = tuple[Rung, ...]

DEFAULT_LADDER: Ladder = (
    Rung(timedelta(days=1), Step.DM),
    Rung(timedelta(hours=4), Step.OWNERS),
    Rung(timedelta(hours=1), Step.CHANNEL),
)


def normal(rungs: Iterable[Rung]) -> Ladder:
    """Rungs without repeats, the earliest (largest offset) first, steps in a fixed order."""
    order = list(Step)
    return tuple(sorted(set(rungs), key=lambda r: (-r.offset, order.index(r.step))))


def ladder_text(ladder: Ladder) -> str:
    """``1d:dm,4h:owners,1h:channel``: what the grammar reads back, and what storage keeps."""
    return ",".join(f"{format_offset(r.offset)}:{r.step.value}" for r in ladder)


def ladder_from_text(text: str) -> Ladder:
    """The inverse of ``ladder_text`` for stored rows (offsets as ``<n>m|h|d``);
    ``ValueError`` when it is not one."""
    units = {"m": 60, "h": 3600, "d": 86400}
    rungs: list[Rung] = []
    for item in text.split(","):
        offset, sep, step = item.partition(":")
        if not sep or len(offset) < 2 or offset[-1] not in units or not offset[:-1].isdigit():
            raise ValueError(f"not a rung: {item!r}")
        seconds = int(offset[:-1]) * units[offset[-1]]
        if seconds <= 0:
            raise ValueError(f"not a rung: {item!r}")
        rungs.append(Rung(timedelta(seconds=seconds), Step(step)))
    return normal(rungs)


def offsets(ladder: Ladder) -> tuple[timedelta, ...]:
    return tuple(sorted({r.offset for r in ladder}, reverse=True))


def alert_offsets(deadline: Deadline, ladder: Ladder | None) -> tuple[timedelta, ...]:
    """The offsets a deadline's alert rows stand at: its reminders and its rungs."""
    return tuple(sorted(set(deadline.reminder_offsets) | set(offsets(ladder or ())), reverse=True))


def steps_at(ladder: Ladder, at: Iterable[timedelta]) -> frozenset[Step]:
    """The steps of the rungs at any of the offsets ``at``."""
    wanted = set(at)
    return frozenset(r.step for r in ladder if r.offset in wanted)


def counts_down(deadline: Deadline, offset: timedelta) -> bool:
    """Whether an alert row at ``offset`` is a countdown (a reminder, or the deadline
    itself) rather than only a rung."""
    return offset == timedelta(0) or offset in deadline.reminder_offsets


@dataclass(frozen=True, slots=True)
class Silent:
    """Who is silent on a deadline, with what reaching them takes: the asked people,
    and the silent parties with their reps (a party without reps has nobody to DM)."""

    people: tuple[str, ...] = ()
    parties: tuple[Party, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.people or self.parties)

    def recipients(self) -> list[tuple[str, Party | None]]:
        """Each person to DM once: asked people, then reps (as the first party they speak for)."""
        seen: set[str] = set()
        found: list[tuple[str, Party | None]] = []
        for user_id in self.people:
            if user_id not in seen:
                seen.add(user_id)
                found.append((user_id, None))
        for party in self.parties:
            for rep in party.reps:
                if rep not in seen:
                    seen.add(rep)
                    found.append((rep, party))
        return found


def silent_of(silence: Silence, parties: Sequence[Party]) -> Silent:
    """``silence`` (names and user ids) with the silent parties' reps."""
    by_name = {party.name: party for party in parties}
    return Silent(
        people=silence.people,
        parties=tuple(by_name[name] for name in silence.parties if name in by_name),
    )


def silent_on(
    deadline: Deadline,
    *,
    parties: Sequence[Party],
    expected: tuple[str, ...] | None,
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
) -> Silent:
    """Who is silent on ``deadline`` (``bot.negotiation.silent``), with the reps to reach."""
    silence = silent(
        expected=expected_parties(deadline, parties, expected),
        positions=positions,
        requests=requests,
    )
    return silent_of(silence, parties)
