"""Positions: recording one (typed, by button, by form), the matrix, the form, asking.

Who may record what (DESIGN.md, "Permissions"):

- one's own position: only oneself, by anyone who reaches the deadline;
- once the negotiation has declared parties, ``as <party>`` must name one
  (``bot.usecases.parties.match``), and a party with reps is spoken for by its
  reps only;
- any other party's position (``as <party>``): whoever records it first holds it,
  and only they change it afterwards; owners get no exception (an owner may sit
  on the other side of the table). The holder is read from the history: the
  actor of the first ``position_recorded`` event for that party.

Terms: a typed position without terms, and a stance button, keep the current
terms; ``terms none`` (an empty ``terms``) clears them; a form sends what its
terms field holds. Every recording keeps its terms in the history event, so
``show`` can tell how red lines changed.

Sealed deadlines (``bot.sealing``): until the reveal a recording is answered with
a private receipt, and the channel sees only who recorded and the commitment;
each change issues a new salt and commitment, all kept in the history. A
sealed position typed in a Teams channel is refused (Teams shows the typed line
to everyone): the form, or the personal chat, keeps it private.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from bot import sealing, views
from bot.domain import (
    PARTY_MAX,
    STANCE_ALIASES,
    TERMS_MAX,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Offer,
    Party,
    Position,
    PositionRequest,
    Stance,
    negotiation_key,
    party_key,
    shown_positions,
)
from bot.errors import FormError, InvalidInput
from bot.grammar import AskPositions
from bot.messages import Audience, Message
from bot.negotiation import Silence
from bot.ports import DeadlineStore, NegotiationStore
from bot.sanitize import strip_controls
from bot.usecases import access
from bot.usecases.parties import match as match_party
from bot.usecases.parties import require_rep
from bot.usecases.parties import silence as silence_of

ASK_MAX = 50


async def record(
    *,
    store: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    stance: Stance,
    party: str | None,
    terms: str | None,
    typed: bool = False,
) -> list[Message]:
    """Record a position (``terms`` None: keep the current terms) and announce it in
    the deadline's channel; ``typed``: the command was typed (not a button or form)."""
    if deadline.status is DeadlineStatus.CANCELLED:
        raise InvalidInput(f"{deadline.ref} is cancelled; positions on it are closed.")
    sealed = deadline.sealed_now
    if sealed and typed and ctx.platform == "teams" and not ctx.direct:
        raise InvalidInput(
            f"{deadline.ref} is sealed, and Teams shows what you type in a channel to everyone. "
            "Nothing was recorded. Use the form: type `@Parley position "
            f"{deadline.ref}` and fill it in, or type the position in your personal chat "
            "with Parley."
        )
    party_name = " ".join(party.split()) if party else None
    if party_name is not None and len(party_name) > PARTY_MAX:
        raise InvalidInput(
            f"The party name is {len(party_name)} characters; the limit is {PARTY_MAX}."
        )
    if terms is not None and len(terms) > TERMS_MAX:
        raise InvalidInput(
            f"The terms are {len(terms)} characters; the limit is {TERMS_MAX}.",
            hint="Shorten them, or record the details elsewhere and link them.",
        )
    declared: Party | None = None
    if party_name:
        parties = await store.list_parties(
            workspace_id=ctx.workspace_id,
            negotiation=negotiation_key(deadline.workspace_id, deadline.channel_id),
        )
        if parties:
            declared = match_party(parties, party_name)
            party_name = declared.name
            require_rep(ctx, declared, f"record its position on {deadline.ref}")
    if party_name:
        stakeholder, label = f"party:{party_key(party_name)}", party_name
    else:
        stakeholder, label = ctx.user_id, views.mention(ctx.user_id)
    current = await current_position(store, ctx, deadline, stakeholder)
    if current is not None and party_name and (declared is None or not declared.reps):
        holder = await _first_recorder(store, ctx, deadline, stakeholder) or current.recorded_by
        if holder != ctx.user_id:
            raise InvalidInput(
                f"Only {views.mention(holder)}, who first recorded {current.label}'s position "
                f"on {deadline.ref}, can change it. Nothing was changed.",
                hint="Record your own position without `as`, e.g. "
                f"/position {deadline.ref} {stance.value}",
            )
    if terms is None:
        terms = current.terms if current else ""
    terms = terms.strip()
    offers = await store.list_offers(workspace_id=ctx.workspace_id, deadline_id=deadline.id)
    salt = commitment = None
    if sealed:
        salt = sealing.new_salt()
        commitment = sealing.commitment(
            salt=salt, label=party_name or ctx.user_id, stance=stance.value, terms=terms
        )
    position = Position(
        deadline_id=deadline.id,
        stakeholder=stakeholder,
        label=label,
        stance=stance,
        terms=terms,
        recorded_by=ctx.user_id,
        recorded_at=now,
        offer=offers[-1].version if offers else None,
        salt=salt,
        commitment=commitment,
    )
    data: dict[str, object] = {
        "stakeholder": stakeholder,
        "label": label,
        "stance": stance.value,
        "terms": position.terms,
    }
    if commitment is not None:
        data |= {"sealed": True, "salt": salt, "commitment": commitment}
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.POSITION_RECORDED,
        at=now,
        actor_id=ctx.user_id,
        data=data,
    )
    await store.record_position(workspace_id=ctx.workspace_id, position=position, event=event)
    if commitment is not None:
        return [
            views.sealed_notice(deadline, label=label, commitment=commitment),
            views.receipt(
                deadline,
                position=position,
                label=sealing.commit_label(position),
                user_id=ctx.user_id,
            ),
        ]
    on_behalf = "" if stakeholder == ctx.user_id else f" (recorded by {views.mention(ctx.user_id)})"
    detail = f": {position.terms}" if position.terms else ""
    text = f"{label} {stance.value}s {deadline.ref} {deadline.title}{on_behalf}{detail}"
    if stance is Stance.CONDITIONAL:
        text = f"{label} is conditional on {deadline.ref} {deadline.title}{on_behalf}{detail}"
    elif stance is Stance.UNDECIDED:
        text = f"{label} is undecided on {deadline.ref} {deadline.title}{on_behalf}{detail}"
    # Announced where the deadline lives, also when the stance came from a DM.
    announce = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    return [replace(announce, channel_id=deadline.channel_id)]


async def _first_recorder(
    store: DeadlineStore, ctx: Context, deadline: Deadline, stakeholder: str
) -> str | None:
    events = await store.list_events(workspace_id=ctx.workspace_id, deadline_id=deadline.id)
    return next(
        (
            event.actor_id
            for event in events
            if event.kind is EventKind.POSITION_RECORDED
            and event.data.get("stakeholder") == stakeholder
        ),
        None,
    )


async def current_position(
    store: DeadlineStore, ctx: Context, deadline: Deadline, stakeholder: str
) -> Position | None:
    positions = await store.list_positions(workspace_id=ctx.workspace_id, deadline_id=deadline.id)
    return next((p for p in positions if p.stakeholder == stakeholder), None)


async def verify(store: DeadlineStore, ctx: Context, deadline: Deadline) -> Message:
    """``/position verify``: the commitments, and once revealed the check of each."""
    positions = await store.list_positions(workspace_id=ctx.workspace_id, deadline_id=deadline.id)
    lines = sealing.verify_lines(deadline, shown_positions(deadline, positions))
    return views.info_message("\n".join(lines), user_id=ctx.user_id)


async def form(store: DeadlineStore, ctx: Context, deadline: Deadline) -> Message:
    """The position form, filled with the person's own current position."""
    current = await current_position(store, ctx, deadline, ctx.user_id)
    return views.position_form(deadline, user_id=ctx.user_id, current=current)


def read_form(fields: Mapping[str, str]) -> tuple[Stance, str | None, str]:
    """A submitted form's stance, party and terms (control characters taken out);
    ``FormError`` naming each field that is wrong."""
    errors: dict[str, str] = {}
    stance_text = strip_controls(fields.get("stance") or "").strip().lower()
    stance = STANCE_ALIASES.get(stance_text)
    if stance is None:
        errors["stance"] = "Pick a stance: support, oppose, conditional or undecided."
    party = " ".join(strip_controls(fields.get("party") or "").split()) or None
    terms = strip_controls(fields.get("terms") or "").strip()
    if party is not None and len(party) > PARTY_MAX:
        errors["party"] = f"Keep the party name under {PARTY_MAX} characters."
    if len(terms) > TERMS_MAX:
        errors["terms"] = f"Terms are {len(terms)} characters; the limit is {TERMS_MAX}."
    if errors or stance is None:
        raise FormError(errors)
    return stance, party, terms


@dataclass(frozen=True, slots=True)
class MatrixState:
    """What the channel can see of a deadline's positions: the matrix, the brief page
    and anything else that shows positions read them through ``matrix_state``."""

    positions: list[Position]
    requests: list[PositionRequest]
    silence: Silence
    offers: list[Offer]


async def matrix_state(store: NegotiationStore, ws: str, deadline: Deadline) -> MatrixState:
    """What the matrix of ``deadline`` shows anyone now (sealed positions hidden)."""
    return MatrixState(
        positions=list(
            shown_positions(
                deadline, await store.list_positions(workspace_id=ws, deadline_id=deadline.id)
            )
        ),
        requests=await store.list_position_requests(workspace_id=ws, deadline_id=deadline.id),
        silence=await silence_of(store, ws, deadline),
        offers=await store.list_offers(workspace_id=ws, deadline_id=deadline.id),
    )


async def matrix(
    store: NegotiationStore, now: datetime, ctx: Context, deadline: Deadline
) -> Message:
    state = await matrix_state(store, ctx.workspace_id, deadline)
    return views.position_matrix(
        deadline,
        now=now,
        positions=state.positions,
        requests=state.requests,
        user_id=ctx.user_id,
        silence=state.silence,
        offers=state.offers,
    )


async def ask(
    *, store: DeadlineStore, now: datetime, ctx: Context, deadline: Deadline, command: AskPositions
) -> list[Message]:
    """Ask people for their positions: announced in the deadline's channel, a DM each."""
    if deadline.status is not DeadlineStatus.OPEN:
        raise InvalidInput(f"{deadline.ref} is {deadline.status.value}; there is nothing to ask.")
    user_ids = access.people(ctx, command.people)
    if len(user_ids) > ASK_MAX:
        raise InvalidInput(f"Ask at most {ASK_MAX} people at once (you named {len(user_ids)}).")
    requests = [
        PositionRequest(deadline_id=deadline.id, user_id=u, asked_by=ctx.user_id, asked_at=now)
        for u in user_ids
    ]
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.POSITIONS_ASKED,
        at=now,
        actor_id=ctx.user_id,
        data={"user_ids": user_ids},
    )
    await store.add_position_requests(workspace_id=ctx.workspace_id, requests=requests, event=event)
    asked = ", ".join(views.mention(u) for u in user_ids)
    announce = views.info_message(
        f"{views.mention(ctx.user_id)} asked {asked} for their positions on {deadline.ref} "
        f"{deadline.title}. `/position list {deadline.ref}` shows who has answered.",
        user_id=None,
        audience=Audience.CHANNEL,
    )
    directs = [
        views.ask_direct_message(deadline, user_id=u, asked_by=ctx.user_id, now=now)
        for u in user_ids
    ]
    return [replace(announce, channel_id=deadline.channel_id), *directs]
