"""Watching the core work without patching it: the ``CommandObserver`` hook.

``Parley`` tells its observer when a command starts and how it ended
(``Outcome``) and how long it took, naming the command by what it parsed to
(``command_name``: ``deadline add``, ``position record`` ...; a bounded set,
never the command's free text). Commands typed, button presses and failed
parses are observed alike:

- ``handle`` parses with ``parse_observed``, which reports a text that does
  not parse as ``deadline other`` (``position other``, ``other``);
- ``execute`` reports every parsed command (``observing``);
- ``press`` reports a stance button as ``position record`` and the "Add terms"
  button as ``position form`` (``observing_press``).

``CommandObservers`` fans one hook out to several observers (a composition
root adds metrics to it); ``CommandLog`` logs one line per command and puts
the workspace, command and outcome into the request's log fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Iterator
from typing import Protocol

from bot import views
from bot.domain import Context
from bot.errors import StorageUnavailable, UserError
from bot.grammar import (
    AddDeadline,
    AskPositions,
    BriefRequest,
    CancelDeadline,
    Command,
    CompleteDeadline,
    ExtendDeadline,
    FeedRequest,
    Help,
    ListDeadlines,
    ListPositions,
    OpenPositionForm,
    RecordPosition,
    SealDeadline,
    SetOwners,
    SetReminders,
    SetSilence,
    ShowDeadline,
    VerifyPositions,
    parse_command,
)
from bot.grammar_escalation import NudgeSilent, SetEscalation
from bot.grammar_negotiation import (
    ChangeParty,
    ExpectParties,
    ListOffers,
    ListParties,
    OfferHelp,
    PartyHelp,
    RecordOffer,
)
from bot.logs import current_fields

log = logging.getLogger("parley.command")

COMMAND_WORDS = frozenset({"deadline", "position", "party", "offer", "negotiation"})

_NAMES: dict[type[Command], str] = {
    AddDeadline: "deadline add",
    ListDeadlines: "deadline list",
    ShowDeadline: "deadline show",
    ExtendDeadline: "deadline extend",
    CompleteDeadline: "deadline done",
    CancelDeadline: "deadline cancel",
    SetReminders: "deadline remind",
    SetOwners: "deadline owners",
    FeedRequest: "deadline feed",
    BriefRequest: "deadline brief",
    RecordPosition: "position record",
    OpenPositionForm: "position form",
    ListPositions: "position list",
    AskPositions: "position ask",
    ExpectParties: "deadline expect",
    SetEscalation: "deadline escalate",
    NudgeSilent: "position nudge",
    ChangeParty: "party change",
    ListParties: "party list",
    PartyHelp: "party help",
    RecordOffer: "offer record",
    ListOffers: "offer list",
    OfferHelp: "offer help",
    SealDeadline: "deadline seal",
    SetSilence: "deadline silence",
    VerifyPositions: "position verify",
}
_PRESSES = {
    views.ACTION_STANCE: _NAMES[RecordPosition],
    views.ACTION_OPEN_FORM: _NAMES[OpenPositionForm],
}


class Outcome(enum.StrEnum):
    OK = "ok"
    USER_ERROR = "user_error"  # the reply says what was wrong with the input
    DATABASE_UNAVAILABLE = "database_unavailable"
    ERROR = "error"  # a bug: the exception escaped the core
    CANCELLED = "cancelled"  # the caller went away


class CommandObserver(Protocol):
    """Told about every command the core runs. Must not raise, and must be quick:
    it runs inside the command, before its reply leaves."""

    def command_started(self, *, ctx: Context, name: str) -> None: ...

    def command_finished(
        self, *, ctx: Context, name: str, outcome: Outcome, seconds: float
    ) -> None: ...


def command_name(command: Command) -> str:
    """The command's bounded name: its word and verb (``deadline add``)."""
    if isinstance(command, Help):
        return f"{command.topic} help"
    return _NAMES.get(type(command), "other")


def unparsed_name(word: str) -> str:
    """The name of a command whose text did not parse: only its word is known."""
    word = word.strip().lstrip("/").lower()
    return f"{word} other" if word in COMMAND_WORDS else "other"


def pressed_name(action_id: str) -> str:
    """The name of the command a button stands for."""
    return _PRESSES.get(action_id, "position other")


def parse_observed(observer: CommandObserver, *, ctx: Context, command: str, text: str) -> Command:
    """``parse_command``, reporting a text that does not parse to ``observer``."""
    try:
        return parse_command(command, text)
    except Exception:
        with observing(observer, ctx=ctx, name=unparsed_name(command)):
            raise


@contextlib.contextmanager
def observing(
    observer: CommandObserver,
    *,
    ctx: Context,
    name: str,
    user_errors: tuple[type[Exception], ...] = (UserError,),
) -> Iterator[None]:
    """Report the command run inside the block: its start, then its outcome (read from
    the exception leaving the block, which is re-raised) and its duration."""
    observer.command_started(ctx=ctx, name=name)
    started = time.perf_counter()
    outcome = Outcome.ERROR
    try:
        yield
        outcome = Outcome.OK
    except user_errors:
        outcome = Outcome.USER_ERROR
        raise
    except StorageUnavailable:
        outcome = Outcome.DATABASE_UNAVAILABLE
        raise
    except asyncio.CancelledError:
        outcome = Outcome.CANCELLED
        raise
    finally:
        elapsed = time.perf_counter() - started
        observer.command_finished(ctx=ctx, name=name, outcome=outcome, seconds=elapsed)


class CommandObservers:
    """One observer standing for any number of others, added and removed at run time."""

    def __init__(self, *observers: CommandObserver) -> None:
        self._observers = list(observers)

    def add(self, observer: CommandObserver) -> None:
        self._observers.append(observer)

    def remove(self, observer: CommandObserver) -> None:
        with contextlib.suppress(ValueError):
            self._observers.remove(observer)

    def command_started(self, *, ctx: Context, name: str) -> None:
        for observer in list(self._observers):
            try:
                observer.command_started(ctx=ctx, name=name)
            except Exception:
                # Watching a command must never break it: the user still gets a reply.
                log.exception("a command observer failed")

    def command_finished(
        self, *, ctx: Context, name: str, outcome: Outcome, seconds: float
    ) -> None:
        for observer in list(self._observers):
            try:
                observer.command_finished(ctx=ctx, name=name, outcome=outcome, seconds=seconds)
            except Exception:
                log.exception("a command observer failed")  # as above: the reply goes on


class CommandLog:
    """One log line per command, and the command in the request's log fields (so the
    access log line names it too)."""

    def command_started(self, *, ctx: Context, name: str) -> None:
        fields = current_fields()
        if fields is not None:
            fields.workspace, fields.command = ctx.workspace_id, name

    def command_finished(
        self, *, ctx: Context, name: str, outcome: Outcome, seconds: float
    ) -> None:
        fields = current_fields()
        if fields is not None:
            fields.workspace, fields.command, fields.outcome = ctx.workspace_id, name, outcome
        log.info(
            "/%s: %s in %.1f ms", name, outcome, seconds * 1000,
            extra={"workspace": ctx.workspace_id, "command": name, "outcome": str(outcome)},
        )  # fmt: skip


def observing_press(
    observer: CommandObserver, *, ctx: Context, action_id: str
) -> contextlib.AbstractContextManager[None]:
    """``observing`` for a button press; a stale button's value (``ValueError``) is
    the user's mistake, as the press's reply says."""
    return observing(
        observer, ctx=ctx, name=pressed_name(action_id), user_errors=(UserError, ValueError)
    )
