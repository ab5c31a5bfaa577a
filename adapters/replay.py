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
claimed in its ``replay_key`` table with one ``INSERT … ON CONFLICT`` statement:
whichever replica inserts the key runs the request. A database that cannot be
reached lets the request through: the command needs the database too, and
says so itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from datetime import datetime, timedelta

from bot.errors import StorageUnavailable
from bot.ports import Clock, ReplayStore

log = logging.getLogger("parley.replay")

WINDOW = timedelta(minutes=5)
MEMORY_MAX = 100_000
PRUNE_EVERY = timedelta(minutes=1)


class ReplayGuard:
    """Says whether a request is new (``first_time``) or a replay."""

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
        key = hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest()
        now = self.clock.now()
        while self._seen:
            oldest, expires_at = next(iter(self._seen.items()))
            if expires_at > now:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        expires_at = now + self.window
        # Taken before the database is asked, so a copy arriving meanwhile waits for nothing.
        self._seen[key] = expires_at
        while len(self._seen) > self.memory_max:
            self._seen.popitem(last=False)
        if self.shared is None:
            return True
        try:
            claimed = await self.shared.claim_replay_key(key=key, now=now, expires_at=expires_at)
            await self._prune(now)
        except StorageUnavailable:
            log.warning("replay keys unavailable: the request runs unchecked across replicas")
            return True
        return claimed

    async def _prune(self, now: datetime) -> None:
        if self.shared is None or (
            self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY
        ):
            return
        self._pruned_at = now
        await self.shared.prune_replay_keys(now=now)
