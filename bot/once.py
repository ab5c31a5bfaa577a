"""Idempotency keys: a request or a button runs its command at most once.

A ``Key`` names something that must not run twice: a signed request (a replay
of it, see ``adapters.replay``) or the prompt of a button that carries a
command (``bot.usecases.choices``). It is claimed *with the command's own
writes*:

- An adapter hands the request's key to the core with ``request(key)`` around
  the work that reaches the core (a ``ContextVar``: tasks started inside
  inherit it). The core's entry points open ``command(*extra)`` around one
  command: the request's key and the keys of the button pressed become the
  command's keys.
- The storage layer asks ``pending()`` at the start of every write transaction
  and claims each shared key there, in that transaction
  (``storage.connections``): of two copies of a command on two replicas, the
  one whose transaction inserts the key commits its writes, and the other's
  transaction stops with ``AlreadyHandled`` before writing anything. A write
  that fails (the database went away) takes its claim with it, so a retry can
  run.
- A command that wrote nothing (``list``, a refusal) claims its shared keys
  when it ends (``settle``), before its answer is delivered; a command that
  raised leaves them unclaimed and calls their ``release`` (the replay guard
  forgets the request in memory, so that Slack's retry runs).

A key that is not ``shared`` lives in one process's memory only (the replay
guard of a single replica): it is never written, and it is settled as soon
as the command ends without an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.errors import UserError


class AlreadyHandled(UserError):
    """A key was claimed by another copy of the command; nothing was written."""

    def __init__(self, key: Key) -> None:
        super().__init__(key.refusal)
        self.key = key


@dataclass(eq=False, slots=True)
class Key:
    """One idempotency key (a hex digest) and its state."""

    digest: str
    now: datetime  # when it was offered: an expired copy in the database is taken over
    expires_at: datetime
    refusal: str  # what the person is told when it was used already ("": nothing)
    shared: bool = True  # claimed in the database; False: this process's memory only
    claimed: bool = False
    release: Callable[[], None] = field(default=lambda: None)


_request: ContextVar[Key | None] = ContextVar("parley_request_key", default=None)
# The running command's task and keys: a task it starts (a loop callback, a writer
# that outlives it) inherits the variable, but its writes are not the command's.
_command: ContextVar[tuple[asyncio.Task[Any] | None, tuple[Key, ...]]] = ContextVar(
    "parley_command_keys", default=(None, ())
)


class request:  # lower case: used like a function, ``with once.request(key):``
    """The request being handled carries ``key`` (adapters). A class, not a generator:
    it is on every request's path."""

    __slots__ = ("_key", "_token")

    def __init__(self, key: Key | None) -> None:
        self._key = key
        self._token: Token[Key | None] | None = None

    def __enter__(self) -> None:
        self._token = _request.set(self._key)

    def __exit__(self, *exc_info: object) -> None:
        assert self._token is not None
        _request.reset(self._token)


def pending() -> tuple[Key, ...]:
    """The running command's shared keys not yet claimed (storage claims them)."""
    task, keys = _command.get()
    if not keys or task is not asyncio.current_task():
        return ()
    return tuple(key for key in keys if key.shared and not key.claimed)


Claim = Callable[[Key], Awaitable[bool]]
_T = TypeVar("_T")


async def run_once(
    work: Callable[[], Awaitable[_T]], *, claim: Claim, extra: tuple[Key, ...] = ()
) -> _T:
    """Run ``work`` (one command) with the request's key and ``extra`` as its keys.

    Keys its writes did not claim are claimed with ``claim`` once it returned; a
    key claimed elsewhere meanwhile raises ``AlreadyHandled``. When ``work``
    raises, the keys it did not claim are released and the error goes on.
    """
    first = _request.get()
    # The request's key belongs to its first command only (a form refused and shown
    # again is two calls of the core for one request).
    keys = (*extra, first) if first is not None and not first.claimed else extra
    if not keys:
        return await work()  # the shell: nothing to claim, nothing to pay
    try:
        token = _command.set((asyncio.current_task(), keys))
        try:
            result = await work()
        finally:
            _command.reset(token)  # before the claims below, which write themselves
        for key in keys:
            if key.claimed:
                continue
            if key.shared and not await claim(key):
                raise AlreadyHandled(key)
            key.claimed = True
    except BaseException:
        for key in keys:
            if not key.claimed:
                key.release()
        raise
    return result
