"""Parties: declaring them and their reps, listing them, which a deadline expects,
and who may speak for one (DESIGN.md, "Negotiation rules").

A party belongs to the negotiation of the channel it was declared in. While a
party has reps, only they add or remove reps, remove it, or record its
position; a party without reps may be changed by any member, and its position
is held by whoever recorded it first (``bot.usecases.positions``). Owners get
no exception: an owner may sit on the other side of the table.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot import views
from bot.domain import (
    PARTY_MAX,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Party,
    negotiation_key,
    party_key,
    shown_positions,
)
from bot.errors import InvalidInput
from bot.grammar_negotiation import ChangeParty, ExpectParties
from bot.messages import Audience, Message
from bot.negotiation import Silence, expected_parties, silent
from bot.ports import NegotiationStore
from bot.usecases import access

REPS_MAX = 20


def reps_text(party: Party) -> str:
    return ", ".join(views.mention(rep) for rep in party.reps)


def match(parties: Sequence[Party], name: str) -> Party:
    """The declared party ``name`` names (case-insensitively); a "did you mean" otherwise."""
    key = party_key(name)
    found = next((party for party in parties if party.key == key), None)
    if found is not None:
        return found
    if not parties:
        raise InvalidInput(
            f'"{name}" is not a party of this negotiation: none is declared here yet.',
            hint='Declare it first: /party add "<name>" [@rep ...]',
        )
    close = difflib.get_close_matches(key, [party.key for party in parties], n=1, cutoff=0.6)
    suggestion = next((f' Did you mean "{p.name}"?' for p in parties if [p.key] == close), "")
    names = ", ".join(f'"{party.name}"' for party in parties)
    raise InvalidInput(
        f'"{name}" is not a party of this negotiation.{suggestion} The parties are: {names}.',
        hint='Declare it first: /party add "<name>" [@rep ...]',
    )


def require_rep(ctx: Context, party: Party, doing: str) -> None:
    """Refuse anyone but the party's reps (when it has any), saying who can."""
    if party.reps and ctx.user_id not in party.reps:
        raise InvalidInput(
            f"Only {party.name}'s reps ({reps_text(party)}) can {doing}. Nothing was changed."
        )


async def change(
    *, store: NegotiationStore, now: datetime, ctx: Context, command: ChangeParty
) -> list[Message]:
    """``/party add`` and ``/party remove``, announced in the channel."""
    if len(command.name) > PARTY_MAX:
        raise InvalidInput(
            f"The party name is {len(command.name)} characters; the limit is {PARTY_MAX}."
        )
    ws, negotiation = ctx.workspace_id, negotiation_key(ctx.workspace_id, ctx.channel_id)
    parties = await store.list_parties(workspace_id=ws, negotiation=negotiation)
    named = access.people(ctx, command.reps)
    key = party_key(command.name)
    party = next((p for p in parties if p.key == key), None)
    who = views.mention(ctx.user_id)
    if command.remove:
        if party is None:
            match(parties, command.name)  # raises, with "did you mean"
            raise AssertionError  # pragma: no cover
        if not named:
            require_rep(ctx, party, f"remove {party.name}")
            await store.delete_party(workspace_id=ws, negotiation=negotiation, key=party.key)
            return [_announce(ctx, f"{who} removed the party {party.name}.")]
        require_rep(ctx, party, f"change {party.name}'s reps")
        missing = [views.mention(u) for u in named if u not in party.reps]
        if missing:
            raise InvalidInput(
                f"{', '.join(missing)} is not a rep of {party.name}. Nothing was changed."
            )
        kept = tuple(rep for rep in party.reps if rep not in named)
        await store.save_party(workspace_id=ws, party=replace(party, reps=kept))
        gone = ", ".join(views.mention(u) for u in named)
        return [_announce(ctx, f"{who} took {gone} off as reps of {party.name}.")]
    if party is None:
        if len(named) > REPS_MAX:
            raise InvalidInput(f"A party has at most {REPS_MAX} reps (you named {len(named)}).")
        party = Party(
            negotiation=negotiation,
            name=command.name,
            reps=tuple(named),
            declared_by=ctx.user_id,
            declared_at=now,
        )
        await store.save_party(workspace_id=ws, party=party)
        speakers = f", represented by {reps_text(party)}" if party.reps else ""
        return [_announce(ctx, f"{who} declared the party {party.name}{speakers}.")]
    if not named:
        raise InvalidInput(
            f"{party.name} is already a party here. Name reps to add: /party add "
            f'"{party.name}" @someone'
        )
    require_rep(ctx, party, f"add reps to {party.name}")
    reps = party.reps + tuple(u for u in named if u not in party.reps)
    if len(reps) > REPS_MAX:
        raise InvalidInput(f"A party has at most {REPS_MAX} reps.")
    await store.save_party(workspace_id=ws, party=replace(party, reps=reps))
    added = ", ".join(views.mention(u) for u in named)
    return [_announce(ctx, f"{who} added {added} as reps of {party.name}.")]


def _announce(ctx: Context, text: str) -> Message:
    announce = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    return replace(announce, channel_id=ctx.channel_id)


async def listing(*, store: NegotiationStore, ctx: Context) -> Message:
    """``/party list``: each party, its reps, and its stance on each open deadline here."""
    ws, negotiation = ctx.workspace_id, negotiation_key(ctx.workspace_id, ctx.channel_id)
    parties = await store.list_parties(workspace_id=ws, negotiation=negotiation)
    if not parties:
        return views.info_message(
            "No parties declared here yet. Declare one: /party add <name> [@rep ...]",
            user_id=ctx.user_id,
        )
    deadlines = await store.list_deadlines(
        workspace_id=ws, channel_id=ctx.channel_id, statuses=frozenset({DeadlineStatus.OPEN})
    )
    lines = ["*Parties*"]
    for party in parties:
        reps = f" (reps: {reps_text(party)})" if party.reps else " (no reps)"
        lines.append(f"{party.name}{reps}")
        for deadline in deadlines:
            positions = shown_positions(
                deadline, await store.list_positions(workspace_id=ws, deadline_id=deadline.id)
            )
            current = next((p for p in positions if p.stakeholder == party.stakeholder), None)
            stance = "no position"
            if current is not None:
                stance = "sealed" if current.hidden else current.stance.value
            lines.append(f"  {deadline.ref} {deadline.title}: {stance}")
    return views.info_message("\n".join(lines), user_id=ctx.user_id)


async def expect(
    *,
    store: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    command: ExpectParties,
) -> list[Message]:
    """``/deadline expect``: owners only; names must be declared parties."""
    access.require_owner(ctx, deadline, f"change which parties {deadline.ref} expects")
    parties = await store.list_parties(
        workspace_id=ctx.workspace_id,
        negotiation=negotiation_key(deadline.workspace_id, deadline.channel_id),
    )
    chosen = [match(parties, name) for name in command.names or ()]
    keys = tuple(party.key for party in chosen)
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.EXPECTED_CHANGED,
        at=now,
        actor_id=ctx.user_id,
        data={"parties": [party.name for party in chosen]},
    )
    await store.set_expected(
        workspace_id=ctx.workspace_id, deadline_id=deadline.id, keys=keys, event=event
    )
    names = ", ".join(party.name for party in chosen) or "no party"
    text = f"{views.mention(ctx.user_id)} set {deadline.ref} {deadline.title} to expect {names}."
    announce = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    return [replace(announce, channel_id=deadline.channel_id)]


async def silence(store: NegotiationStore, ws: str, deadline: Deadline) -> Silence:
    """Who is silent on ``deadline`` now (``bot.negotiation.silent``)."""
    parties = await store.list_parties(
        workspace_id=ws, negotiation=negotiation_key(deadline.workspace_id, deadline.channel_id)
    )
    expected = await store.get_expected(workspace_id=ws, deadline_id=deadline.id)
    return silent(
        expected=expected_parties(deadline, parties, expected),
        positions=await store.list_positions(workspace_id=ws, deadline_id=deadline.id),
        requests=await store.list_position_requests(workspace_id=ws, deadline_id=deadline.id),
    )
