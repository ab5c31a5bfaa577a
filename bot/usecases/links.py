"""``/negotiation``: linking channels into one negotiation (``bot.channel_links``).

Forms::

    negotiation link          a one-time code (single use, 15 minutes), shown only to you
    negotiation join <code>   typed in another channel, on either platform: join that set
    negotiation unlink        take this channel out (from the home: the set ends)
    negotiation show          the linked channels, parties and open deadlines
    negotiation [help]

A channel joins only while it has no open deadlines of its own, and then works
in its home's negotiation: ``home_context`` turns a command's ``Context`` into
the home channel's (same person, same platform), so parties, deadlines (one
D-number sequence), offers and positions are the set's, and a reference from
outside the set reaches none of them. Whatever a command posts to the home
channel is shown where it was typed and sent to every other member through its
platform's gateway (``spread``), each rendered natively. Any member may link,
join or unlink; joining and unlinking are announced in every channel, naming
who did it. ``channels_of`` is the one answer to "where do a negotiation's
posts go" (alerts, escalations).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from bot import views
from bot.channel_links import (
    CODE_LIFETIME,
    LinkCode,
    LinkedChannel,
    LinkStore,
    Target,
    code_hash,
    new_code,
)
from bot.domain import Context, Deadline, DeadlineStatus, negotiation_key
from bot.errors import DeliveryError, InvalidInput, NotFound
from bot.messages import Audience, Message
from bot.ports import ChatGateway, NegotiationStore
from bot.words import split_first

log = logging.getLogger("parley.links")

COMMAND = "negotiation"
_VERBS = ("link", "join", "unlink", "show", "help")

HELP = (
    "*/negotiation* links channels (Slack or Teams) into one negotiation:\n"
    "• `/negotiation link`: a one-time code, shown only to you (15 minutes, once)\n"
    "• `/negotiation join <code>`: typed in another channel, it joins that negotiation\n"
    "• `/negotiation unlink`: this channel leaves the negotiation\n"
    "• `/negotiation show`: the linked channels, parties and open deadlines"
)
_PLATFORMS = {"slack": "Slack", "teams": "Teams", "shell": "shell"}
_SPENT = (
    "That code is unknown, already used or expired. Ask for a new one with `/negotiation link`."
)


def _who(ctx: Context) -> str:
    """The person, by display name: a mention would not resolve on the other platform."""
    name = ctx.user_name or ctx.user_id
    return "*" + "".join(ch for ch in name if ch not in "*_`<>~|")[:80] + "*"


def _where(link: LinkedChannel | Target) -> str:
    return f"{views.channel(link.channel_id)} ({_PLATFORMS.get(link.platform, link.platform)})"


def _target(link: LinkedChannel) -> Target:
    return Target(link.workspace_id, link.channel_id, link.platform)


def command_name(text: str) -> str:
    """The command's name for logs and metrics (never the code)."""
    verb = text.strip().split(maxsplit=1)[0].lower() if text.strip() else "help"
    return f"{COMMAND} {verb if verb in _VERBS else 'unknown'}"


async def home_context(store: LinkStore, ctx: Context) -> Context:
    """``ctx`` as if typed in its linked set's home channel (itself when not linked)."""
    return (await linked_home(store, ctx))[0]


async def linked_home(store: LinkStore, ctx: Context) -> tuple[Context, bool]:
    """``home_context``, and whether ``ctx``'s channel is in a linked set at all."""
    if ctx.direct:
        return ctx, False
    link = await store.channel_link(workspace_id=ctx.workspace_id, channel_id=ctx.channel_id)
    if link is None or link.is_home:
        return ctx, link is not None
    home = replace(ctx, workspace_id=link.home_workspace_id, channel_id=link.home_channel_id)
    return home, True


async def channels_of(
    store: LinkStore, *, workspace_id: str, channel_id: str, platform: str
) -> list[Target]:
    """Every channel a negotiation's posts go to: the linked set when ``channel_id`` is a
    set's home (the home first), else the channel alone."""
    link = await store.channel_link(workspace_id=workspace_id, channel_id=channel_id)
    if link is not None and link.is_home:
        members = await store.linked_channels(
            home_workspace_id=workspace_id, home_channel_id=channel_id
        )
        if members:
            return [_target(member) for member in members]
    return [Target(workspace_id=workspace_id, channel_id=channel_id, platform=platform)]


async def deadline_channels(store: LinkStore, deadline: Deadline) -> list[Target]:
    """``channels_of`` the deadline's negotiation: where its alerts, reveals and
    escalations (the ``channel`` rung) are posted."""
    return await channels_of(
        store,
        workspace_id=deadline.workspace_id,
        channel_id=deadline.channel_id,
        platform=deadline.platform,
    )


async def relay(
    gateways: Mapping[str, ChatGateway], targets: Sequence[Target], message: Message
) -> None:
    """Post ``message`` to each target through its platform's gateway, best effort: a
    failure in one channel is logged and the others still get it."""
    for target in targets:
        gateway = gateways.get(target.platform)
        if gateway is None:
            log.warning("no gateway for %s: a linked channel misses a post", target.platform)
            continue
        try:
            await gateway.send(
                workspace_id=target.workspace_id,
                channel_id=target.channel_id,
                message=replace(message, channel_id=target.channel_id),
            )
        except DeliveryError as error:
            log.warning("a post to a linked %s channel failed: %s", target.platform, error)


async def spread(
    store: LinkStore,
    gateways: Mapping[str, ChatGateway],
    *,
    here: Context,
    home: Context,
    messages: list[Message],
) -> list[Message]:
    """The replies for ``here``; what they post to the home channel also goes to every
    other linked channel (see the module docstring)."""
    members = await store.linked_channels(
        home_workspace_id=home.workspace_id, home_channel_id=home.channel_id
    )
    if len(members) < 2:
        return messages
    others = [
        _target(m)
        for m in members
        if (m.workspace_id, m.channel_id) != (here.workspace_id, here.channel_id)
    ]
    replies: list[Message] = []
    for message in messages:
        if message.channel_id not in (None, home.channel_id):
            replies.append(message)
            continue
        if message.audience is Audience.CHANNEL and not message.sensitive:
            await relay(gateways, others, message)
        replies.append(replace(message, channel_id=None))
    return replies


async def run(
    store: NegotiationStore,
    gateways: Mapping[str, ChatGateway],
    *,
    now: datetime,
    ctx: Context,
    text: str,
) -> list[Message]:
    """Run ``/negotiation <text>`` typed where ``ctx`` says."""
    verb, rest = split_first(text.strip())
    verb = verb.lower()
    if verb in ("", "help"):
        return [views.info_message(HELP, user_id=ctx.user_id)]
    if ctx.direct:
        raise InvalidInput(
            "Negotiations are linked from channels: type `/negotiation` in one, not here."
        )
    if verb == "link" and not rest:
        return [await _link(store, now=now, ctx=ctx)]
    if verb == "join" and not rest:
        raise InvalidInput("Type the code after join: `/negotiation join <code>`.")
    if verb == "join" and len(rest.split()) <= 4:
        return await _join(store, gateways, now=now, ctx=ctx, typed=rest)
    if verb == "unlink" and not rest:
        return await _unlink(store, gateways, ctx=ctx)
    if verb == "show" and not rest:
        return [await _show(store, ctx=ctx)]
    raise InvalidInput(
        f"I don't know `/negotiation {text.strip()[:60]}`.",
        hint="Try `/negotiation link`, `/negotiation join <code>`, `/negotiation unlink` "
        "or `/negotiation show`.",
    )


async def _link(store: LinkStore, *, now: datetime, ctx: Context) -> Message:
    code = new_code()
    await store.add_link_code(
        code=LinkCode(
            code_hash=code_hash(code),
            workspace_id=ctx.workspace_id,
            channel_id=ctx.channel_id,
            platform=ctx.platform,
            created_by=ctx.user_id,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    text = (
        f"Your link code for {views.channel(ctx.channel_id)}: `{code}`\n"
        f"In the other channel (Slack or Teams), type `/negotiation join {code}` within "
        "15 minutes. It works once; keep it to the people who should link."
    )
    return replace(views.info_message(text, user_id=ctx.user_id), sensitive=True)


async def _join(
    store: NegotiationStore,
    gateways: Mapping[str, ChatGateway],
    *,
    now: datetime,
    ctx: Context,
    typed: str,
) -> list[Message]:
    ws, here = ctx.workspace_id, ctx.channel_id
    if await store.channel_link(workspace_id=ws, channel_id=here) is not None:
        raise InvalidInput(
            "This channel is already in a linked negotiation.",
            hint="See `/negotiation show`; `/negotiation unlink` first to join another.",
        )
    open_here = await store.list_deadlines(
        workspace_id=ws, channel_id=here, statuses=frozenset({DeadlineStatus.OPEN})
    )
    if open_here:
        refs = ", ".join(d.ref for d in open_here[:5])
        raise InvalidInput(
            f"This channel has open deadlines of its own ({refs}), so it cannot join "
            "another negotiation. Nothing was linked.",
            hint="Close or cancel them first, or link the other way round: "
            "`/negotiation link` here, and join from the other channel.",
        )
    code = await store.take_link_code(code_hash=code_hash(typed), now=now)
    if code is None:
        raise NotFound(_SPENT)
    if (code.workspace_id, code.channel_id) == (ws, here):
        raise InvalidInput("That code is for this channel: type it in the other channel.")
    founder = await store.channel_link(workspace_id=code.workspace_id, channel_id=code.channel_id)
    home = (
        founder
        if founder is not None
        else LinkedChannel(
            workspace_id=code.workspace_id,
            channel_id=code.channel_id,
            platform=code.platform,
            home_workspace_id=code.workspace_id,
            home_channel_id=code.channel_id,
            linked_by=code.created_by,
            linked_by_name="",
            linked_at=now,
        )
    )
    joining = LinkedChannel(
        workspace_id=ws,
        channel_id=here,
        platform=ctx.platform,
        home_workspace_id=home.home_workspace_id,
        home_channel_id=home.home_channel_id,
        linked_by=ctx.user_id,
        linked_by_name=ctx.user_name,
        linked_at=now,
    )
    await store.add_links(links=[home, joining] if founder is None else [joining])
    members = await store.linked_channels(
        home_workspace_id=home.home_workspace_id, home_channel_id=home.home_channel_id
    )
    text = (
        f"{_who(ctx)} linked {_where(joining)} into this negotiation: "
        f"{', '.join(_where(m) for m in members)} now share its parties, deadlines, offers "
        "and positions."
    )
    announce = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    await relay(gateways, [_target(m) for m in members if m != joining], announce)
    return [announce]


async def _unlink(
    store: LinkStore, gateways: Mapping[str, ChatGateway], *, ctx: Context
) -> list[Message]:
    link = await store.channel_link(workspace_id=ctx.workspace_id, channel_id=ctx.channel_id)
    if link is None:
        raise InvalidInput("This channel is not linked to another one.")
    members = await store.linked_channels(
        home_workspace_id=link.home_workspace_id, home_channel_id=link.home_channel_id
    )
    # From the home the set ends (its deadlines live there); a home left alone is unlinked.
    leaving = members if link.is_home or len(members) <= 2 else [link]
    await store.remove_links(channels=[(m.workspace_id, m.channel_id) for m in leaving])
    if link.is_home:
        text = (
            f"{_who(ctx)} unlinked the negotiation's home, {_where(link)}: the link has ended "
            f"for every channel, and its deadlines stay in {views.channel(link.channel_id)}."
        )
    else:
        text = (
            f"{_who(ctx)} unlinked {_where(link)} from this negotiation: it no longer sees "
            "the negotiation's deadlines, and its posts stop there."
        )
    announce = views.info_message(text, user_id=None, audience=Audience.CHANNEL)
    await relay(gateways, [_target(m) for m in members if m != link], announce)
    return [announce]


async def _show(store: NegotiationStore, *, ctx: Context) -> Message:
    home = await home_context(store, ctx)
    members = await store.linked_channels(
        home_workspace_id=home.workspace_id, home_channel_id=home.channel_id
    )
    lines = ["*This negotiation*"]
    if len(members) < 2:
        lines.append("Channels: this one only (link another with `/negotiation link`).")
    else:
        lines.append(
            "Channels: " + ", ".join(_where(m) + (" — home" if m.is_home else "") for m in members)
        )
    parties = await store.list_parties(
        workspace_id=home.workspace_id,
        negotiation=negotiation_key(home.workspace_id, home.channel_id),
    )
    lines.append("Parties: " + (", ".join(p.name for p in parties) or "none declared"))
    open_ones = await store.list_deadlines(
        workspace_id=home.workspace_id,
        channel_id=home.channel_id,
        statuses=frozenset({DeadlineStatus.OPEN}),
    )
    lines.append(
        "Open deadlines: " + (", ".join(f"{d.ref} {d.title}" for d in open_ones) or "none")
    )
    return views.info_message("\n".join(lines), user_id=ctx.user_id)
