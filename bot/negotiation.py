"""The one definition of who is silent on a deadline (DESIGN.md, "Expected parties
and silence"), for the matrix, ``show`` and whatever else lists the silent.

*Expected*: the parties ``/deadline expect`` named, or without that the parties
declared at or before the deadline was created. *Silent*: an expected party
with no position recorded by one of its reps (or, when it has no reps, by
anyone for it), or an asked person who has recorded no position of their own
and none as a rep. A position the silence rule recorded at the deadline
("by silence") answers for its party or person: they are no longer listed silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Deadline, Party, Position, PositionRequest


@dataclass(frozen=True, slots=True)
class Silence:
    """Who has not answered: party names as declared, and asked people's user ids."""

    parties: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.parties or self.people)


def expected_parties(
    deadline: Deadline, parties: Sequence[Party], expected: tuple[str, ...] | None
) -> list[Party]:
    """The declared parties ``deadline`` waits for, in declaration order."""
    if expected is not None:
        return [party for party in parties if party.key in expected]
    return [party for party in parties if party.declared_at <= deadline.created_at]


def spoke_for(party: Party, positions: Sequence[Position]) -> bool:
    """Whether ``party`` has a position that counts: by a rep, or by anyone without reps."""
    return any(
        position.stakeholder == party.stakeholder
        and (position.by_silence or not party.reps or position.recorded_by in party.reps)
        for position in positions
    )


def silent(
    *,
    expected: Sequence[Party],
    positions: Sequence[Position],
    requests: Sequence[PositionRequest],
) -> Silence:
    """Who is silent (see the module docstring)."""
    speakers = {position.recorded_by for position in positions}
    speakers |= {position.stakeholder for position in positions if position.by_silence}
    return Silence(
        parties=tuple(party.name for party in expected if not spoke_for(party, positions)),
        people=tuple(r.user_id for r in requests if r.user_id not in speakers),
    )
