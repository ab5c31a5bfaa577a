"""A person's home: what they own, and what is asked of them, across the conversations
Parley knows in their workspace.

One query behind Slack's App Home, the Teams personal chat's ``home`` and
``deadline list`` in any direct conversation (``Parley.home``):

- *owned*: the open deadlines they own or co-own (missed ones too, for the
  list: they still wait for ``done`` or ``cancel``);
- *waiting*: the open deadlines waiting for their position: they were asked
  and have not answered, or they represent a party the deadline expects that
  is silent (``bot.negotiation``'s one definition of silent).

``represented`` is also how a reference typed in a direct conversation
reaches the deadlines a person represents a party on (``access``).

Cost: a few queries for the deadlines and their positions and requests, and,
for party reps, one per conversation that has open deadlines (its parties)
plus one per deadline of a party they represent (what it expects).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot import views
from bot.domain import (
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Party,
    Position,
    negotiation_key,
)
from bot.messages import Actions, Block, Divider, Message, Role, Text
from bot.negotiation import expected_parties, spoke_for

HOME_SCAN = 500  # open deadlines looked at for a home
OWNED_MAX = 15  # deadlines shown per section; the rest are counted
WAITING_MAX = 15
OPEN = frozenset({DeadlineStatus.OPEN})


class HomeReads(Protocol):
    """The storage reads a home makes (a subset of ``NegotiationStore``)."""

    async def list_deadlines(
        self,
        *,
        workspace_id: str,
        channel_id: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]: ...

    async def load_deadline_states(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[DeadlineState]: ...

    async def list_parties(self, *, workspace_id: str, negotiation: str) -> list[Party]: ...

    async def get_expected(
        self, *, workspace_id: str, deadline_id: int
    ) -> tuple[str, ...] | None: ...


@dataclass(frozen=True, slots=True)
class Home:
    """A person's deadlines: those they own, and those waiting for their position."""

    owned: tuple[Deadline, ...]
    waiting: tuple[Deadline, ...]


async def represented(
    store: HomeReads, *, workspace_id: str, user_id: str, deadlines: Sequence[Deadline]
) -> dict[int, tuple[Party, ...]]:
    """Of ``deadlines``, those expecting a party ``user_id`` represents: deadline id ->
    those parties."""
    by_negotiation: dict[str, list[Deadline]] = defaultdict(list)
    for deadline in deadlines:
        by_negotiation[negotiation_key(deadline.workspace_id, deadline.channel_id)].append(deadline)
    found: dict[int, tuple[Party, ...]] = {}
    for key, group in by_negotiation.items():
        parties = await store.list_parties(workspace_id=workspace_id, negotiation=key)
        theirs = [party for party in parties if user_id in party.reps]
        if not theirs:
            continue
        for deadline in group:
            expected = await store.get_expected(workspace_id=workspace_id, deadline_id=deadline.id)
            mine = expected_parties(deadline, theirs, expected)
            if mine:
                found[deadline.id] = tuple(mine)
    return found


async def person_home(
    store: HomeReads,
    *,
    workspace_id: str,
    user_id: str,
    statuses: frozenset[DeadlineStatus] = OPEN,
) -> Home:
    """The deadlines ``user_id`` owns (with ``statuses``), and the open ones waiting for
    their position (see the module docstring)."""
    deadlines = await store.list_deadlines(
        workspace_id=workspace_id, statuses=statuses | OPEN, limit=HOME_SCAN
    )
    owned = tuple(d for d in deadlines if user_id in d.owners and d.status in statuses)
    open_ones = [d for d in deadlines if d.status is DeadlineStatus.OPEN]
    states = await store.load_deadline_states(
        workspace_id=workspace_id, deadline_ids=[d.id for d in open_ones]
    )
    positions: dict[int, tuple[Position, ...]] = {s.deadline.id: s.positions for s in states}
    waiting = {
        state.deadline.id
        for state in states
        if any(r.user_id == user_id and r.answered_at is None for r in state.requests)
    }
    reps = await represented(store, workspace_id=workspace_id, user_id=user_id, deadlines=open_ones)
    for deadline_id, parties in reps.items():
        said = positions.get(deadline_id, ())
        if any(not spoke_for(party, said) for party in parties):
            waiting.add(deadline_id)
    return Home(owned=owned, waiting=tuple(d for d in open_ones if d.id in waiting))


def home_blocks(home: Home, *, now: datetime) -> list[Block]:
    """The home as blocks: each deadline with its conversation, countdown and a Brief
    button (a new private brief URL on every press), and the stance buttons on those
    waiting for the person's position."""
    blocks: list[Block] = [Text("Parley: your negotiation deadlines", Role.HEADING)]
    blocks.append(Text(f"Your open deadlines ({len(home.owned)})", Role.HEADING))
    if not home.owned:
        blocks.append(Text("None. Add one with `/deadline add <title> due <when>`.", Role.MUTED))
    for deadline in home.owned[:OWNED_MAX]:
        blocks.append(_line(deadline, now))
        blocks.append(views.countdown(deadline))
        blocks.append(Actions((views.brief_button(deadline),)))
    if len(home.owned) > OWNED_MAX:
        blocks.append(Text(f"… and {len(home.owned) - OWNED_MAX} more.", Role.MUTED))
    blocks.append(Divider())
    blocks.append(Text(f"Your position is asked on ({len(home.waiting)})", Role.HEADING))
    if not home.waiting:
        blocks.append(Text("Nobody is waiting for your position.", Role.MUTED))
    for deadline in home.waiting[:WAITING_MAX]:
        blocks.append(_line(deadline, now))
        blocks.append(views.countdown(deadline))
        answer = views.position_buttons(deadline).buttons
        blocks.append(Actions((*answer, views.brief_button(deadline))))
    if len(home.waiting) > WAITING_MAX:
        blocks.append(Text(f"… and {len(home.waiting) - WAITING_MAX} more.", Role.MUTED))
    blocks.append(Text("`/deadline help` and `/position help` list every command.", Role.MUTED))
    return blocks


def _line(deadline: Deadline, now: datetime) -> Text:
    return Text(f"{views.deadline_summary(deadline, now)} in {views.channel(deadline.channel_id)}")


def home_message(home: Home, *, now: datetime, user_id: str) -> Message:
    """The home as a reply to the person (``home``, or ``deadline list`` in a direct chat)."""
    lines = [f"Your open deadlines ({len(home.owned)}):"]
    lines += [f"{d.ref} {d.title}" for d in home.owned[:OWNED_MAX]]
    lines.append(f"Your position is asked on ({len(home.waiting)}):")
    lines += [f"{d.ref} {d.title}" for d in home.waiting[:WAITING_MAX]]
    return Message(
        fallback="\n".join(lines), blocks=tuple(home_blocks(home, now=now)), user_id=user_id
    )
