"""Builders for what tests put in a store directly, below the chat: each field a test
does not care about has a default, so a set-up names only what the test is about.

    draft = a_deadline(title="Held alert", due=now)
    deadline = await seed_due_alert(store, draft)      # one alert, due at the deadline

A test that works through the chat says the command instead (``tests.conftest.Chat``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import (
    DEFAULT_OFFSETS,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    NewDeadline,
    PlannedAlert,
    plan_alerts,
)
from bot.ports import DeadlineStore, Maintenance
from storage.db import make_engine
from storage.repository import SqlRepository

# Thursday 26 November 2026, 12:00 in New York (tests.conftest.NOW).
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


def a_deadline(
    *,
    title: str = "Signed usage agreement",
    due: datetime = NOW + timedelta(days=1),
    workspace: str = "slack:T1",
    channel: str = "C1",
    platform: str = "slack",
    tz: str = "America/New_York",
    owner: str = "U1",
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS,
    created: datetime = NOW,
) -> NewDeadline:
    """A deadline as ``/deadline add`` drafts it, before a store numbers it."""
    return NewDeadline(
        workspace_id=workspace,
        channel_id=channel,
        platform=platform,
        title=title,
        due_at=due,
        tz=tz,
        owner_id=owner,
        reminder_offsets=offsets,
        created_at=created,
    )


def created_event(draft: NewDeadline) -> Event:
    """The history's first entry for ``draft``, as its owner made it."""
    return Event(
        deadline_id=0,
        kind=EventKind.CREATED,
        at=draft.created_at,
        actor_id=draft.owner_id,
        data={"title": draft.title},
    )


async def add_deadline(
    store: DeadlineStore,
    draft: NewDeadline | None = None,
    *,
    alerts: tuple[PlannedAlert, ...] | None = None,
) -> Deadline:
    """Store ``draft`` (``a_deadline()`` by default) with ``alerts``, by default the ones
    its offsets plan at its creation, as ``/deadline add`` plans them."""
    draft = draft or a_deadline()
    if alerts is None:
        alerts = plan_alerts(
            due_at=draft.due_at, offsets=draft.reminder_offsets, now=draft.created_at
        )
    return await store.create_deadline(draft=draft, event=created_event(draft), alerts=alerts)


async def seed_due_alert(store: DeadlineStore, draft: NewDeadline | None = None) -> Deadline:
    """Store ``draft`` with one pending alert, the one at the deadline itself: it falls
    due at the deadline's due instant (pass ``a_deadline(due=now)`` for one due now)."""
    draft = draft or a_deadline()
    alert = PlannedAlert(offset=timedelta(0), due_at=draft.due_at)
    return await add_deadline(store, draft, alerts=(alert,))


@asynccontextmanager
async def sql_store(url: str) -> AsyncIterator[SqlRepository]:
    """Parley's stores on the (migrated) database at ``url``, closed afterwards."""
    repository = SqlRepository(make_engine(url))
    try:
        yield repository
    finally:
        await repository.close()


async def snapshot(store: Maintenance) -> dict[str, Any]:
    """Everything a team put into Parley, as an export has it, to compare before and
    after a command that must change nothing. Conversation references and known names
    are left out: they are Parley's own bookkeeping of where it last heard from each
    conversation and what people and channels are called, refreshed by every request,
    not something a command changes."""
    data = await store.export_all()
    return {
        key: value
        for key, value in data.items()
        if isinstance(value, list) and key not in ("conversation_references", "names")
    }


def a_teams_deadline(**changes: Any) -> Deadline:
    """A stored, open Teams deadline due an hour after ``NOW`` (for renderer tests)."""
    base = Deadline(
        id=1,
        workspace_id="teams:t",
        number=1,
        channel_id="19:c@thread.tacv2",
        platform="teams",
        title="Signed usage agreement",
        due_at=NOW + timedelta(hours=1),
        tz="America/New_York",
        owner_id="29:1-alex",
        status=DeadlineStatus.OPEN,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **changes)
