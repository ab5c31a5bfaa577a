"""The grammar of the negotiation commands: ``/party`` and ``/deadline expect``.

Forms (see ``bot.help``)::

    party add <name> [<@rep> ...]       the name is the text before the first mention
    party remove <name> [<@rep> ...]    reps named: they are taken off; none: the party goes
    party list | party help | (nothing)
    deadline expect <ref> <party> ...|none     names one word each, or quoted

Party names are one of several words; quote a name that holds an ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import GrammarError
from bot.help import DEADLINE_FORMS, PARTY_FORMS, PARTY_HINT, usage
from bot.people import Person, parse_people
from bot.words import (
    Ref,
    quote,
    split_first,
    starts_quoted,
    take_quoted_text,
    take_ref,
    unknown,
)

_FIRST_PERSON_RE = re.compile(r"<@|(?<!\S)@")


@dataclass(frozen=True, slots=True)
class ChangeParty:
    """``/party add`` (``remove`` False) or ``/party remove``."""

    name: str
    reps: tuple[Person, ...]
    remove: bool


@dataclass(frozen=True, slots=True)
class ListParties:
    pass


@dataclass(frozen=True, slots=True)
class PartyHelp:
    pass


@dataclass(frozen=True, slots=True)
class ExpectParties:
    """``/deadline expect``: ``names`` None is ``none`` (no party)."""

    ref: Ref
    names: tuple[str, ...] | None


PartyCommand = ChangeParty | ListParties | PartyHelp


def parse_party(text: str) -> PartyCommand:
    word, rest = split_first(text)
    sub = word.lower()
    if sub in ("", "help"):
        return PartyHelp()
    form = PARTY_FORMS.get(sub)
    if form is None:
        raise unknown(f"/party {word}", sub, PARTY_FORMS, PARTY_HINT)
    hint = usage(form)
    said = quote(f"{sub} {rest}".strip())
    if sub == "list":
        if rest:
            raise GrammarError(f'I understood "list" but not {quote(rest)} after it.', hint=hint)
        return ListParties()
    if starts_quoted(rest):
        name, after = take_quoted_text(rest, said=said, hint=hint)
    else:
        first = _FIRST_PERSON_RE.search(rest)
        cut = first.start() if first is not None else len(rest)
        name, after = rest[:cut], rest[cut:]
    name = " ".join(name.split())
    if not name:
        raise GrammarError(f"{said} names no party.", hint=hint)
    reps = parse_people(after, said=said, hint=hint)
    return ChangeParty(name=name, reps=reps, remove=sub == "remove")


def parse_expect(rest: str, *, said: str) -> ExpectParties:
    hint = usage(DEADLINE_FORMS["expect"])
    if not rest:
        raise GrammarError("Which deadline, and which parties?", hint=hint)
    ref, after = take_ref(rest, said=said, hint=hint)
    if not after:
        raise GrammarError(
            f"{said} names no party: name the parties, or none for no party.", hint=hint
        )
    if after.lower() == "none":
        return ExpectParties(ref=ref, names=None)
    names: list[str] = []
    while after:
        if starts_quoted(after):
            name, after = take_quoted_text(after, said=said, hint=hint)
        else:
            name, after = split_first(after)
            name = name.rstrip(",")
        name = " ".join(name.split())
        if name and name.casefold() not in (n.casefold() for n in names):
            names.append(name)
    if not names:
        raise GrammarError(f"{said} names no party.", hint=hint)
    return ExpectParties(ref=ref, names=tuple(names))
