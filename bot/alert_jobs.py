"""What a claimed alert job posts, and what follows once it is posted.

The dispatcher (``bot.scheduler``) claims alerts, paces, sends, retries and
records them sent; this module decides the rest:

- the message of a job: a countdown, the alert at the deadline (the final
  matrix), or one catch-up standing for several alerts missed while no
  process ran;
- at the deadline, before its message: the silence rule, silence positions and
  the reveal (``bot.deadline_end``), each once however often the job is tried;
  an extension by the silence rule is announced instead of the final matrix;
- what follows the post: at the deadline an open deadline turns missed; at
  the nudge offsets the asked who have not answered get a direct message;
- follow-ups (nudges, failure notices to the owners) get a few quick tries,
  and never make the channel alert they follow be sent again;
- a deadline with an escalation ladder: its rungs' steps (``bot.escalation_jobs``),
  in place of the built-in nudges.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import escalation_jobs, views
from bot.deadline_end import at_deadline, end_deadline
from bot.dispatch_policy import DispatchPolicy, DispatchStats
from bot.domain import (
    NUDGE_OFFSETS,
    Alert,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    EventKind,
)
from bot.errors import DeliveryError, PermanentDelivery, RateLimited, TransientDelivery
from bot.escalation import counts_down
from bot.escalation_jobs import Reach
from bot.messages import Audience, Message
from bot.ports import ChatGateway, Clock, EscalationSources, NegotiationStore

log = logging.getLogger("parley.scheduler")

EventUrl = Callable[[Deadline], Awaitable[str | None]]


async def no_event_url(deadline: Deadline) -> str | None:
    """No "Add to calendar" link (no feeds configured)."""
    return None


@dataclass(frozen=True)
class Lease:
    """A lease as this process knows it, set by a write (claim or renewal) whose
    transaction began after ``asked_at``: no other replica can claim before ``ends_at``."""

    asked_at: datetime
    answered_at: datetime
    seconds: float

    @property
    def ends_at(self) -> datetime:
        return self.asked_at + timedelta(seconds=self.seconds)

    @property
    def write_seconds(self) -> float:
        """How long the write took: about what recording a post takes then."""
        return (self.answered_at - self.asked_at).total_seconds()


@dataclass(frozen=True)
class Job:
    """One deadline's claimed alerts, sent together as one message."""

    state: DeadlineState
    alerts: list[Alert]
    lease: Lease
    reach: Reach | None = None  # the deadline's escalation ladder, if it has one

    @property
    def deadline(self) -> Deadline:
        return self.state.deadline


def marks_missed(deadline: Deadline, alerts: list[Alert]) -> bool:
    """The alert at the deadline turns an open deadline missed (and says so)."""
    at_deadline = any(a.offset == timedelta(0) for a in alerts)
    return at_deadline and deadline.status is DeadlineStatus.OPEN


class AlertJobs:
    """The content and the consequences of the dispatcher's jobs."""

    def __init__(
        self,
        *,
        deadlines: NegotiationStore,
        clock: Clock,
        policy: DispatchPolicy,
        stats: DispatchStats,
        event_url: EventUrl = no_event_url,
        escalations: EscalationSources | None = None,
    ) -> None:
        self.deadlines = deadlines
        self.escalations = escalations
        self.clock = clock
        self.policy = policy
        self.stats = stats
        self.event_url = event_url
        self._told_owner: set[int] = set()

    async def with_reach(self, jobs: list[Job]) -> list[Job]:
        """The jobs, each with its deadline's escalation (``Job.reach``) when it has one."""
        if self.escalations is None or not jobs:
            return jobs
        reaches = await escalation_jobs.load_reaches(
            self.escalations,
            [(job.state, [a.offset for a in job.alerts]) for job in jobs],
            now=self.clock.now(),
        )
        return [replace(job, reach=reaches.get(job.deadline.id)) for job in jobs]

    async def post(self, job: Job) -> Message | None:
        """What the job posts in the deadline's channel, now: its countdown (``message``)
        with the escalation's ``channel`` step merged in; None: no post (only rungs
        whose steps are direct messages, or with nobody silent)."""
        counting = any(counts_down(job.deadline, a.offset) for a in job.alerts)
        countdown = await self.message(job) if counting else None
        if job.reach is None:
            return countdown
        return escalation_jobs.channel_post(
            job.reach, job.deadline, countdown, now=self.clock.now()
        )

    async def message(self, job: Job) -> Message:
        """What the job posts in the deadline's channel, now."""
        deadline, alerts = job.deadline, job.alerts
        positions, requests = job.state.positions, job.state.requests
        now = self.clock.now()
        late = [a for a in alerts if now - a.due_at > self.policy.catch_up_after]
        if at_deadline(deadline, alerts) is not None:
            return await self._ending(job, late=bool(late))
        if len(alerts) > 1 and late:
            self.stats.collapsed += len(alerts) - 1
            return views.catch_up_alert(
                deadline,
                now=now,
                missed=[a.offset for a in alerts],
                positions=positions,
                requests=requests,
                marks_missed=marks_missed(deadline, alerts),
            )
        if alerts[-1].offset == timedelta(0):
            return views.deadline_reached(
                deadline,
                now=now,
                positions=positions,
                requests=requests,
                marks_missed=marks_missed(deadline, alerts),
            )
        return views.countdown_alert(
            deadline,
            now=now,
            offset=alerts[-1].offset,
            positions=positions,
            requests=requests,
            calendar_url=await self.event_url(deadline),
        )

    async def _ending(self, job: Job, *, late: bool) -> Message:
        """The job at the deadline: the silence rule's extension, or the final matrix
        (with the reveal) once the deadline is settled."""
        now = self.clock.now()
        ended = await end_deadline(self.deadlines, state=job.state, alerts=job.alerts, now=now)
        if ended.announcement is not None:
            return ended.announcement
        assert ended.state is not None
        deadline = ended.state.deadline
        message = views.final_matrix(
            deadline,
            now=now,
            headline=views.reached_headline(
                deadline, now=now, marks_missed=marks_missed(deadline, job.alerts)
            ),
            positions=ended.state.positions,
            requests=ended.state.requests,
            silence=ended.silence,
            offers=await self.deadlines.list_offers(
                workspace_id=deadline.workspace_id, deadline_id=deadline.id
            ),
        )
        if len(job.alerts) > 1 and late:
            self.stats.collapsed += len(job.alerts) - 1
            note = views.catch_up_note(deadline, now=now, missed=[a.offset for a in job.alerts])
            message = replace(
                message,
                fallback=f"{message.fallback} ({note.body})",
                blocks=(*message.blocks, note),
            )
        return message

    async def after_post(self, job: Job, gateway: ChatGateway, sent_at: datetime) -> None:
        """What follows a posted job: the deadline missed, and nudges for those who
        have not answered."""
        deadline, alerts, requests = job.deadline, job.alerts, job.state.requests
        if marks_missed(deadline, alerts):
            await self._mark_missed(deadline, sent_at)
        if job.reach is not None:  # a ladder replaces the built-in nudges

            async def send(message: Message) -> None:
                await self.send_best_effort(gateway, deadline, message)

            await escalation_jobs.follow_up(job.reach, deadline, now=self.clock.now(), send=send)
        elif any(a.offset in NUDGE_OFFSETS for a in alerts) and deadline.due_at > sent_at:
            await self._nudge(
                deadline, gateway, [r.user_id for r in requests if r.answered_at is None]
            )

    async def _mark_missed(self, deadline: Deadline, now: datetime) -> None:
        # Read again: the job may have extended it (the silence rule) since its claim.
        current = await self.deadlines.get_deadline_by_id(
            workspace_id=deadline.workspace_id, deadline_id=deadline.id
        )
        if current is None or current.status is not DeadlineStatus.OPEN or current.due_at > now:
            return
        event = Event(deadline_id=deadline.id, kind=EventKind.MISSED, at=now, actor_id="parley")
        missed = replace(current, status=DeadlineStatus.MISSED, updated_at=now)
        await self.deadlines.update_deadline(deadline=missed, event=event, alerts=None)

    async def _nudge(self, deadline: Deadline, gateway: ChatGateway, user_ids: list[str]) -> None:
        for user_id in user_ids:
            message = views.nudge_message(deadline, user_id=user_id, now=self.clock.now())
            await self.send_best_effort(gateway, deadline, message)

    async def send_best_effort(
        self, gateway: ChatGateway, deadline: Deadline, message: Message
    ) -> None:
        """Follow-ups (nudges, failure notices) get a few quick tries; the channel alert
        they follow is already sent, so they must not make it be sent again."""
        for attempt in range(3):
            try:
                await gateway.send(
                    workspace_id=deadline.workspace_id,
                    channel_id=deadline.channel_id,
                    message=message,
                )
                return
            except RateLimited as error:
                await self.clock.sleep(min(error.retry_after, 30.0))
            except TransientDelivery:
                await self.clock.sleep(self.policy.backoff_base**attempt)
            except PermanentDelivery as error:
                log.warning("follow-up for deadline %s not delivered: %s", deadline.id, error)
                return
        log.warning("follow-up for deadline %s not delivered after retries", deadline.id)

    async def tell_owner(
        self, deadline: Deadline, error: DeliveryError, gateway: ChatGateway
    ) -> None:
        if deadline.id in self._told_owner:
            return
        self._told_owner.add(deadline.id)
        text = (
            f"Parley could not post the alert for {deadline.ref} {deadline.title} in its channel "
            f"({error}). Invite Parley back to the channel, or move the deadline to another one."
        )
        for owner in deadline.owners:  # co-owners too: any of them can move the deadline
            notice = views.info_message(text, user_id=owner, audience=Audience.DIRECT)
            await self.send_best_effort(gateway, deadline, notice)
