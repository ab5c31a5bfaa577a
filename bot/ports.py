"""The ports the core needs from the outside world: storage, chat delivery and time.

Adapters and ``storage/`` implement these Protocols; the core only ever sees them.

Storage is one port per consumer, so each part takes only what it uses:

- ``DeadlineStore``: deadlines, positions, requests and history (the use cases);
- ``AlertOutbox``: the alert outbox (the dispatcher, which also reads and marks
  deadlines through a ``DeadlineStore``);
- ``FeedStore``: calendar feed tokens and what feeds show (``bot.feeds``);
- ``ConversationStore``: where a platform lets Parley post later (Teams);
- ``Maintenance``: export, import and the readiness ping.

``Repository`` is all of them at once: what the composition root holds.

Every storage call is scoped to one workspace, except where a port says why not:
no query crosses workspaces. Each mutating call is one transaction: it either
writes everything it names (row, history event, alert outbox changes) or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.domain import (
    Alert,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    FeedScope,
    FeedToken,
    NewDeadline,
    PlannedAlert,
    Position,
    PositionRequest,
)
from bot.messages import Message


class DeadlineStore(Protocol):
    """Deadlines with their positions, position requests and history."""

    async def create_deadline(
        self, *, draft: NewDeadline, event: Event, alerts: Sequence[PlannedAlert]
    ) -> Deadline:
        """Store a deadline with the next per-workspace number, a random uid,
        its CREATED event (``event.deadline_id`` is filled in) and its alerts."""
        ...

    async def get_deadline(self, *, workspace_id: str, number: int) -> Deadline | None: ...

    async def get_deadline_by_id(
        self, *, workspace_id: str, deadline_id: int
    ) -> Deadline | None: ...

    async def find_deadlines_by_title(self, *, workspace_id: str, prefix: str) -> list[Deadline]:
        """Deadlines whose title starts with ``prefix``, case-insensitively."""
        ...

    async def list_deadlines(
        self,
        *,
        workspace_id: str,
        channel_id: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]:
        """Deadlines ordered by due time (then number); ``None`` filters nothing."""
        ...

    async def update_deadline(
        self, *, deadline: Deadline, event: Event, alerts: Sequence[PlannedAlert] | None
    ) -> Deadline:
        """Write ``deadline``'s mutable fields (due_at, tz, status, reminder_offsets,
        updated_at), raise its sequence by one, append ``event``. When ``alerts`` is
        not None, replace the deadline's pending alerts with them (empty: drop all)."""
        ...

    async def record_position(self, *, workspace_id: str, position: Position, event: Event) -> None:
        """Make ``position`` the current one for its stakeholder, append ``event``,
        and mark an open request of that stakeholder (a user id) answered."""
        ...

    async def list_positions(self, *, workspace_id: str, deadline_id: int) -> list[Position]: ...

    async def add_position_requests(
        self, *, workspace_id: str, requests: Sequence[PositionRequest], event: Event
    ) -> None:
        """Add requests (a user already asked keeps the first request) and the event."""
        ...

    async def list_position_requests(
        self, *, workspace_id: str, deadline_id: int
    ) -> list[PositionRequest]: ...

    async def list_events(self, *, workspace_id: str, deadline_id: int) -> list[Event]: ...

    async def load_deadline_states(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[DeadlineState]:
        """The deadlines (of this workspace) with their positions and requests,
        in three queries however many deadlines are asked for."""
        ...


class AlertOutbox(Protocol):
    """The alert outbox the dispatcher drains.

    The one store not scoped to a workspace: the dispatcher serves every
    workspace, and each ``Alert`` says which one it belongs to. The outbox rows
    themselves are written with the deadline changes (``DeadlineStore``).
    """

    async def next_alert_due(self) -> datetime | None:
        """The earliest due instant of a pending alert, across workspaces."""
        ...

    async def claim_due_alerts(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Alert]:
        """Claim pending alerts due at or before ``now`` whose lease is free or
        expired, setting a lease; commit before returning."""
        ...

    async def mark_alerts_sent(self, *, alert_ids: Sequence[int], sent_at: datetime) -> None:
        """Mark alerts sent (and their leases ended), in one statement, whoever holds
        them now: the caller posted them, so a replica that took one over after its
        lease ran out finds it sent when it renews, and does not post it again."""
        ...

    async def renew_leases(
        self, *, alert_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        """Extend this process's leases on claimed, unsent alerts, also those whose
        lease ran out but that nobody took since, and return the ids still held, in
        one statement (the dispatcher posts only those)."""
        ...

    async def mark_alert_failed(self, *, alert_id: int, error: str) -> None: ...

    async def release_alert(self, *, alert_id: int, retry_at: datetime, error: str) -> None:
        """Give a claimed alert back to be retried at ``retry_at`` (attempts + 1)."""
        ...

    async def release_leases(self, *, alert_ids: Sequence[int]) -> None:
        """Give back this process's claims on still-pending alerts, untouched
        otherwise (attempts unchanged): they can be claimed again at once."""
        ...

    async def count_due_alerts(self, *, now: datetime) -> int:
        """How many pending alerts are due at or before ``now`` (for metrics)."""
        ...


class FeedStore(Protocol):
    """Calendar feed tokens, and the deadlines a feed shows.

    The token hash and the deadline uid are random secrets that name their
    workspace themselves: the two lookups by them are the only feed queries
    that are not given a workspace.
    """

    async def add_feed_token(self, *, token: FeedToken, revoke_others: bool = False) -> None:
        """Store a feed token (its hash). With ``revoke_others``, revoke every other
        unrevoked token of the same scope in the same transaction."""
        ...

    async def find_feed_token(self, *, token_hash: str) -> FeedToken | None:
        """The unrevoked token with this hash, in any workspace."""
        ...

    async def feed_marker(self, *, workspace_id: str) -> str:
        """A short text that changes with every write in the workspace (its newest
        history event): one index lookup. On PostgreSQL a write that commits after
        a later-numbered one may not move it, so callers also recheck with
        ``feed_fingerprint`` now and then."""
        ...

    async def feed_fingerprint(self, *, scope: FeedScope, cancelled_since: datetime) -> str:
        """A short text that changes whenever ``list_feed_items`` with the same
        arguments would return something different: one aggregate query."""
        ...

    async def list_feed_items(
        self, *, scope: FeedScope, cancelled_since: datetime
    ) -> list[DeadlineState]:
        """The deadlines a feed shows, with their positions and position requests,
        ordered by due time then number: every deadline of the scope except those
        cancelled before ``cancelled_since``."""
        ...

    async def get_feed_item(self, *, uid: str) -> DeadlineState | None:
        """One deadline by its uid (in any workspace), with positions and requests."""
        ...


class Maintenance(Protocol):
    """The whole database at once: export, import, and whether it answers."""

    async def export_all(self) -> dict[str, Any]:
        """Every row as JSON-able data (see storage for the format)."""
        ...

    async def import_all(self, data: dict[str, Any]) -> None:
        """Restore an export into an empty database."""
        ...

    async def ping(self) -> None:
        """Raise ``StorageUnavailable`` when the database cannot be reached."""
        ...


class ConversationStore(Protocol):
    """Where a platform lets Parley post into a conversation later (Teams proactive
    messages)."""

    async def save_conversation_reference(
        self,
        *,
        workspace_id: str,
        conversation_id: str,
        group_id: str,
        reference: str,
        updated_at: datetime,
    ) -> None:
        """Store or replace where Parley may post into a conversation later
        (``reference``: platform JSON). ``group_id`` is what one installation
        covers: a team, or the conversation itself."""
        ...

    async def get_conversation_reference(
        self, *, workspace_id: str, conversation_id: str
    ) -> str | None: ...

    async def latest_conversation_reference(self, *, workspace_id: str) -> str | None:
        """The most recently refreshed reference of the workspace, any conversation."""
        ...

    async def delete_conversation_references(
        self, *, workspace_id: str, group_id: str | None = None, conversation_id: str | None = None
    ) -> int:
        """Drop the references of a group (app removed) or of one conversation
        (channel deleted); name exactly one. Returns how many were dropped."""
        ...


class Repository(DeadlineStore, AlertOutbox, FeedStore, ConversationStore, Maintenance, Protocol):
    """Every storage port at once: what the composition root holds and hands out."""


class ChatGateway(Protocol):
    """Delivers a message to a platform outside a request (alerts, nudges).

    Raises ``RateLimited``, ``TransientDelivery`` or ``PermanentDelivery``.
    Returns the platform's id for the posted message, when it has one.
    """

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (a test clock waits to be advanced)."""
        ...
