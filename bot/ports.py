"""The ports the core needs from the outside world: storage, chat delivery and time.

Adapters and ``storage/`` implement these Protocols; the core only ever sees them.

Storage is one port per consumer, so each part takes only what it uses:

- ``DeadlineStore``: deadlines, positions, requests and history (the use cases);
- ``PartyStore``: the parties of each negotiation, and who a deadline expects;
- ``OfferStore``: the offer versions on each deadline;
- ``EscalationStore``: each deadline's escalation ladder and its last manual nudge;
- ``AlertOutbox``: the alert outbox (the dispatcher, which also reads and marks
  deadlines through a ``DeadlineStore``);
- ``NoticeOutbox``: the direct messages that tell people of changes (``bot.notices``);
- ``FeedStore``: calendar feed and brief tokens, what feeds show (``bot.feeds``),
  and the alerts a brief lists (``bot.brief``);
- ``ConversationStore``: where a platform lets Parley post later (Teams);
- ``NameStore``: people's and conversations' names, as their platforms gave them
  (``bot.names``);
- ``ReplayStore``: requests and buttons already handled (``bot.once``), and
  the deployment's secrets;
- ``Installations``: the Slack workspaces Parley is installed in, their bot
  tokens, and the OAuth install flow's one-time states (the Slack adapter);
- ``Maintenance``: export, import and the readiness ping.

``Repository`` is all of them at once: what the composition root holds.

Every storage call is scoped to one workspace, except where a port says why not:
no query crosses workspaces. Each mutating call is one transaction: it either
writes everything it names (row, history event, alert and notice outbox changes)
or nothing. A mutating call made by a command that carries idempotency keys
(``bot.once``) claims them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.channel_links import LinkStore
from bot.directory import ConversationStore as ConversationStore
from bot.directory import NameStore as NameStore
from bot.domain import (
    Alert,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    FeedScope,
    FeedToken,
    NewDeadline,
    Notice,
    Offer,
    Party,
    PlannedAlert,
    PlannedNotice,
    Position,
    PositionRequest,
    SentAlert,
    SlackBot,
    SlackInstallation,
)
from bot.escalation import Ladder
from bot.messages import Message


class DeadlineStore(Protocol):
    """Deadlines with their positions, position requests and history.

    Lookups by number or title stay in one channel; only a lookup by id, and
    ``find_deadlines_of_person``, reach across the workspace's channels (the
    service decides who may use them for what).
    """

    async def create_deadline(
        self, *, draft: NewDeadline, event: Event, alerts: Sequence[PlannedAlert]
    ) -> Deadline:
        """Store a deadline with the next number of its negotiation (its channel),
        a random uid, ``draft.owner_id`` as its one owner, its CREATED event
        (``event.deadline_id`` is filled in) and its alerts."""
        ...

    async def get_deadline(
        self, *, workspace_id: str, channel_id: str, number: int
    ) -> Deadline | None: ...

    async def get_deadline_by_id(
        self, *, workspace_id: str, deadline_id: int
    ) -> Deadline | None: ...

    async def find_deadlines_by_title(
        self, *, workspace_id: str, channel_id: str, prefix: str
    ) -> list[Deadline]:
        """The channel's deadlines whose title starts with ``prefix``, case-insensitively,
        ordered by due time (then number)."""
        ...

    async def find_deadlines_of_person(
        self,
        *,
        workspace_id: str,
        user_id: str,
        number: int | None = None,
        prefix: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]:
        """The deadlines, in any channel of the workspace, that ``user_id`` owns or
        was asked a position on; only those numbered ``number`` and those whose
        title starts with ``prefix`` when given. Ordered by due time, then number."""
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
        self,
        *,
        deadline: Deadline,
        event: Event,
        alerts: Sequence[PlannedAlert] | None,
        notice: PlannedNotice | None = None,
    ) -> Deadline:
        """Write ``deadline``'s mutable fields (due_at, tz, status, reminder_offsets,
        updated_at, silence; sealed and settled_at only from unset to set), raise its
        sequence by one, append ``event``. When ``alerts`` is
        not None, replace the deadline's pending alerts with them (empty: drop all).
        A ``notice`` goes to the notice outbox (see ``NoticeOutbox``)."""
        ...

    async def update_owners(
        self, *, deadline: Deadline, previous: Sequence[str], event: Event
    ) -> Deadline:
        """Write ``deadline.owners`` (its first becomes ``owner_id``), raise the
        sequence, append ``event``, if the stored owners are still ``previous``;
        otherwise change nothing and raise ``InvalidInput`` (try again)."""
        ...

    async def settle_deadline(
        self,
        *,
        deadline: Deadline,
        at: datetime,
        positions: Sequence[Position],
        events: Sequence[Event],
    ) -> bool:
        """Settle the deadline once: if it is not settled yet, set ``settled_at`` to ``at``,
        add ``positions`` (the silence positions: a stakeholder who has one by now keeps
        it) and append ``events``, in one transaction; False (nothing written) if it
        was settled already."""
        ...

    async def extend_by_silence(
        self,
        *,
        deadline: Deadline,
        previous_due: datetime,
        event: Event,
        alerts: Sequence[PlannedAlert],
        keep_alert_ids: Sequence[int],
    ) -> bool:
        """The silence rule's one extension: if the stored deadline is open, unsettled,
        not extended by silence yet and still due at ``previous_due``, move it to
        ``deadline.due_at``, mark it extended, append ``event``, and replace its pending
        alerts but ``keep_alert_ids`` (the claimed alert announcing it) with ``alerts``.
        False (nothing written) otherwise."""
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


class PartyStore(Protocol):
    """The parties declared in each negotiation, and which of them a deadline expects.

    A deadline without an explicit expectation expects the parties declared at
    or before its creation (``bot.negotiation``).
    """

    async def list_parties(self, *, workspace_id: str, negotiation: str) -> list[Party]:
        """The negotiation's parties in the order they were declared."""
        ...

    async def save_party(self, *, workspace_id: str, party: Party) -> None:
        """Store ``party``, replacing the one with the same key (name, case-insensitively)."""
        ...

    async def delete_party(self, *, workspace_id: str, negotiation: str, key: str) -> None: ...

    async def get_expected(self, *, workspace_id: str, deadline_id: int) -> tuple[str, ...] | None:
        """The party keys ``/deadline expect`` set on the deadline; ``None``: the default."""
        ...

    async def set_expected(
        self, *, workspace_id: str, deadline_id: int, keys: tuple[str, ...] | None, event: Event
    ) -> None:
        """Set (``None``: drop) the deadline's expected party keys, appending ``event``."""
        ...


class OfferStore(Protocol):
    """The offer versions recorded on each deadline (O1, O2, ...)."""

    async def list_offers(self, *, workspace_id: str, deadline_id: int) -> list[Offer]:
        """The deadline's offers, oldest (O1) first."""
        ...

    async def record_offer(
        self,
        *,
        workspace_id: str,
        offer: Offer,
        event: Event,
        notice: PlannedNotice | None = None,
    ) -> Offer:
        """Store ``offer`` as the deadline's next version (its ``version`` is ignored),
        append ``event`` with that version in its data, and return the offer stored. A
        ``notice`` goes to the notice outbox (see ``NoticeOutbox``) in the same write."""
        ...


class EscalationStore(Protocol):
    """Each deadline's escalation ladder (``bot.escalation``), and when it was last
    nudged by hand. A deadline without a ladder keeps the built-in nudges."""

    async def get_ladders(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> dict[int, Ladder]:
        """The ladders of those of the deadlines that have one, by deadline id (one query)."""
        ...

    async def set_ladder(
        self,
        *,
        deadline: Deadline,
        ladder: Ladder | None,
        event: Event,
        alerts: Sequence[PlannedAlert],
    ) -> None:
        """Set (``None``: drop) the deadline's ladder, append ``event`` and replace its
        pending alerts with ``alerts``, in one transaction."""
        ...

    async def claim_nudge(
        self,
        *,
        workspace_id: str,
        deadline_id: int,
        now: datetime,
        not_before: datetime,
        event: Event,
    ) -> datetime | None:
        """Record a manual nudge at ``now`` (and ``event`` in the history, in the same
        transaction) unless one was recorded after ``not_before``: ``None`` when recorded,
        else that earlier nudge's instant (of two concurrent calls on any replicas, at most
        one records)."""
        ...


class NegotiationStore(DeadlineStore, PartyStore, OfferStore, EscalationStore, LinkStore, Protocol):
    """What the use cases read and write: deadlines, the negotiation's parties, offers,
    escalation ladders and linked channels (``bot.channel_links``)."""


class EscalationSources(EscalationStore, PartyStore, Protocol):
    """What the dispatcher reads to escalate: ladders, and the parties to tell who is silent."""


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

    async def delivered_to(self, *, alert_ids: Sequence[int]) -> set[tuple[str, str]]:
        """The (workspace, channel) pairs of a linked set these alerts were posted to."""
        ...

    async def record_delivery(
        self, *, alert_ids: Sequence[int], workspace_id: str, channel_id: str, at: datetime
    ) -> None:
        """Record these alerts posted to one channel of a linked set (per alert, channel)."""
        ...


class NoticeOutbox(Protocol):
    """The notice outbox: one direct message per person and deadline, gathering the
    changes made within a minute of the first (DESIGN.md, "Telling the asked").

    Rows are written with the change they tell (``DeadlineStore.update_deadline``'s
    ``notice``): a change joins each named person's pending notice on the deadline
    that is neither claimed nor due by the change's instant; anyone else gets a new
    notice, due at ``PlannedNotice.due_at``. Like ``AlertOutbox``, the sender serves
    every workspace, and each ``Notice`` says which one it belongs to.
    """

    async def next_notice_due(self) -> datetime | None:
        """The earliest instant a pending notice can be claimed, across workspaces."""
        ...

    async def claim_due_notices(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Notice]:
        """Claim pending notices due at or before ``now`` whose lease is free or
        expired, setting a lease; commit before returning. Oldest first."""
        ...

    async def renew_notice_leases(
        self, *, notice_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        """Extend this process's leases on claimed, unsent notices; the ids still held."""
        ...

    async def mark_notice_sent(self, *, notice_id: int, sent_at: datetime) -> None: ...

    async def mark_notice_failed(self, *, notice_id: int, error: str) -> None: ...

    async def release_notice(self, *, notice_id: int, retry_at: datetime, error: str) -> None:
        """Give a claimed notice back to be retried at ``retry_at`` (attempts + 1)."""
        ...

    async def release_notice_leases(self, *, notice_ids: Sequence[int]) -> None:
        """Give back this process's claims on still-pending notices, untouched otherwise."""
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
        """The deadlines a feed shows, with their positions, position requests and
        offers, ordered by due time then number: every deadline of the scope except
        those cancelled before ``cancelled_since``."""
        ...

    async def get_feed_item(self, *, uid: str) -> DeadlineState | None:
        """One deadline by its uid (in any workspace), with positions, requests and offers."""
        ...

    async def event_link_secret(
        self, *, workspace_id: str, channel_id: str, create: str | None = None, now: datetime
    ) -> str | None:
        """The secret that signs the channel's "Add to calendar" links; when there is
        none yet, ``create`` is stored (whichever replica stores one first wins)."""
        ...

    async def drop_event_link_secret(self, *, workspace_id: str, channel_id: str) -> None:
        """Forget the channel's link secret: every link signed with it stops working."""
        ...

    async def list_sent_alerts(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[SentAlert]:
        """The alerts sent for these deadlines (a brief's timeline), oldest first."""
        ...


class ReplayStore(Protocol):
    """Requests and buttons already handled, shared by the replicas of one database
    (``bot.once``), and the deployment's secrets."""

    async def claim_replay_key(self, *, key: str, now: datetime, expires_at: datetime) -> bool:
        """Store ``key`` until ``expires_at`` unless a copy that has not expired by
        ``now`` is there; True when this call stored it (the request may run)."""
        ...

    async def release_replay_key(self, *, key: str) -> None:
        """Forget ``key``: what it named failed, and may run when it comes again."""
        ...

    async def prune_replay_keys(self, *, now: datetime) -> int:
        """Delete the keys that expired before ``now``; return how many."""
        ...

    async def deployment_secret(self, *, name: str, create: str, now: datetime) -> str:
        """The deployment's secret called ``name``; when there is none yet, ``create``
        is stored (whichever replica stores one first wins). Never exported."""
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


class Installations(Protocol):
    """The Slack workspaces (and Enterprise Grid orgs) Parley is installed in.

    A workspace is named by Slack's own ids, ``enterprise_id`` and ``team_id``
    together (either may be ``None``: no Grid org; an org-wide install), not by
    a Parley workspace id: a request is authorized before Parley knows one. It
    has at most one bot, the latest saved, and one installation per installer.
    Bot and user tokens are secrets: they are not part of an export.
    """

    async def save_slack_installation(self, *, installation: SlackInstallation) -> None:
        """Store an install, replacing the same installer's earlier one; when it
        carries a bot token, its bot becomes the workspace's bot. One transaction."""
        ...

    async def save_slack_bot(self, *, bot: SlackBot) -> None:
        """Make ``bot`` the workspace's bot (a token rotation saves the new token)."""
        ...

    async def find_slack_bot(
        self, *, enterprise_id: str | None, team_id: str | None
    ) -> SlackBot | None: ...

    async def find_slack_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> SlackInstallation | None:
        """The installer's install, or without ``user_id`` the workspace's latest;
        its bot fields are the workspace's current bot (``None`` when it has none)."""
        ...

    async def delete_slack_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot and its token (``tokens_revoked``, uninstall)."""
        ...

    async def delete_slack_installations(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget the installer's install, or without ``user_id`` every install of
        the workspace (``app_uninstalled``). The bot is left to ``delete_slack_bot``."""
        ...

    async def issue_oauth_state(self, *, state: str, expires_at: datetime, now: datetime) -> None:
        """Remember an OAuth install's one-time ``state`` until ``expires_at``;
        states expired by ``now`` are dropped."""
        ...

    async def consume_oauth_state(self, *, state: str, now: datetime) -> bool:
        """Whether ``state`` was issued and has not expired by ``now``; either way it
        cannot be consumed again (of two concurrent calls, one gets True)."""
        ...


class Repository(
    DeadlineStore,
    PartyStore,
    OfferStore,
    EscalationStore,
    LinkStore,
    AlertOutbox,
    NoticeOutbox,
    FeedStore,
    ConversationStore,
    NameStore,
    ReplayStore,
    Installations,
    Maintenance,
    Protocol,
):
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
