"""The chat grammar: the text after ``/deadline`` or ``/position`` -> a ``Command``, and help text.

One grammar serves every adapter: Slack sends the slash command and its text,
Teams and the shell send a line that starts with the command word
(``parse_line``). Parsing is pure and never raises anything but
``GrammarError``, whose message says what was understood and what is wrong,
and whose ``hint`` is the usage line of the command the user was after.
Control and bidi-override characters are taken out of the text first
(``bot.sanitize``).

What the words mean (times, stances, deadline numbers) is checked here only as
far as the shape goes: ``when`` stays text for ``bot.when`` to read in the
user's zone, references are resolved by the service, lengths are limited by
the service.

Forms (see ``bot.help``)::

    deadline add <title> due <when> [remind <offsets>] [sealed] [silence <rule>]
        [expect <parties>|none]       the LAST " due " ends the title; the clauses are taken
                                      off from the right, whole words, in any order, once each
    deadline list [all]
    deadline show|seal|cancel <ref>                       <ref> may be several words here
    deadline done <ref> [because <reason>]
    deadline silence <ref> support|oppose|none|extend <offset>
    deadline escalate <ref> [<ladder>|off]            read by bot.grammar_escalation, with nudge
    deadline extend|move <ref> to <when> [because <reason>]   "to" may be left out after D<n>
    deadline remind <ref> <offsets>
    deadline owners <ref> [add|remove] [<@user> ...]     no one named: the owners are listed
    deadline feed [mine|revoke]
    deadline brief [<ref>|revoke]                         "revoke" alone revokes; quote a title
    position <ref> <stance> [as <party>] [<terms>|terms none]   no terms: the current ones stay
    position <ref>
    position list|verify|nudge <ref>
    position ask <ref> <@user> [<@user> ...]
    deadline help | position help | (nothing)

A ``<ref>`` is ``D3``, ``d3`` or ``3`` (a deadline number), or else the start
of a title; quote it (``"Signed usage"``, curly quotes too) where more words
follow it, or to make ``"2027"`` a title rather than a number.

People are read by ``bot.people``; reminder offsets and silence rules by ``bot.grammar_offsets``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, TypeAlias, TypeVar

from bot.domain import STANCE_ALIASES, SilenceRule, Stance, format_offset
from bot.errors import GrammarError
from bot.grammar_escalation import NudgeSilent, SetEscalation, parse_escalate, parse_nudge
from bot.grammar_negotiation import (
    ExpectParties,
    ListOffers,
    OfferHelp,
    PartyCommand,
    RecordOffer,
    parse_expect,
    parse_offer,
    parse_party,
    parse_party_names,
)
from bot.grammar_offsets import MAX_OFFSETS, SILENCE_RULES_TEXT, parse_silence_rule
from bot.grammar_offsets import parse_offsets as parse_offsets
from bot.help import (
    DEADLINE_FORMS,
    DEADLINE_HINT,
    POSITION_FORMS,
    stances_text,
    usage,
)
from bot.people import Person, parse_people
from bot.sanitize import strip_controls
from bot.words import (
    Ref,
    quote,
    read_ref,
    split_first,
    starts_quoted,
    take_quoted,
    take_quoted_text,
    take_ref,
    unknown,
    unquote,
    whole_ref,
)

_T = TypeVar("_T")
COMMAND_WORDS = ("deadline", "position", "party", "offer", "negotiation")

# --- commands ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddDeadline:
    title: str
    when: str
    offsets: tuple[timedelta, ...] | None  # None: the default reminders
    sealed: bool = False
    silence: SilenceRule | None = None  # None: no rule given (none)
    expect: tuple[str, ...] | None = None  # party names; None: the default; (): none


@dataclass(frozen=True, slots=True)
class ListDeadlines:
    include_closed: bool


@dataclass(frozen=True, slots=True)
class ShowDeadline:
    ref: Ref


@dataclass(frozen=True, slots=True)
class ExtendDeadline:
    ref: Ref
    when: str
    reason: str  # "" when no reason was given


@dataclass(frozen=True, slots=True)
class MoveDeadline:
    """Like ``ExtendDeadline``, but the new time may be earlier."""

    ref: Ref
    when: str
    reason: str  # "" when no reason was given


@dataclass(frozen=True, slots=True)
class CompleteDeadline:
    ref: Ref
    reason: str = ""  # the outcome, "" when none was given


@dataclass(frozen=True, slots=True)
class SealDeadline:
    ref: Ref


@dataclass(frozen=True, slots=True)
class SetSilence:
    ref: Ref
    rule: SilenceRule


@dataclass(frozen=True, slots=True)
class VerifyPositions:
    ref: Ref


@dataclass(frozen=True, slots=True)
class CancelDeadline:
    ref: Ref


@dataclass(frozen=True, slots=True)
class SetReminders:
    ref: Ref
    offsets: tuple[timedelta, ...]


@dataclass(frozen=True, slots=True)
class SetOwners:
    """Add (or ``remove``) co-owners; with nobody named, list the owners."""

    ref: Ref
    people: tuple[Person, ...]
    remove: bool


@dataclass(frozen=True, slots=True)
class FeedRequest:
    scope: Literal["channel", "mine", "revoke", "mine-revoke"]


@dataclass(frozen=True, slots=True)
class BriefRequest:
    """A private brief page URL: the channel's negotiation, or the deadline ``ref`` names;
    ``revoke`` revokes the channel's brief URLs first."""

    ref: Ref | None = None
    revoke: bool = False


@dataclass(frozen=True, slots=True)
class Help:
    topic: Literal["deadline", "position"]


@dataclass(frozen=True, slots=True)
class RecordPosition:
    ref: Ref
    stance: Stance
    party: str | None  # None: the typing user's own position
    terms: str | None  # None: keep the current terms; "" (typed "terms none"): clear them


@dataclass(frozen=True, slots=True)
class OpenPositionForm:
    ref: Ref


@dataclass(frozen=True, slots=True)
class ListPositions:
    ref: Ref


@dataclass(frozen=True, slots=True)
class AskPositions:
    ref: Ref
    people: tuple[Person, ...]


# The commands about one deadline: each names it by a ``ref``.
DeadlineCommand: TypeAlias = (
    ShowDeadline
    | ExtendDeadline
    | MoveDeadline
    | CompleteDeadline
    | CancelDeadline
    | SetReminders
    | SetOwners
    | RecordPosition
    | OpenPositionForm
    | ListPositions
    | AskPositions
    | ExpectParties
    | SetEscalation
    | NudgeSilent
    | RecordOffer
    | ListOffers
    | SealDeadline
    | SetSilence
    | VerifyPositions
)
Command: TypeAlias = (
    AddDeadline
    | ListDeadlines
    | FeedRequest
    | BriefRequest
    | Help
    | PartyCommand
    | OfferHelp
    | DeadlineCommand
)

# --- entry points -----------------------------------------------------------


def parse_command(command: str, text: str) -> Command:
    """Parse the text of ``/deadline`` or ``/position`` (``command``: leading "/" optional)."""
    command, text = strip_controls(command), strip_controls(text)
    name = command.strip().lstrip("/").lower()
    if name == "deadline":
        return _parse_deadline(text)
    if name == "position":
        return _parse_position(text)
    if name == "party":
        return parse_party(text)
    if name == "offer":
        return parse_offer(text)
    raise GrammarError(
        f"I only know /deadline, /position, /party and /offer, not "
        f"{quote('/' + command.strip().lstrip('/'))}.",
        hint=DEADLINE_HINT,
    )


def parse_line(line: str) -> Command:
    """Parse a whole line, ``/deadline add ...``, ``deadline add ...`` or ``position ...``."""
    word, rest = split_first(strip_controls(line))
    if word.lstrip("/").lower() in COMMAND_WORDS:
        return parse_command(word, rest)
    raise GrammarError(
        f"Commands start with /deadline or /position; I got {quote(line)}.",
        hint=DEADLINE_HINT,
    )


def command_text(command: AddDeadline | ExtendDeadline | MoveDeadline) -> str:
    """The text after ``/deadline`` that parses back to ``command`` (a time choice's command)."""
    match command:
        case AddDeadline(title=title, when=when, offsets=offsets):
            remind = "" if offsets is None else " remind " + ",".join(map(format_offset, offsets))
            sealed = " sealed" if command.sealed else ""
            silence = f" silence {command.silence.text}" if command.silence is not None else ""
            expect = ""
            if command.expect is not None:
                names = " ".join(f'"{name}"' for name in command.expect)
                expect = f" expect {names or 'none'}"
            return f"add {title} due {when}{remind}{sealed}{silence}{expect}"
        case ExtendDeadline(ref=ref, when=when, reason=reason):
            verb = "extend"
        case MoveDeadline(ref=ref, when=when, reason=reason):
            verb = "move"
    because = f" because {reason}" if reason else ""
    return f"{verb} {_ref_text(ref)} to {when}{because}"


def _ref_text(ref: Ref) -> str:
    if ref.number is not None:
        return f"D{ref.number}"
    return f'"{ref.prefix}"'


# --- /deadline --------------------------------------------------------------

_DUE_RE = re.compile(r"(?<!\S)due(?!\S)", re.IGNORECASE)
_REMIND_RE = re.compile(r"(?<!\S)remind(?!\S)", re.IGNORECASE)
_TO_RE = re.compile(r"(?<!\S)to(?!\S)", re.IGNORECASE)
_BECAUSE_RE = re.compile(r"(?<!\S)because(?!\S)", re.IGNORECASE)


def _parse_deadline(text: str) -> Command:
    word, rest = split_first(text)
    sub = word.lower()
    if sub in ("", "help"):
        return Help("deadline")
    form = DEADLINE_FORMS.get(sub)
    if form is None:
        raise unknown(f"/deadline {word}", sub, DEADLINE_FORMS, DEADLINE_HINT)
    hint = usage(form)
    said = quote(f"{sub} {rest}".strip())
    if sub == "add":
        return _parse_add(rest, said=said, hint=hint)
    if sub == "list":
        if not rest:
            return ListDeadlines(include_closed=False)
        if rest.lower() == "all":
            return ListDeadlines(include_closed=True)
        raise GrammarError(f'I understood "list" but not {quote(rest)} after it.', hint=hint)
    if sub == "feed":
        scope = rest.lower()
        if scope == "":
            return FeedRequest("channel")
        if scope == "mine":
            return FeedRequest("mine")
        if scope == "revoke":
            return FeedRequest("revoke")
        if " ".join(scope.split()) in ("mine revoke", "revoke mine"):
            return FeedRequest("mine-revoke")
        raise GrammarError(
            f'I understood "feed" but not {quote(rest)} after it: use mine, revoke or mine revoke.',
            hint=hint,
        )
    if sub == "brief":
        if not rest:
            return BriefRequest()
        if rest.lower() == "revoke":
            return BriefRequest(revoke=True)
        return BriefRequest(ref=whole_ref(rest, said=said, hint=hint))
    if sub in ("extend", "move"):
        ref, when, reason = _parse_reschedule(rest, said=said, hint=hint)
        if sub == "move":
            return MoveDeadline(ref=ref, when=when, reason=reason)
        return ExtendDeadline(ref=ref, when=when, reason=reason)
    if sub == "remind":
        return _parse_remind(rest, said=said, hint=hint)
    if sub == "owners":
        return _parse_owners(rest, said=said, hint=hint)
    if sub == "expect":
        return parse_expect(rest, said=said)
    if sub == "escalate":
        return parse_escalate(rest, said=said)
    if sub == "silence":
        return _parse_silence(rest, said=said, hint=hint)
    if sub == "done":
        because = _BECAUSE_RE.search(rest)
        reason = ""
        if because is not None:
            rest, reason = rest[: because.start()].strip(), rest[because.end() :].strip()
            if not reason:
                raise GrammarError(f'{said} has "because" but no reason after it.', hint=hint)
        return CompleteDeadline(whole_ref(rest, said=said, hint=hint), reason=reason)
    ref = whole_ref(rest, said=said, hint=hint)
    if sub == "show":
        return ShowDeadline(ref)
    if sub == "seal":
        return SealDeadline(ref)
    return CancelDeadline(ref)


def _parse_add(rest: str, *, said: str, hint: str) -> AddDeadline:
    dues = list(_DUE_RE.finditer(rest))
    if not dues:
        raise GrammarError(f'I couldn\'t find "due" in {said}.', hint=hint)
    due = dues[-1]
    title = unquote(" ".join(rest[: due.start()].split()))
    if not title:
        raise GrammarError(f'{said} has no title before "due".', hint=hint)
    tokens = rest[due.end() :].split()
    clauses: dict[str, list[str]] = {}
    while tokens:
        # The rightmost clause: a final "sealed", else the last clause word and what follows it.
        if tokens[-1].lower() == "sealed":
            start = len(tokens) - 1
        else:
            found = [i for i, token in enumerate(tokens) if token.lower() in _CLAUSE_WORDS]
            if not found:
                break
            start = found[-1]
        word = tokens[start].lower()
        if word in clauses:
            raise GrammarError(f'{said} has the "{word}" clause twice.', hint=hint)
        clauses[word] = tokens[start + 1 :]
        tokens = tokens[:start]
    when = " ".join(tokens)
    if not when:
        raise GrammarError(f'{said} has no time after "due".', hint=hint)
    offsets: tuple[timedelta, ...] | None = None
    if "remind" in clauses:
        offsets = _clause(parse_offsets, "remind", clauses["remind"], hint)
    silence = None
    if "silence" in clauses:
        silence = _clause(parse_silence_rule, "silence", clauses["silence"], hint)
    expect: tuple[str, ...] | None = None
    if "expect" in clauses:
        expect = _clause(parse_party_names, "expect", clauses["expect"], hint)
    return AddDeadline(
        title=title,
        when=when,
        offsets=offsets,
        sealed="sealed" in clauses,
        silence=silence,
        expect=expect,
    )


_CLAUSE_WORDS = ("remind", "silence", "expect")


def _clause(read: Callable[[str], _T], word: str, words: list[str], hint: str) -> _T:
    """One clause of ``add`` read by ``read``; an error that names the clause otherwise."""
    text = " ".join(words)
    try:
        return read(text)
    except GrammarError as error:
        raise GrammarError(
            f"I couldn't read the {word} clause {quote(f'{word} {text}'.strip())}: {error.message}",
            hint=hint,
        ) from None


def _parse_silence(rest: str, *, said: str, hint: str) -> SetSilence:
    """``<ref> <rule>``: the rule is the last word, or the last two after ``extend``."""
    tokens = rest.split()
    for size in (1, 2):
        if len(tokens) > size:
            try:
                rule = parse_silence_rule(" ".join(tokens[-size:]))
            except GrammarError:
                continue
            return SetSilence(read_ref(" ".join(tokens[:-size]), said=said, hint=hint), rule)
    if not tokens:
        raise GrammarError("Which deadline, and which silence rule?", hint=hint)
    raise GrammarError(
        f"I couldn't find a silence rule at the end of {said}: use {SILENCE_RULES_TEXT}.",
        hint=hint,
    )


def _parse_reschedule(rest: str, *, said: str, hint: str) -> tuple[Ref, str, str]:
    """``<ref> [to] <when> [because <reason>]`` of ``extend`` and ``move``."""
    if not rest:
        raise GrammarError("Which deadline, and to when?", hint=hint)
    if starts_quoted(rest):
        ref, after = take_quoted(rest, said=said, hint=hint)
        after = _TO_RE.sub("", after, count=1) if _TO_RE.match(after) else after
    else:
        to = _TO_RE.search(rest)
        if to is not None and to.start() > 0:
            ref, after = read_ref(rest[: to.start()], said=said, hint=hint), rest[to.end() :]
        elif to is not None:
            raise GrammarError(f'{said} names no deadline before "to".', hint=hint)
        else:  # "extend D1 Monday 09:00": "to" left out, so the reference is one word
            token, after = split_first(rest)
            ref = read_ref(token, said=said, hint=hint)
    after = after.strip()
    because = _BECAUSE_RE.search(after)
    when, reason = after, ""
    if because is not None:
        when, reason = after[: because.start()].strip(), after[because.end() :].strip()
    if not when:
        raise GrammarError(f"I couldn't find the new time in {said}.", hint=hint)
    if because is not None and not reason:
        raise GrammarError(f'{said} has "because" but no reason after it.', hint=hint)
    return ref, when, reason


def _parse_remind(rest: str, *, said: str, hint: str) -> SetReminders:
    if not rest:
        raise GrammarError("Which deadline, and which reminders?", hint=hint)
    if starts_quoted(rest):
        ref, after = take_quoted(rest, said=said, hint=hint)
        return SetReminders(ref=ref, offsets=parse_offsets(after))
    tokens = rest.split()
    if len(tokens) == 1:
        raise GrammarError(f"{said} names no reminder offsets.", hint=hint)
    # The reference may be several words; the offsets are the longest tail that reads as
    # offsets. Offsets are short, so only the last few tails are worth trying.
    for start in range(max(1, len(tokens) - 2 * MAX_OFFSETS), len(tokens)):
        try:
            offsets = parse_offsets(" ".join(tokens[start:]))
        except GrammarError:
            continue
        ref = read_ref(" ".join(tokens[:start]), said=said, hint=hint)
        return SetReminders(ref=ref, offsets=offsets)
    parse_offsets(" ".join(tokens[1:]))  # raises, naming what is wrong with the offsets
    raise GrammarError(f"I couldn't find reminder offsets in {said}.", hint=hint)


def _parse_owners(rest: str, *, said: str, hint: str) -> SetOwners:
    if not rest:
        raise GrammarError("Which deadline's owners?", hint=hint)
    ref, after = take_ref(rest, said=said, hint=hint)
    word, people_text = split_first(after)
    remove = word.lower() == "remove"
    if word.lower() not in ("add", "remove"):
        people_text = after
    people = parse_people(people_text, said=said, hint=hint)
    if remove and not people:
        raise GrammarError(f'{said} has "remove" but names nobody to remove.', hint=hint)
    return SetOwners(ref=ref, people=people, remove=remove)


# --- /position --------------------------------------------------------------

_AS_RE = re.compile(r"as(?!\S)", re.IGNORECASE)
_TERMS_NONE_RE = re.compile(r"terms\s+none", re.IGNORECASE)


def _parse_position(text: str) -> Command:
    text = text.strip()
    word, rest = ("", text) if starts_quoted(text) else split_first(text)
    sub = word.lower()
    if not text or sub == "help":
        return Help("position")
    if sub == "list":
        form = POSITION_FORMS["list"]
        return ListPositions(whole_ref(rest, said=quote(text), hint=usage(form)))
    if sub == "ask":
        return _parse_ask(rest, said=quote(text), hint=usage(POSITION_FORMS["ask"]))
    if sub == "nudge":
        return parse_nudge(rest, said=quote(text))
    if sub == "verify":
        form = POSITION_FORMS["verify"]
        return VerifyPositions(whole_ref(rest, said=quote(text), hint=usage(form)))
    return _parse_record(text)


def _parse_record(text: str) -> RecordPosition | OpenPositionForm:
    hint = usage(POSITION_FORMS["record"])
    said = quote(text)
    ref, rest = take_ref(text, said=said, hint=hint)
    if not rest:
        return OpenPositionForm(ref)
    word, rest = split_first(rest)
    stance = STANCE_ALIASES.get(word.rstrip(".,:;!").lower())
    if stance is None:
        quoting = (
            f' A title of several words needs quotes: /position "{ref.prefix} {word}" ...'
            if ref.prefix
            else ""
        )
        raise GrammarError(
            f"I read {quote(ref.prefix or f'D{ref.number}')} as the deadline, but "
            f"{quote(word)} is not a stance. Stances: {stances_text()}.{quoting}",
            hint=hint,
        )
    party: str | None = None
    if _AS_RE.match(rest):
        after = rest[2:].strip()
        if not after:
            raise GrammarError(f'{said} has "as" but no party after it.', hint=hint)
        if starts_quoted(after):
            party, rest = take_quoted_text(after, said=said, hint=hint)
        else:
            token, rest = split_first(after)
            party = token.rstrip(",;:")
        party = " ".join(party.split())
        if not party:
            raise GrammarError(f'{said} has "as" but an empty party name.', hint=hint)
    terms: str | None = rest.strip() or None
    if terms is not None and _TERMS_NONE_RE.fullmatch(terms):
        terms = ""
    return RecordPosition(ref=ref, stance=stance, party=party, terms=terms)


def _parse_ask(rest: str, *, said: str, hint: str) -> AskPositions:
    if not rest:
        raise GrammarError("Whose positions, on which deadline?", hint=hint)
    ref, after = take_ref(rest, said=said, hint=hint)
    people = parse_people(after, said=said, hint=hint)
    if not people:
        raise GrammarError(f"{said} names nobody to ask: mention them, e.g. @legal.", hint=hint)
    return AskPositions(ref=ref, people=people)
