"""The escalation ladder inside the dispatcher's jobs (``bot.alert_jobs``).

A rung's offset is an alert row, claimed, leased, posted and recorded like a
countdown's, so it is sent once, and collapsed with the others into one
catch-up after downtime (each step then runs once). For a job of a deadline
with a ladder, ``load_reaches`` reads, once per job, the ladder, the steps of
the rungs among the job's alerts (none once the deadline has passed) and, if
there are any, who is silent then. Then:

- ``channel_post``: the ``channel`` step joins the job's own post (a countdown at
  the same offset: one message), or is the post when no countdown goes out; with
  nobody silent, or no ``channel`` step and no countdown, there is no post at all;
- ``follow_up``: after the post is recorded, the ``dm`` step messages each silent
  asked person and each rep of a silent party, and the ``owners`` step tells each
  owner who is silent; a deadline with a ladder gets no built-in nudge.

Direct messages follow the record, as nudges always have: a crash between the
two loses them rather than sending the rung twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import Deadline, DeadlineState, negotiation_key
from bot.escalation import Ladder, Silent, Step, silent_on, steps_at
from bot.messages import Message
from bot.ports import EscalationSources
from bot.views import escalation as escalation_views


@dataclass(frozen=True, slots=True)
class Reach:
    """A job's escalation: its deadline's ladder, the steps due in this job, and who
    was silent when the job was loaded (only looked up when a step is due)."""

    ladder: Ladder
    steps: frozenset[Step]
    silent: Silent


async def load_reaches(
    sources: EscalationSources,
    jobs: Sequence[tuple[DeadlineState, Sequence[timedelta]]],
    *,
    now: datetime,
) -> dict[int, Reach]:
    """The reach of each job (its state and alert offsets) whose deadline has a ladder,
    by deadline id: one query per workspace, and a few more per job with a step due."""
    by_workspace: dict[str, list[tuple[DeadlineState, Sequence[timedelta]]]] = defaultdict(list)
    for state, offsets in jobs:
        by_workspace[state.deadline.workspace_id].append((state, offsets))
    reaches: dict[int, Reach] = {}
    for workspace_id, items in by_workspace.items():
        ladders = await sources.get_ladders(
            workspace_id=workspace_id, deadline_ids=[s.deadline.id for s, _ in items]
        )
        for state, offsets in items:
            deadline = state.deadline
            ladder = ladders.get(deadline.id)
            if ladder is None:
                continue
            steps = steps_at(ladder, offsets) if deadline.due_at > now else frozenset()
            silent = await _silent(sources, state) if steps else Silent()
            reaches[deadline.id] = Reach(ladder=ladder, steps=steps, silent=silent)
    return reaches


async def _silent(sources: EscalationSources, state: DeadlineState) -> Silent:
    deadline = state.deadline
    ws = deadline.workspace_id
    negotiation = negotiation_key(ws, deadline.channel_id)
    return silent_on(
        deadline,
        parties=await sources.list_parties(workspace_id=ws, negotiation=negotiation),
        expected=await sources.get_expected(workspace_id=ws, deadline_id=deadline.id),
        positions=state.positions,
        requests=state.requests,
    )


def channel_post(
    reach: Reach, deadline: Deadline, countdown: Message | None, *, now: datetime
) -> Message | None:
    """The job's post with the ``channel`` step merged in (see the module docstring)."""
    if Step.CHANNEL not in reach.steps or not reach.silent:
        return countdown
    if countdown is None:
        return escalation_views.channel_escalation(deadline, silent=reach.silent, now=now)
    return escalation_views.with_silent(countdown, reach.silent)


async def follow_up(
    reach: Reach,
    deadline: Deadline,
    *,
    now: datetime,
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """The ``dm`` and ``owners`` steps due in the job, to the silent and the owners."""
    if Step.DM in reach.steps:
        for user_id, party in reach.silent.recipients():
            await send(escalation_views.silent_dm(deadline, user_id=user_id, party=party, now=now))
    if Step.OWNERS in reach.steps and reach.silent:
        for owner in deadline.owners:
            message = escalation_views.owners_escalation(
                deadline, owner_id=owner, silent=reach.silent, now=now
            )
            await send(message)
