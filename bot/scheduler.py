"""The alert engine: posts each deadline's countdown alerts exactly once.

Each deadline's reminder offsets are rows in an alert outbox (written by the
service in the same transaction as the change). The ``Dispatcher``:

1. sleeps until the earliest pending alert is due, or until ``wake()`` is
   called after a change (and at most ``poll_seconds``, so alerts written by
   another replica are seen);
2. claims due alerts in a short transaction with a lease and commits
   (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite ``BEGIN IMMEDIATE``), so
   no lock is held while talking to a platform and a crashed replica's claims
   expire and are taken again; what they show (deadline, positions, requests)
   is read for the whole claim at once;
3. queues them per channel: each channel's queue is sent by its own task,
   paced for its platform, so a busy channel never holds up the others, and
   claiming goes on while earlier alerts are being sent (up to
   ``max_in_flight``);
4. posts each job so that the post ends ``send_timeout`` (at most half the
   lease) before the lease does, and records its alerts sent before the job
   ends, in the time left. A lease claimed too long ago for that is renewed
   right before the post, in one statement that returns the alerts still held
   (one whose lease ran out may be another replica's by now): only those are
   posted. So no replica can claim a posted alert before it is recorded (chat
   platforms have no idempotency key to refuse a second post). Concurrent jobs
   share these statements. Rate limits honour ``retry_after``; transient
   failures back off exponentially with jitter, a bounded number of times;
   permanent failures mark the alert failed and tell the deadline's owner once.
A deadline of a linked set's home goes to every channel of the set, each through
its platform's gateway, and each (alert, channel) is recorded as it is posted,
so a retry after a failure on one platform never posts again on another.

``stop()`` ends the loop gracefully (SIGTERM): the send in progress finishes,
alerts claimed but not yet handed to a platform are given back at once
(``release_leases``) so another replica takes them without waiting for the
lease to run out, and no new claim is made. Cancelling gives back the same.

Alerts missed while no process ran (several of one deadline due long ago)
collapse into one catch-up message. Posts to one channel are paced by the
platform's allowance. At the deadline itself the job first applies the
silence rule, records silence positions and reveals sealed ones
(``bot.deadline_end``: each write conditional, so a retried or re-claimed job
does none of it twice, and its time comes off the post's budget); then an open
deadline becomes missed and the channel sees the final position matrix; at the 1d and 1h offsets the
people asked for a position who have not answered get a direct message, unless
the deadline has an escalation ladder, whose rungs are alerts too.
What a job posts, and what follows the post, is ``bot.alert_jobs``'s part.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.alert_jobs import AlertJobs, Job, Lease, no_event_url
from bot.channel_links import Target
from bot.concurrency import SharedStatement, within
from bot.dispatch_policy import DEFAULT_PACING, DispatchPolicy, DispatchStats
from bot.domain import (
    Alert,
    Deadline,
    DeadlineState,
    DeadlineStatus,
)
from bot.errors import (
    DeliveryError,
    RateLimited,
    StorageUnavailable,
    TransientDelivery,
)
from bot.messages import Message
from bot.ports import AlertOutbox, ChatGateway, Clock, EscalationSources, NegotiationStore
from bot.usecases.links import deadline_channels

log = logging.getLogger("parley.scheduler")


class Dispatcher:
    def __init__(
        self,
        *,
        outbox: AlertOutbox,
        deadlines: NegotiationStore,
        gateways: Mapping[str, ChatGateway],
        clock: Clock,
        policy: DispatchPolicy | None = None,
        pacing: Mapping[str, float] = DEFAULT_PACING,
        rng: random.Random | None = None,
        event_url: Callable[[Deadline], Awaitable[str | None]] | None = None,
        escalations: EscalationSources | None = None,
    ) -> None:
        self.outbox = outbox
        self.deadlines = deadlines
        self.gateways = gateways
        self.clock = clock
        self.policy = policy or DispatchPolicy()
        self.pacing = pacing
        self.stats = DispatchStats()
        self.jobs = AlertJobs(
            deadlines=deadlines,
            clock=clock,
            policy=self.policy,
            stats=self.stats,
            event_url=event_url or no_event_url,
            escalations=escalations,
        )
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._last_post: dict[str, datetime] = {}
        self._paused = False
        self._stopping = False
        self._stopped = asyncio.Event()
        self._unsent: set[int] = set()  # claimed, not yet handed to a gateway
        self._claimed: set[int] = set()  # claimed, not yet finished with
        self._queues: defaultdict[str, deque[Job]] = defaultdict(deque)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._posting = asyncio.Semaphore(self.policy.max_posting)
        self._renew = SharedStatement(self._renew_leases)
        self._record_sent = SharedStatement(self._write_sent)

    # --- loop ------------------------------------------------------------
    def wake(self) -> None:
        """Something changed: look at the schedule again now."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the send in progress, give back the other claims, and return from ``run``."""
        log.info("alert dispatcher stopping")
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    @property
    def paused(self) -> bool:
        """True while the database is unreachable."""
        return self._paused

    async def run(self) -> None:
        """Dispatch until ``stop()`` (or cancelled)."""
        try:
            while not self._stopping:
                try:
                    if await self._claim() == self.policy.batch_size:
                        continue  # more may be due: claim again while earlier ones send
                    if len(self._claimed) >= self.policy.max_in_flight:
                        delay = self.policy.poll_seconds  # a finishing send wakes us
                    else:
                        delay = await self._seconds_until_next()
                    if self._paused:
                        log.info("database reachable again; alert dispatch resumed")
                    self._paused = False
                except StorageUnavailable:
                    # The database is away: pause and look again shortly; nothing is lost,
                    # because claims that were not marked sent expire and are taken again.
                    if not self._paused:
                        log.warning("database unreachable; alert dispatch paused")
                    self._paused = True
                    delay = min(5.0, self.policy.poll_seconds)
                except Exception:
                    # A bug, or a schema this code does not know (a replica started before
                    # `parley migrate` ran): say so and look again later rather than stop
                    # sending alerts for the life of the process.
                    log.exception(
                        "alert dispatch failed; trying again in %.0f s", self.policy.poll_seconds
                    )
                    delay = self.policy.poll_seconds
                await self._sleep_or_wake(delay)
            await self._finish_sends(self.policy.drain_seconds)
        finally:
            for worker in list(self._workers.values()):
                worker.cancel()
            await self._release_unsent()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await self._record_sent.finished()

    async def _seconds_until_next(self) -> float:
        next_due = await self.outbox.next_alert_due()
        if next_due is None:
            return self.policy.poll_seconds
        wait = (next_due - self.clock.now()).total_seconds()
        return max(0.0, min(wait, self.policy.poll_seconds))

    async def _sleep_or_wake(self, seconds: float) -> None:
        self._wake.clear()
        if seconds <= 0 or self._stopping:
            return
        await self._sleep_unless(seconds, self._wake)

    async def _sleep_unless(self, seconds: float, event: asyncio.Event) -> None:
        """Sleep on the clock, or until ``event`` is set."""
        with contextlib.suppress(TimeoutError):
            await within(self.clock, seconds, event.wait())

    async def run_once(self) -> int:
        """Claim what is due now and wait until it is handled; how many were claimed."""
        claimed = await self._claim()
        await self._finish_sends(None)
        return claimed

    async def _finish_sends(self, within: float | None) -> None:
        """Wait for the channel queues to empty (``within`` seconds at most)."""
        while self._workers:
            done, _ = await asyncio.wait(set(self._workers.values()), timeout=within)
            if not done:
                return

    async def _claim(self) -> int:
        """Claim due alerts (as many as there is room for) and queue them per channel.

        Each channel's queue is sent by its own task, paced for its platform, so a
        busy channel never holds up the others and claiming goes on meanwhile."""
        room = min(self.policy.batch_size, self.policy.max_in_flight - len(self._claimed))
        if room <= 0:
            return 0
        # The lease runs from the claim's transaction, which starts after this instant.
        asked_at = self.clock.now()
        claimed = await self.outbox.claim_due_alerts(
            now=asked_at, lease_seconds=self.policy.lease_seconds, limit=room
        )
        lease = Lease(asked_at, self.clock.now(), self.policy.lease_seconds)
        # One whose lease ran out while it waited here is claimed again by this process
        # too: it stays with the job that has it, which renews before posting.
        new = [alert for alert in claimed if alert.id not in self._claimed]
        if not new:
            return len(claimed)
        self._claimed.update(alert.id for alert in new)
        self._unsent.update(alert.id for alert in new)
        try:
            jobs = await self._load_jobs(new, lease)
        except BaseException:
            self._claimed.difference_update(alert.id for alert in new)
            raise
        for job in jobs:
            key = f"{job.deadline.workspace_id}/{job.deadline.channel_id}"
            self._queues[key].append(job)
            if key not in self._workers:
                self._workers[key] = asyncio.create_task(
                    self._run_channel(key), name=f"parley-alerts-{key}"
                )
        return len(claimed)

    async def _release_unsent(self) -> None:
        unsent, self._unsent = sorted(self._unsent), set()
        if not unsent:
            return
        try:
            async with asyncio.timeout(5.0):
                await self.outbox.release_leases(alert_ids=unsent)
        except (StorageUnavailable, TimeoutError):
            # Their leases run out by themselves; another replica takes them then.
            log.warning("could not give back %d claimed alerts", len(unsent))
            return
        log.info("gave back %d claimed alerts", len(unsent))

    async def _load_jobs(self, claimed: list[Alert], lease: Lease) -> list[Job]:
        """The claimed alerts grouped by deadline, with what each alert shows,
        read in three queries per workspace."""
        by_deadline: dict[int, list[Alert]] = defaultdict(list)
        by_workspace: dict[str, set[int]] = defaultdict(set)
        for alert in claimed:
            by_deadline[alert.deadline_id].append(alert)
            by_workspace[alert.workspace_id].add(alert.deadline_id)
        states: dict[int, DeadlineState] = {}
        for workspace_id, deadline_ids in by_workspace.items():
            for loaded in await self.deadlines.load_deadline_states(
                workspace_id=workspace_id, deadline_ids=sorted(deadline_ids)
            ):
                states[loaded.deadline.id] = loaded
        jobs: list[Job] = []
        for deadline_id, alerts in by_deadline.items():
            state = states.get(deadline_id)
            if state is None or state.deadline.status in (
                DeadlineStatus.MET,
                DeadlineStatus.CANCELLED,
            ):
                # Closed after the claim: its alerts are no longer wanted.
                self._done_with(alerts)
                self._unsent.difference_update(alert.id for alert in alerts)
                for alert in alerts:
                    await self.outbox.mark_alert_failed(alert_id=alert.id, error="deadline closed")
                continue
            alerts.sort(key=lambda a: a.due_at)
            jobs.append(Job(state=state, alerts=alerts, lease=lease))
        jobs.sort(key=lambda job: job.alerts[0].due_at)
        return await self.jobs.with_reach(jobs)

    async def _renew_leases(self, alert_ids: list[int]) -> list[int]:
        return await self.outbox.renew_leases(
            alert_ids=alert_ids, lease_seconds=self.policy.lease_seconds, now=self.clock.now()
        )

    async def _write_sent(self, alert_ids: list[int]) -> list[int]:
        """Record posted alerts sent; tried again while the database is away, because
        an alert posted but not recorded is posted again once its lease runs out."""
        while True:
            try:
                await self.outbox.mark_alerts_sent(alert_ids=alert_ids, sent_at=self.clock.now())
                return alert_ids
            except StorageUnavailable:
                if self._stopping:
                    raise
                await self._sleep_unless(1.0, self._stopped)

    def _done_with(self, alerts: Collection[Alert]) -> None:
        self._claimed.difference_update(alert.id for alert in alerts)
        self.wake()  # there is room to claim more

    async def _run_channel(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._stopping:
                job = queue[0]
                await self._pace(key, job.deadline.platform)
                if self._stopping:
                    return
                queue.popleft()
                try:
                    await self._post_if_still_ours(key, job)
                finally:
                    self._done_with(job.alerts)
        except Exception:
            # Left in the queue: their leases run out and they are claimed again.
            log.exception("alert sending for %s failed", key)
        finally:
            del self._workers[key]
            # Jobs still queued (stopping, or a failure) stay unsent: given back at
            # shutdown, or claimed again when their lease runs out.
            for job in self._queues.pop(key, ()):
                self._claimed.difference_update(alert.id for alert in job.alerts)
            self.wake()

    async def _post_if_still_ours(self, key: str, job: Job) -> None:
        """Post the job's alerts this process still holds, then record them sent.

        A lease without time for a whole post and its record is renewed right
        before the post; at most ``max_posting`` jobs are between that point and
        the platform's answer at once. Recording waits for no turn."""
        async with self._posting:
            self._last_post[key] = self.clock.now()
            # The message first: at the deadline it is made by writes (bot.deadline_end,
            # each of them done once whoever runs it), which must not eat the post's time.
            message = await self.jobs.post(job)
            full = self._post_budget(job.lease) >= self.policy.send_timeout
            renewed = job if full else await self._renewed(job)
            # From here each is posted, given back or not ours: none to give back at shutdown.
            self._unsent.difference_update(alert.id for alert in job.alerts)
            if renewed is None:
                return
            if len(renewed.alerts) != len(job.alerts):  # some are another replica's now
                message = await self.jobs.post(renewed)
            job, budget = renewed, self._post_budget(renewed.lease)
            if budget <= 0:
                log.warning(
                    "renewing took %.1f s, too long to record a post in time; %d alerts given back",
                    job.lease.write_seconds,
                    len(job.alerts),
                )
                with contextlib.suppress(StorageUnavailable):
                    await self.outbox.release_leases(alert_ids=[a.id for a in job.alerts])
                return
            gateway = await self._post(job, message, budget=budget)
        if gateway is not None:
            await self._posted(job, gateway)

    def _post_budget(self, lease: Lease) -> float:
        """How long a post on ``lease`` may take (up to ``send_timeout``): it must end
        ``send_timeout`` before the lease, to record it, and that must be at least twice
        what the write that set the lease took. Zero or less: no time for a post."""
        keep = self.policy.send_timeout
        if 2 * lease.write_seconds > keep:
            return 0.0
        left = (lease.ends_at - self.clock.now()).total_seconds()
        return min(keep, left - keep)

    async def _renewed(self, job: Job) -> Job | None:
        """The job with only the alerts this process still holds (one whose lease ran
        out may be another replica's by now), their leases renewed; None if none is."""
        asked_at = self.clock.now()
        ids = [alert.id for alert in job.alerts]
        try:
            held = await self._renew(ids)
        except StorageUnavailable:
            # Not known to be ours: not posted. Its lease runs out and it is claimed again.
            log.warning("could not renew the leases of %d alerts; not posted now", len(ids))
            held = set()
        alerts = [alert for alert in job.alerts if alert.id in held]
        if not alerts:
            return None
        lease = Lease(asked_at, self.clock.now(), self.policy.lease_seconds)
        return replace(job, alerts=alerts, lease=lease)

    async def _pace(self, key: str, platform: str) -> None:
        interval = self.pacing.get(platform, 1.0)
        last = self._last_post.get(key)
        if last is not None and interval > 0:
            wait = (last + timedelta(seconds=interval) - self.clock.now()).total_seconds()
            if wait > 0:
                await self._sleep_unless(wait, self._stopped)

    # --- one deadline's due alerts ------------------------------------------
    async def _post(
        self, job: Job, message: Message | None, *, budget: float
    ) -> ChatGateway | None:
        """Post the job's ``message``, answered within ``budget`` seconds or given up;
        the gateway that took it, or None (a failure, already dealt with)."""
        deadline, alerts = job.deadline, job.alerts
        if message is not None:  # a linked set: each of its channels, on its platform
            targets = await deadline_channels(self.deadlines, deadline)
            if len(targets) > 1:
                return await self._post_linked(job, message, targets, budget=budget)
        gateway = self.gateways.get(deadline.platform)
        if gateway is None:
            for alert in alerts:
                await self.outbox.mark_alert_failed(
                    alert_id=alert.id, error=f"no gateway for {deadline.platform}"
                )
            self.stats.failed += len(alerts)
            return None
        try:
            if message is not None:  # None: nothing for the channel (escalation DMs only)
                await self._send_within(budget, gateway, deadline, message)
        except DeliveryError as error:
            await self._failed(deadline, alerts, error, gateway)
            return None
        return gateway

    async def _post_linked(
        self, job: Job, message: Message, targets: list[Target], *, budget: float
    ) -> ChatGateway | None:
        """Post to every channel of a linked set the alerts have not reached yet, each
        through its own platform, recording each channel as it is reached: a retry
        (after a failure on one platform) skips the channels already posted to."""
        deadline, alerts = job.deadline, job.alerts
        ids = [alert.id for alert in alerts]
        reached = await self.outbox.delivered_to(alert_ids=ids)
        ends = self.clock.now() + timedelta(seconds=budget)
        error: DeliveryError | None = None
        for target in targets:
            if (target.workspace_id, target.channel_id) in reached:
                continue
            gateway = self.gateways.get(target.platform)
            left = (ends - self.clock.now()).total_seconds()
            if gateway is None or left <= 0:
                error = error or TransientDelivery(f"not posted to {target.platform} in time")
                continue
            sending = gateway.send(
                workspace_id=target.workspace_id,
                channel_id=target.channel_id,
                message=replace(message, channel_id=target.channel_id),
            )
            try:
                await within(self.clock, left, sending)
            except TimeoutError:
                error = TransientDelivery(f"no answer from {target.platform} within {left:g} s")
                continue
            except DeliveryError as failed:
                error = failed
                continue
            await self.outbox.record_delivery(
                alert_ids=ids,
                workspace_id=target.workspace_id,
                channel_id=target.channel_id,
                at=self.clock.now(),
            )
        home = self.gateways.get(deadline.platform)
        if error is None:
            return home
        fallback = home or next(iter(self.gateways.values()), None)
        if fallback is None:
            for alert in alerts:
                await self.outbox.mark_alert_failed(alert_id=alert.id, error=str(error)[:500])
            return None
        await self._failed(deadline, alerts, error, fallback)
        return None

    async def _posted(self, job: Job, gateway: ChatGateway) -> None:
        """Record a posted job's alerts sent, then what follows the post."""
        alerts = job.alerts
        sent_at = self.clock.now()
        try:
            await self._record_sent([alert.id for alert in alerts])
        except StorageUnavailable:
            log.warning(
                "could not record %d posted alerts as sent; they are posted again "
                "when their lease runs out",
                len(alerts),
            )
        for alert in alerts:
            self.stats.lateness.append((sent_at - alert.due_at).total_seconds())
            self.stats.lateness_count += 1
        self.stats.sent += len(alerts)
        await self.jobs.after_post(job, gateway, sent_at)

    async def _send_within(
        self, seconds: float, gateway: ChatGateway, deadline: Deadline, message: Message
    ) -> None:
        """Post to the deadline's channel; an answer that takes longer than ``seconds``
        is given up (a transient failure, retried), as its lease may run out after it."""
        sending = gateway.send(
            workspace_id=deadline.workspace_id, channel_id=deadline.channel_id, message=message
        )
        try:
            await within(self.clock, seconds, sending)
        except TimeoutError:
            # The platform may have taken it, and with no idempotency key the retry
            # then shows it twice: worth an operator's notice.
            log.warning(
                "no answer from %s within %.1f s for deadline %s; its alert is tried again",
                deadline.platform,
                seconds,
                deadline.id,
            )
            raise TransientDelivery(f"no answer within {seconds:.1f} s") from None

    async def _failed(
        self, deadline: Deadline, alerts: list[Alert], error: DeliveryError, gateway: ChatGateway
    ) -> None:
        now = self.clock.now()
        attempts = max(a.attempts for a in alerts) + 1
        if isinstance(error, RateLimited):
            retry_at = now + timedelta(seconds=max(error.retry_after, 0.0))
        elif isinstance(error, TransientDelivery) and attempts < self.policy.max_attempts:
            delay = min(self.policy.backoff_cap, self.policy.backoff_base**attempts)
            retry_at = now + timedelta(seconds=delay * self._rng.uniform(0.5, 1.5))
        else:
            for alert in alerts:
                await self.outbox.mark_alert_failed(alert_id=alert.id, error=str(error)[:500])
            self.stats.failed += len(alerts)
            log.warning("alert for deadline %s failed permanently: %s", deadline.id, error)
            await self.jobs.tell_owner(deadline, error, gateway)
            return
        for alert in alerts:
            await self.outbox.release_alert(
                alert_id=alert.id, retry_at=retry_at, error=str(error)[:500]
            )
        self.stats.retried += len(alerts)
        self.wake()
