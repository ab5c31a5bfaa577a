"""Telling the asked (DESIGN.md): one direct message per person for the changes
to a deadline made within a minute, sent exactly once.

A change people must hear of (a deadline extended, moved, cancelled or done,
a new offer on it) is written to the notice outbox in the change's own transaction: the use case
asks ``notice_of`` for a ``PlannedNotice`` and hands it to the store with the
change. ``audience_for`` says who is told (the people asked on the deadline and the
reps of the parties it expects); whoever made the change is not. A
person's notice is due one minute after its first change, and every change to
the same deadline before then joins it (the store does that, see
``bot.ports.NoticeOutbox``), so an extension followed by a correction is one
message that lists both.

``NoticeSender`` drains the outbox, as the alert dispatcher drains alerts and
for as long as it runs (``bot.runtime.running_dispatcher``), woken by the same
wake-ups:

1. sleeps until the earliest pending notice is due (at most ``poll_seconds``,
   so notices written by another replica are seen);
2. claims due notices with a lease and commits (PostgreSQL ``FOR UPDATE SKIP
   LOCKED``, SQLite ``BEGIN IMMEDIATE``), so replicas share the work and a
   crashed one's claims are taken again once its leases run out;
3. renders each from the deadline as it is at sending time (its due time and
   the time left now, never the time left when the change was made), sends it
   as a direct message through the deadline's platform, and marks it sent at
   once. A notice is sent twice only if its process dies (or stalls past the
   lease) between the send and the mark.

Rate limits are waited out, transient failures retried with backoff for a
bounded number of attempts; a permanent failure (the person left, the bot was
removed) marks the notice failed. ``stop()`` lets the send in progress finish
and gives back the claims not yet sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import views
from bot.domain import Change, Deadline, Notice, PlannedNotice, negotiation_key
from bot.errors import (
    DeliveryError,
    RateLimited,
    StorageUnavailable,
    TransientDelivery,
)
from bot.negotiation import expected_parties
from bot.ports import ChatGateway, Clock, DeadlineStore, NegotiationStore, NoticeOutbox

log = logging.getLogger("parley.notices")

# Changes made within this time of a person's first untold change share one message.
GATHER = timedelta(minutes=1)


async def audience_for(deadline: Deadline, *, store: NegotiationStore) -> list[str]:
    """Who hears of changes to ``deadline``: everyone asked for a position on it,
    answered or not, then the reps of the parties it expects (``/deadline expect``)."""
    ws = deadline.workspace_id
    requests = await store.list_position_requests(workspace_id=ws, deadline_id=deadline.id)
    parties = await store.list_parties(
        workspace_id=ws, negotiation=negotiation_key(ws, deadline.channel_id)
    )
    expected = await store.get_expected(workspace_id=ws, deadline_id=deadline.id)
    reps = [rep for party in expected_parties(deadline, parties, expected) for rep in party.reps]
    return [*(request.user_id for request in requests), *reps]


async def notice_of(
    deadline: Deadline, change: Change, *, store: NegotiationStore
) -> PlannedNotice | None:
    """The notice telling ``deadline``'s audience of ``change``, leaving out whoever made
    it; None when nobody is left to tell."""
    audience = await audience_for(deadline, store=store)
    told = tuple(user for user in dict.fromkeys(audience) if user != change.actor_id)
    if not told:
        return None
    return PlannedNotice(user_ids=told, change=change, due_at=change.at + GATHER)


@dataclass(frozen=True)
class NoticePolicy:
    lease_seconds: float = 120.0
    batch_size: int = 50
    poll_seconds: float = 30.0
    max_attempts: int = 8
    backoff_base: float = 2.0
    backoff_cap: float = 300.0


class NoticeSender:
    """Sends the due notices of the outbox, each once (see the module docstring)."""

    def __init__(
        self,
        *,
        outbox: NoticeOutbox,
        deadlines: DeadlineStore,
        gateways: Mapping[str, ChatGateway],
        clock: Clock,
        policy: NoticePolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.deadlines = deadlines
        self.gateways = gateways
        self.clock = clock
        self.policy = policy or NoticePolicy()
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._stopping = False
        self._renew_after = timedelta(seconds=self.policy.lease_seconds / 2)

    def wake(self) -> None:
        """Something changed: look at the outbox again now."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the send in progress, give back the other claims, return from ``run``."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send notices until ``stop()`` (or cancelled)."""
        while not self._stopping:
            # Cleared before looking, so a wake-up that comes while we look is not lost.
            self._wake.clear()
            try:
                if await self.run_once() == self.policy.batch_size:
                    continue  # more may be due
                delay = await self._seconds_until_next()
            except StorageUnavailable:
                # Nothing is lost: claims not marked sent expire and are taken again.
                delay = min(5.0, self.policy.poll_seconds)
            except Exception:
                # A bug or an unknown schema: say so, and keep telling people later.
                log.exception("notice sending failed; trying again later")
                delay = self.policy.poll_seconds
            await self._sleep_or_wake(delay)

    async def run_once(self) -> int:
        """Claim the notices due now and send them; how many were claimed."""
        claimed = await self.outbox.claim_due_notices(
            now=self.clock.now(),
            lease_seconds=self.policy.lease_seconds,
            limit=self.policy.batch_size,
        )
        held_since = self.clock.now()
        unsent = list(claimed)
        try:
            deadlines = await self._deadlines_of(claimed)
            while unsent and not self._stopping:
                if self.clock.now() - held_since >= self._renew_after:
                    # A long batch: a notice whose lease ran out may be another replica's now.
                    held = set(
                        await self.outbox.renew_notice_leases(
                            notice_ids=[notice.id for notice in unsent],
                            lease_seconds=self.policy.lease_seconds,
                            now=self.clock.now(),
                        )
                    )
                    unsent = [notice for notice in unsent if notice.id in held]
                    held_since = self.clock.now()
                    continue
                notice = unsent.pop(0)  # from here the platform may have it: no giving back
                await self._send(notice, deadlines.get(notice.deadline_id))
        finally:
            await self._give_back(unsent)
        return len(claimed)

    async def _deadlines_of(self, notices: Sequence[Notice]) -> dict[int, Deadline]:
        by_workspace: dict[str, set[int]] = {}
        for notice in notices:
            by_workspace.setdefault(notice.workspace_id, set()).add(notice.deadline_id)
        found: dict[int, Deadline] = {}
        for workspace_id, deadline_ids in by_workspace.items():
            for state in await self.deadlines.load_deadline_states(
                workspace_id=workspace_id, deadline_ids=sorted(deadline_ids)
            ):
                found[state.deadline.id] = state.deadline
        return found

    async def _send(self, notice: Notice, deadline: Deadline | None) -> None:
        gateway = None if deadline is None else self.gateways.get(deadline.platform)
        if deadline is None or gateway is None:
            why = "deadline gone" if deadline is None else f"no gateway for {deadline.platform}"
            await self.outbox.mark_notice_failed(notice_id=notice.id, error=why)
            return
        now = self.clock.now()
        message = views.notice_message(
            deadline, changes=notice.changes, user_id=notice.user_id, now=now
        )
        try:
            await gateway.send(
                workspace_id=notice.workspace_id, channel_id=deadline.channel_id, message=message
            )
        except DeliveryError as error:
            await self._failed(notice, error)
            return
        await self.outbox.mark_notice_sent(notice_id=notice.id, sent_at=self.clock.now())

    async def _failed(self, notice: Notice, error: DeliveryError) -> None:
        now = self.clock.now()
        attempts = notice.attempts + 1
        if isinstance(error, RateLimited):
            retry_at = now + timedelta(seconds=max(error.retry_after, 0.0))
        elif isinstance(error, TransientDelivery) and attempts < self.policy.max_attempts:
            delay = min(self.policy.backoff_cap, self.policy.backoff_base**attempts)
            retry_at = now + timedelta(seconds=delay * self._rng.uniform(0.5, 1.5))
        else:
            log.warning("notice %s to %s not delivered: %s", notice.id, notice.user_id, error)
            await self.outbox.mark_notice_failed(notice_id=notice.id, error=str(error)[:500])
            return
        await self.outbox.release_notice(
            notice_id=notice.id, retry_at=retry_at, error=str(error)[:500]
        )

    async def _give_back(self, unsent: Sequence[Notice]) -> None:
        if not unsent:
            return
        try:
            async with asyncio.timeout(5.0):
                await self.outbox.release_notice_leases(notice_ids=[n.id for n in unsent])
        except (StorageUnavailable, TimeoutError):
            # Their leases run out by themselves; they are claimed again then.
            log.warning("could not give back %d claimed notices", len(unsent))

    async def _seconds_until_next(self) -> float:
        next_due = await self.outbox.next_notice_due()
        if next_due is None:
            return self.policy.poll_seconds
        wait = (next_due - self.clock.now()).total_seconds()
        return max(0.0, min(wait, self.policy.poll_seconds))

    async def _sleep_or_wake(self, seconds: float) -> None:
        if seconds <= 0 or self._stopping:
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            for task in (sleeper, waker):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
