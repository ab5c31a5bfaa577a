"""The grammar of the negotiation commands: ``/party``, ``/offer`` and ``/deadline expect``.

Forms (see ``bot.help``)::

    party add <name> [<@rep> ...]       the name is the text before the first mention
    party remove <name> [<@rep> ...]    reps named: they are taken off; none: the party goes
    party list | party help | (nothing)
    deadline expect <ref> <party> ...|none     names one word each, or quoted
    offer <ref> <title> [<url>] [from <party>]  the URL is the last http(s) token
    offer list <ref> | offer help | (nothing)

``from <party>`` depends on which parties are declared, so the grammar leaves it
in ``RecordOffer.text`` for ``bot.usecases.offers`` to take off.

Party names are one of several words; quote a name that holds an ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import GrammarError
from bot.help import DEADLINE_FORMS, OFFER_FORMS, OFFER_HINT, PARTY_FORMS, PARTY_HINT, usage
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
# An http(s) link as Slack sends it (``<url>`` or ``<url|label>``), or bare.
_LINK_RE = re.compile(
    r"<(?P<wrapped>https?://[^|>\s]*)(?:\|(?P<label>[^>]*))?>|(?<!\S)(?P<bare>https?://\S+)",
    re.IGNORECASE,
)
# Links of any other scheme are refused rather than kept as title words.
_OTHER_SCHEME_RE = re.compile(
    r"(?<![\w/])<?(?!https?://)(?P<scheme>javascript|vbscript|data|file|[a-z][a-z0-9+.-]*(?=://)):",
    re.IGNORECASE,
)
_URL_UNSAFE = re.compile(r"[\s<>|\"'`\\^{}\x00-\x1f\x7f]")
URL_MAX = 2000


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


@dataclass(frozen=True, slots=True)
class RecordOffer:
    """``/offer <ref> ...``: ``text`` is the title, maybe ending ``from <party>``;
    ``label`` the text of a Slack ``<url|label>`` link."""

    ref: Ref
    text: str
    url: str | None
    label: str


@dataclass(frozen=True, slots=True)
class ListOffers:
    ref: Ref


@dataclass(frozen=True, slots=True)
class OfferHelp:
    pass


def parse_offer(text: str) -> RecordOffer | ListOffers | OfferHelp:
    word, rest = split_first(text)
    sub = word.lower()
    if sub in ("", "help"):
        return OfferHelp()
    said = quote(f"/offer {text}")
    if sub == "list":
        hint = usage(OFFER_FORMS["list"])
        if not rest:
            raise GrammarError("Which deadline's offers? Name it.", hint=hint)
        ref, after = take_ref(rest, said=said, hint=hint)
        if after:
            raise GrammarError(f'I understood "list" but not {quote(after)} after it.', hint=hint)
        return ListOffers(ref)
    hint = usage(OFFER_FORMS["record"])
    ref, after = take_ref(text, said=said, hint=hint)
    links = list(_LINK_RE.finditer(after))
    url: str | None = None
    label = ""
    if links:
        last = links[-1]
        url = last["wrapped"] or last["bare"]
        label = " ".join((last["label"] or "").split())
        after = after[: last.start()] + " " + after[last.end() :]
    other = _OTHER_SCHEME_RE.search(after)
    if other is not None:
        raise GrammarError(
            f"{said} has a {other['scheme'].lower()}: link; offers link only to http(s) pages.",
            hint=hint + "\n" + OFFER_HINT,
        )
    if url is not None:
        check_url(url, hint=hint)
    title = " ".join(after.split())
    if not title and not label:
        raise GrammarError(f"{said} gives the offer no title.", hint=hint)
    return RecordOffer(ref=ref, text=title, url=url, label=label)


def check_url(url: str, *, hint: str) -> None:
    """Refuse what is not a plain http(s) URL with a host and no credentials."""
    shown = quote(url)
    if len(url) > URL_MAX:
        raise GrammarError(f"The link is {len(url)} characters; the limit is {URL_MAX}.", hint=hint)
    if _URL_UNSAFE.search(url):
        raise GrammarError(f"The link {shown} holds characters a link cannot.", hint=hint)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise GrammarError(f"I could not read the link {shown}.", hint=hint) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise GrammarError(f"The link {shown} is not an http(s) link to a host.", hint=hint)
    if "@" in parts.netloc:
        raise GrammarError(
            "The link carries a user name or password; I will not post credentials. "
            "Nothing was recorded.",
            hint="Share the link without them, e.g. https://example.com/offer.pdf",
        )


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
    return ExpectParties(ref=ref, names=_names(after, said=said, hint=hint))


def parse_party_names(text: str) -> tuple[str, ...]:
    """``<party> ...|none`` of ``add``'s expect clause: () for none."""
    hint = usage(DEADLINE_FORMS["expect"])
    if not text:
        raise GrammarError("name the parties, or none for no party.", hint=hint)
    if text.lower() == "none":
        return ()
    return _names(text, said=quote(text), hint=hint)


def _names(after: str, *, said: str, hint: str) -> tuple[str, ...]:
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
    return tuple(names)
