"""Who reaches which deadline, and who may change it: the channel boundary and the roles.

A deadline belongs to the channel it was added in (DESIGN.md, "Data and
time"). From that channel a reference (``D1``, ``1``, a title prefix) reaches
the channel's deadlines and nothing else. In a direct conversation with
Parley (``Context.direct``) it reaches that conversation's own deadlines and
those the person owns, was asked a position on, or represents a party on (a
party the deadline expects), in any channel of the workspace. Anything else
answers exactly as a deadline that does not exist: the same words, so that
nobody learns that it does.

A channel of a linked set (``bot.usecases.links``) is a window on its home
channel: the service turns the command's ``Context`` into the home's before
anything here runs, so the boundary is exactly the linked set, and a channel
that unlinks is outside it again.

Buttons carry a deadline's id, not its number. A press (or a form submitted
from one) reaches the deadline when it comes from the deadline's own channel,
or from someone who owns it, was asked on it or represents a party it expects:
the ask DM's buttons, the App Home, the Teams home. An id that is not a
positive number under 2**63 is a button Parley never made ("That button is
out of date.").

Roles: only a deadline's owners (``Deadline.owners``) extend, move, cancel,
close or remind it, or change its owners; anyone else is told who can.

Ids the platform hands over (workspace, channel, user) are refused when they
hold control characters (``check_ids``), so none reaches the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot import views
from bot.domain import Context, Deadline, DeadlineStatus
from bot.errors import AmbiguousReference, InvalidInput, NotFound
from bot.people import Person
from bot.ports import NegotiationStore
from bot.sanitize import has_controls
from bot.usecases import home
from bot.words import Ref

ID_LIMIT = 2**63  # every database's largest integer key, plus one
_ID_SHAPE = re.compile(r"[0-9]{1,19}")
GONE = "That deadline no longer exists."


def check_ids(ctx: Context) -> None:
    """Refuse a request whose ids carry control characters (a platform never sends them;
    NUL in particular must not reach the database)."""
    if any(has_controls(value) for value in (ctx.workspace_id, ctx.channel_id, ctx.user_id)):
        raise InvalidInput("This request names a workspace, channel or person Parley cannot read.")


def deadline_id(value: str) -> int:
    """The deadline id a button or form carries; ``ValueError`` for anything Parley
    did not write there (signs, spaces, underscores, zero, 2**63 and above)."""
    if _ID_SHAPE.fullmatch(value) is None or not 0 < int(value) < ID_LIMIT:
        raise ValueError(f"not a deadline id: {value[:40]!r}")
    return int(value)


async def resolve(store: NegotiationStore, ctx: Context, ref: Ref) -> Deadline:
    """The deadline ``ref`` names where ``ctx`` is (see the module docstring)."""
    candidates = await _candidates(store, ctx, ref)
    if ref.number is None:
        open_ones = [d for d in candidates if d.status is DeadlineStatus.OPEN]
        if open_ones and len(candidates) > 1:
            candidates = open_ones  # a title prefix prefers what is still open
    if not candidates:
        raise _not_found(ctx, ref)
    if len(candidates) > 1:
        raise _ambiguous(ctx, ref, candidates)
    return candidates[0]


async def _candidates(store: NegotiationStore, ctx: Context, ref: Ref) -> list[Deadline]:
    ws, here = ctx.workspace_id, ctx.channel_id
    found: list[Deadline] = []
    if ref.number is not None:
        local = await store.get_deadline(workspace_id=ws, channel_id=here, number=ref.number)
        found.extend([local] if local is not None else [])
    else:
        found.extend(
            await store.find_deadlines_by_title(workspace_id=ws, channel_id=here, prefix=ref.prefix)
        )
    if ctx.direct:
        theirs = await store.find_deadlines_of_person(
            workspace_id=ws,
            user_id=ctx.user_id,
            number=ref.number,
            prefix=ref.prefix if ref.number is None else None,
        )
        known = {d.id for d in found}
        found.extend(d for d in theirs if d.id not in known)
        found.extend(await _represented(store, ctx, ref, known={d.id for d in found}))
        found.sort(key=lambda d: (d.due_at, d.number))
    return found


async def _represented(
    store: NegotiationStore, ctx: Context, ref: Ref, *, known: set[int]
) -> list[Deadline]:
    """The deadlines ``ref`` names that expect a party the person represents."""
    named = [
        d
        for d in await store.list_deadlines(workspace_id=ctx.workspace_id)
        if d.id not in known
        and (d.number == ref.number if ref.number is not None else _starts(d, ref.prefix))
    ]
    if not named:
        return []
    reps = await home.represented(
        store, workspace_id=ctx.workspace_id, user_id=ctx.user_id, deadlines=named
    )
    return [d for d in named if d.id in reps]


def _starts(deadline: Deadline, prefix: str | None) -> bool:
    return prefix is not None and deadline.title.casefold().startswith(prefix.casefold())


def _not_found(ctx: Context, ref: Ref) -> NotFound:
    where = (
        "here or among the deadlines you own or were asked about"
        if ctx.direct
        else "in this channel"
    )
    if ref.number is not None:
        return NotFound(
            f"There is no deadline D{ref.number} {where}.",
            hint="See `/deadline list all` for the numbers.",
        )
    return NotFound(
        f'No deadline title starts with "{ref.prefix}" {where}.',
        hint="Use the number shown as D<n>; see `/deadline list all`.",
    )


def _ambiguous(ctx: Context, ref: Ref, candidates: Sequence[Deadline]) -> AmbiguousReference:
    said = f"D{ref.number}" if ref.number is not None else f'"{ref.prefix}"'
    names = ", ".join(
        f"{d.ref} {d.title}" + (f" (in {views.channel(d.channel_id)})" if ctx.direct else "")
        for d in candidates[:5]
    )
    more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
    hint = (
        "Type the command in the deadline's channel, or name it by the start of its title."
        if ctx.direct
        else "Use the number instead, e.g. `/deadline show D1`."
    )
    return AmbiguousReference(
        f"{said} matches {len(candidates)} deadlines: {names}{more}.", hint=hint
    )


async def by_id(store: NegotiationStore, ctx: Context, value: str) -> Deadline:
    """The deadline a button or form names, if the presser may reach it; ``ValueError``
    for a malformed id, else ``NotFound`` (the same for gone and out of reach)."""
    found = await store.get_deadline_by_id(
        workspace_id=ctx.workspace_id, deadline_id=deadline_id(value)
    )
    if found is None or not await reaches(store, ctx, found):
        raise NotFound(GONE)
    return found


async def reaches(store: NegotiationStore, ctx: Context, deadline: Deadline) -> bool:
    """Whether a press from ``ctx`` may reach ``deadline`` (its channel, an owner, asked,
    or a rep of a party it expects: the home's buttons)."""
    if deadline.channel_id == ctx.channel_id or ctx.user_id in deadline.owners:
        return True
    requests = await store.list_position_requests(
        workspace_id=ctx.workspace_id, deadline_id=deadline.id
    )
    if any(request.user_id == ctx.user_id for request in requests):
        return True
    reps = await home.represented(
        store, workspace_id=ctx.workspace_id, user_id=ctx.user_id, deadlines=[deadline]
    )
    return deadline.id in reps


def require_owner(ctx: Context, deadline: Deadline, doing: str) -> None:
    """Refuse anyone but an owner, saying who can (``doing``: "extend D1")."""
    if ctx.user_id in deadline.owners:
        return
    raise InvalidInput(
        f"Only {views.owner_names(deadline)} can {doing}. Nothing was changed.",
        hint=f"An owner can make you a co-owner: /deadline owners {deadline.ref} "
        f"{views.mention(ctx.user_id)}",
    )


def people(ctx: Context, named: Sequence[Person]) -> list[str]:
    """The user ids of the people named, if the platform linked each one as a person."""
    if ctx.mentioned is None:
        return [person.id for person in named]  # plain names are people here (the shell)
    platform = ctx.platform.capitalize()
    for person in named:
        if not person.mention or person.id not in ctx.mentioned:
            shown = f"@{person.id}" if person.mention else person.typed
            raise InvalidInput(
                f'"{shown}" is not someone {platform} linked as a person: mention people '
                "with @ and pick them from the list. Nothing was done."
            )
    return [person.id for person in named]
