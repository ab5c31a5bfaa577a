"""Offers: ``/offer <ref> <title> [<url>] [from <party>]`` and ``/offer list <ref>``
(DESIGN.md, "Negotiation rules").

Each offer is the next version on its deadline (O1, O2, ...). Any member of the
channel may record one, on an open deadline reached as every other command
reaches it (``bot.usecases.access``). ``from X`` counts only as the last words of
the line and only when X names a declared party of the deadline's negotiation;
otherwise those words stay in the title. The title is shown as a link to the
offer's URL (``bot.messages.link``), its host beside it, so the page it leads
to is visible before the click.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot import views
from bot.domain import (
    TITLE_MAX,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Offer,
    Party,
    negotiation_key,
    party_key,
)
from bot.errors import InvalidInput
from bot.grammar_negotiation import RecordOffer
from bot.messages import Audience, Message, Role, Text, host, link, moment
from bot.ports import NegotiationStore
from bot.words import unquote

LIST_LIMIT = 20


def split_party(text: str, parties: Sequence[Party]) -> tuple[str, Party | None]:
    """``"BAFO from Anthropic"`` -> ``("BAFO", Anthropic)`` when Anthropic is declared."""
    words = text.split(" ")
    for index, word in enumerate(words[:-1]):
        if word.lower() != "from":
            continue
        named = party_key(unquote(" ".join(words[index + 1 :])))
        found = next((party for party in parties if party.key == named), None)
        if found is not None:
            return " ".join(words[:index]), found
    return text, None


async def record(
    *,
    store: NegotiationStore,
    now: datetime,
    ctx: Context,
    deadline: Deadline,
    command: RecordOffer,
) -> list[Message]:
    """Record the next offer version and announce it in the deadline's channel."""
    if deadline.status is not DeadlineStatus.OPEN:
        raise InvalidInput(
            f"{deadline.ref} is {deadline.status.value}; offers are recorded on open deadlines."
        )
    parties = await store.list_parties(
        workspace_id=ctx.workspace_id,
        negotiation=negotiation_key(deadline.workspace_id, deadline.channel_id),
    )
    title, party = split_party(command.text, parties)
    title = title or command.label
    if not title:
        raise InvalidInput(
            "The offer has no title, only its party. Name it before the link or from, "
            f"e.g. /offer {deadline.ref} Best and final offer from {party.name if party else 'X'}"
        )
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"The offer title is {len(title)} characters; the limit is {TITLE_MAX}.")
    offer = Offer(
        deadline_id=deadline.id,
        version=0,
        title=title,
        url=command.url,
        party=party.name if party else None,
        recorded_by=ctx.user_id,
        recorded_at=now,
    )
    data: dict[str, object] = {"title": title, "url": offer.url, "party": offer.party}
    if offer.url:
        data["host"] = host(offer.url)
    event = Event(
        deadline_id=deadline.id,
        kind=EventKind.OFFER_RECORDED,
        at=now,
        actor_id=ctx.user_id,
        data=data,
    )
    stored = await store.record_offer(workspace_id=ctx.workspace_id, offer=offer, event=event)
    text = (
        f"{views.mention(ctx.user_id)} put a new offer on the table for {deadline.ref} "
        f"{deadline.title}: {offer_line(stored)}."
    )
    if stored.version > 1:
        text += f" Positions given earlier answered O{stored.version - 1} or before."
    return [
        Message(
            fallback=text,
            blocks=(Text(text),),
            audience=Audience.CHANNEL,
            channel_id=deadline.channel_id,
        )
    ]


async def listing(*, store: NegotiationStore, ctx: Context, deadline: Deadline) -> Message:
    """``/offer list``: the versions in order."""
    offers = await store.list_offers(workspace_id=ctx.workspace_id, deadline_id=deadline.id)
    if not offers:
        return views.info_message(
            f"No offers on {deadline.ref} {deadline.title} yet. Record one: "
            f"/offer {deadline.ref} <title> [<url>] [from <party>]",
            user_id=ctx.user_id,
        )
    heading = f"Offers on {deadline.ref} {deadline.title}"
    shown = offers[-LIST_LIMIT:]
    lines = [heading]
    if len(offers) > len(shown):
        lines.append(f"… {len(offers) - len(shown)} earlier offers not shown")
    for offer in shown:
        current = " (current)" if offer is offers[-1] else ""
        who = f"{views.mention(offer.recorded_by)} {moment(offer.recorded_at, deadline.tz)}"
        lines.append(f"{offer_line(offer)}{current}, recorded by {who}")
    return Message(
        fallback="\n".join(lines),
        blocks=(Text(heading, Role.HEADING), Text("\n".join(lines[1:]))),
        audience=Audience.EPHEMERAL,
        user_id=ctx.user_id,
    )


def offer_line(offer: Offer) -> str:
    """``O2 <title linked to its URL> from Anthropic`` (the host shows beside the link)."""
    party = f" from {offer.party}" if offer.party else ""
    return f"{offer.ref} {link(offer.title, offer.url)}{party}"


def current_version(offers: Sequence[Offer]) -> int | None:
    return offers[-1].version if offers else None
