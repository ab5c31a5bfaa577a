"""Replay protection: a request Slack or Teams signed runs once.

Slack accepts a signed request for 5 minutes after its timestamp, and a Bot
Framework token is good for about an hour: whoever captures one (a proxy's
log, a hop on the network) could send it again, and three replays of an
``add`` would make three deadlines. So every request that is about to run is
first given a key, as DESIGN.md's Replay rule says:

- a Slack slash command or interaction: its signature (one per timestamp and body);
- a Slack Events API callback: its ``event_id`` (Slack's own retries reuse it,
  with a new signature, and must not run the event twice either);
- a Slack Socket Mode envelope: its ``envelope_id`` (an event in one: its
  ``event_id`` as well, see ``adapters.slack.socket_mode``);
- a Teams activity: its tenant, conversation and activity id.

A key seen within ``WINDOW`` is answered "already handled" and not run again.
Keys are kept in memory (at most ``MEMORY_MAX``, oldest dropped first), and,
when several replicas share the database (``PARLEY_REPLICAS`` above 1), also
in its ``replay_key`` table, where whichever replica stores the key runs the
request. How a key reaches the database depends on what runs the request:

- A slash command, a button or a form, a Teams message or card action runs a
  command of the core: ``request_key`` gives the request a ``bot.once.Key``
  that the adapter hands to the core (``once.request``), and the command
  claims it *in its own write transaction* (DESIGN.md, "Replay"): no extra
  round trip, and a command that fails (a database blip, an unexpected
  error) leaves the key unclaimed and forgotten in memory too, so Slack's or
  the person's retry runs. Of two copies on two replicas at once, the second
  stops at its first write with nothing written ("already handled"); one that
  writes nothing claims the key as it ends, before its answer goes out. On
  one replica nothing is written: the key lives in memory, and is forgotten
  again when the command fails.
- Anything else (Events API callbacks, Teams installation updates) is
  claimed up front with one ``INSERT … ON CONFLICT`` (``first_time``). A
  database that cannot be reached lets such a request through: what it does
  needs the database too, and says so itself. An event whose handler failed
  (bolt answers 500) is given back (``give_back``), so Slack's retry runs.

A request key that no command claims (a link button that only needs its ack,
a Teams message that is not a command) stays in this replica's memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import OrderedDict
from datetime import datetime, timedelta

from bot import once
from bot.errors import StorageUnavailable
from bot.ports import Clock, ReplayStore

log = logging.getLogger("parley.replay")

WINDOW = timedelta(minutes=5)
MEMORY_MAX = 100_000
PRUNE_EVERY = timedelta(minutes=1)


class ReplayGuard:
    """Says whether a request is new or a replay: ``first_time`` claims it at once,
    ``request_key`` gives the key its command claims (see the module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock,
        shared: ReplayStore | None = None,
        window: timedelta = WINDOW,
        memory_max: int = MEMORY_MAX,
    ) -> None:
        self.clock = clock
        self.shared = shared
        self.window = window
        self.memory_max = memory_max
        self._seen: OrderedDict[str, datetime] = OrderedDict()  # key -> expiry, oldest first
        self._pruned_at: datetime | None = None

    async def first_time(self, kind: str, value: str) -> bool:
        """Record the request ``kind``/``value``; False when it was seen within the window."""
        key = self._remember(kind, value)
        if key is None:
            return False
        if self.shared is None:
            return True
        try:
            claimed = await self.shared.claim_replay_key(
                key=key.digest, now=key.now, expires_at=key.expires_at
            )
            await self._prune(key.now)
        except StorageUnavailable:
            log.warning("replay keys unavailable: the request runs unchecked across replicas")
            return True
        return claimed

    async def request_key(self, kind: str, value: str) -> once.Key | None:
        """The key of a request that runs a command (see the module docstring), for
        ``once.request``; None when the request was seen within the window."""
        key = self._remember(kind, value)
        if key is not None and self.shared is not None:
            # Left for the next request: the command itself needs the database, and says so.
            with contextlib.suppress(StorageUnavailable):
                await self._prune(key.now)
        return key

    async def give_back(self, kind: str, value: str) -> None:
        """A request ``first_time`` let through failed (a 5xx): forget it here and in
        the database, so that its retry (Slack retries an event with its ``event_id``)
        runs."""
        digest = _digest(kind, value)
        self._seen.pop(digest, None)
        if self.shared is None:
            return
        try:
            await self.shared.release_replay_key(key=digest)
        except StorageUnavailable:
            log.warning("a failed request's replay key could not be given back")

    def _remember(self, kind: str, value: str) -> once.Key | None:
        """Take the request's key in memory; None when it is there already."""
        digest = _digest(kind, value)
        now = self.clock.now()
        while self._seen:
            oldest, expires_at = next(iter(self._seen.items()))
            if expires_at > now:
                break
            del self._seen[oldest]
        if digest in self._seen:
            return None
        expires_at = now + self.window
        # Taken before the database is asked, so a copy arriving meanwhile waits for nothing.
        self._seen[digest] = expires_at
        while len(self._seen) > self.memory_max:
            self._seen.popitem(last=False)
        return once.Key(
            digest,
            now=now,
            expires_at=expires_at,
            refusal="",  # a copy handled elsewhere is answered with nothing
            shared=self.shared is not None,
            release=lambda: self._forget(digest, expires_at),
        )

    def _forget(self, digest: str, expires_at: datetime) -> None:
        """The command failed before it claimed the key: a retry may run."""
        if self._seen.get(digest) == expires_at:
            del self._seen[digest]

    async def _prune(self, now: datetime) -> None:
        if self.shared is None or (
            self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY
        ):
            return
        self._pruned_at = now
        await self.shared.prune_replay_keys(now=now)


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest()
