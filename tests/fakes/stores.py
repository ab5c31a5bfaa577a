"""In-memory storage ports, so the service and the dispatcher can be tested without a database.

``MemoryDeadlines`` is a ``DeadlineStore``, ``MemoryOutbox`` the ``AlertOutbox`` and
``MemoryNotices`` the ``NoticeOutbox`` over the same rows (``MemoryNames``, the
``NameStore``, and ``MemoryReplay``, the ``ReplayStore``, stand alone): as in storage, the
outboxes are written with the deadline changes and drained by the dispatcher and
the notice sender. They follow the storage contract (tests/storage) as far as one
process can tell: numbers per channel, every read scoped to its workspace (lookups
by number or title to a channel), a write to another workspace's deadline is
``NotFound``, lists ordered as the SQL orders them, leases on the caller's clock.
``tests/storage/test_memory_stores.py`` holds them to what the SQL stores do.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain import (
    Alert,
    AlertStatus,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    KnownName,
    NameKind,
    NewDeadline,
    Notice,
    Offer,
    Party,
    PlannedAlert,
    PlannedNotice,
    Position,
    PositionRequest,
    negotiation_key,
)
from bot.errors import InvalidInput, NotFound
from bot.escalation import Ladder
from bot.ports import AlertOutbox, Clock, NegotiationStore, NoticeOutbox
from tests.fakes.links import MemoryDeliveries, MemoryLinks


@dataclass(frozen=True)
class SlowWrites:
    """How long each write of one ``MemoryOutbox`` takes, on ``clock``."""

    clock: Clock
    seconds: float


@dataclass
class OutboxRow:
    """One alert as the outbox keeps it."""

    alert: Alert
    not_before: datetime
    lease_until: datetime | None = None  # set while claimed
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_by: str | None = None


@dataclass
class NoticeOutboxRow:
    """One notice as the notice outbox keeps it."""

    notice: Notice
    not_before: datetime
    status: AlertStatus = AlertStatus.PENDING
    lease_until: datetime | None = None
    claimed_by: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = None


class MemoryDeadlines(MemoryLinks):
    """The DeadlineStore, PartyStore, OfferStore, EscalationStore and LinkStore ports in
    memory; ``outbox`` holds the alerts its writes plan."""

    def __init__(self) -> None:
        self.deadlines: dict[int, Deadline] = {}
        self.positions: dict[tuple[int, str], Position] = {}
        self.requests: dict[tuple[int, str], PositionRequest] = {}
        self.events: list[Event] = []
        self.outbox: dict[int, OutboxRow] = {}
        self.notices: dict[int, NoticeOutboxRow] = {}
        self._numbers: dict[str, int] = {}
        self.parties: dict[tuple[str, str, str], Party] = {}  # (workspace, negotiation, key)
        self.expected: dict[int, tuple[str, ...]] = {}
        self.offers: dict[int, list[Offer]] = {}
        self.ladders: dict[int, Ladder] = {}
        self.nudged: dict[int, datetime] = {}
        self.links = {}
        self.codes = {}
        self.deliveries: set[tuple[int, str, str]] = set()
        self._deadline_ids = itertools.count(1)
        self._alert_ids = itertools.count(1)
        self._notice_ids = itertools.count(1)

    def _visible(self, workspace_id: str, deadline_id: int) -> bool:
        found = self.deadlines.get(deadline_id)
        return found is not None and found.workspace_id == workspace_id

    def _check_owned(self, workspace_id: str, deadline_id: int) -> None:
        if not self._visible(workspace_id, deadline_id):
            raise NotFound(f"No deadline with id {deadline_id} in this workspace.")

    def _positions_of(self, deadline_id: int) -> list[Position]:
        found = [p for (of, _), p in self.positions.items() if of == deadline_id]
        return sorted(found, key=lambda p: (p.recorded_at, p.stakeholder))

    def _requests_of(self, deadline_id: int) -> list[PositionRequest]:
        found = [r for (of, _), r in self.requests.items() if of == deadline_id]
        return sorted(found, key=lambda r: (r.asked_at, r.user_id))

    def _plan(self, deadline: Deadline, alerts: Sequence[PlannedAlert]) -> None:
        for planned in alerts:
            alert_id = next(self._alert_ids)
            alert = Alert(
                id=alert_id,
                deadline_id=deadline.id,
                workspace_id=deadline.workspace_id,
                offset=planned.offset,
                due_at=planned.due_at,
                status=AlertStatus.PENDING,
            )
            self.outbox[alert_id] = OutboxRow(alert, not_before=planned.due_at)

    async def create_deadline(
        self, *, draft: NewDeadline, event: Event, alerts: Sequence[PlannedAlert]
    ) -> Deadline:
        key = negotiation_key(draft.workspace_id, draft.channel_id)
        number = self._numbers.get(key, 0) + 1
        self._numbers[key] = number
        deadline = Deadline(
            id=next(self._deadline_ids),
            workspace_id=draft.workspace_id,
            number=number,
            channel_id=draft.channel_id,
            platform=draft.platform,
            title=draft.title,
            due_at=draft.due_at,
            tz=draft.tz,
            owner_id=draft.owner_id,
            status=DeadlineStatus.OPEN,
            reminder_offsets=draft.reminder_offsets,
            created_at=draft.created_at,
            updated_at=draft.created_at,
            uid=secrets.token_hex(16),
            sealed=draft.sealed,
            silence=draft.silence,
        )
        self.deadlines[deadline.id] = deadline
        if draft.expected is not None:
            self.expected[deadline.id] = draft.expected
        self.events.append(replace(event, deadline_id=deadline.id))
        self._plan(deadline, alerts)
        return deadline

    async def get_deadline(
        self, *, workspace_id: str, channel_id: str, number: int
    ) -> Deadline | None:
        found = await self.list_deadlines(workspace_id=workspace_id, channel_id=channel_id)
        return next((d for d in found if d.number == number), None)

    async def get_deadline_by_id(self, *, workspace_id: str, deadline_id: int) -> Deadline | None:
        return self.deadlines[deadline_id] if self._visible(workspace_id, deadline_id) else None

    async def find_deadlines_by_title(
        self, *, workspace_id: str, channel_id: str, prefix: str
    ) -> list[Deadline]:
        wanted = prefix.casefold()
        found = await self.list_deadlines(workspace_id=workspace_id, channel_id=channel_id)
        return [d for d in found if d.title.casefold().startswith(wanted)]

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
        found = await self.list_deadlines(workspace_id=workspace_id, statuses=statuses)
        asked = {of for (of, who) in self.requests if who == user_id}
        return [
            d
            for d in found
            if (user_id in d.owners or d.id in asked)
            and (number is None or d.number == number)
            and (prefix is None or d.title.casefold().startswith(prefix.casefold()))
        ][:limit]

    async def list_deadlines(
        self,
        *,
        workspace_id: str,
        channel_id: str | None = None,
        statuses: frozenset[DeadlineStatus] | None = None,
        limit: int = 1000,
    ) -> list[Deadline]:
        found = [
            d
            for d in self.deadlines.values()
            if d.workspace_id == workspace_id
            and (channel_id is None or d.channel_id == channel_id)
            and (statuses is None or d.status in statuses)
        ]
        return sorted(found, key=lambda d: (d.due_at, d.number))[:limit]

    def _tell(self, deadline: Deadline, planned: PlannedNotice) -> None:
        change = planned.change
        gathering = {
            row.notice.user_id: row
            for row in sorted(self.notices.values(), key=lambda row: -row.notice.id)
            if row.notice.deadline_id == deadline.id
            and row.status is AlertStatus.PENDING
            and row.lease_until is None
            and row.notice.due_at > change.at
        }
        for user_id in dict.fromkeys(planned.user_ids):
            row = gathering.get(user_id)
            if row is not None:
                row.notice = replace(row.notice, changes=(*row.notice.changes, change))
                continue
            notice = Notice(
                id=next(self._notice_ids),
                workspace_id=deadline.workspace_id,
                deadline_id=deadline.id,
                user_id=user_id,
                changes=(change,),
                due_at=planned.due_at,
            )
            self.notices[notice.id] = NoticeOutboxRow(notice, not_before=planned.due_at)

    async def update_deadline(
        self,
        *,
        deadline: Deadline,
        event: Event,
        alerts: Sequence[PlannedAlert] | None,
        notice: PlannedNotice | None = None,
    ) -> Deadline:
        stored = self.deadlines.get(deadline.id)
        if stored is None or stored.workspace_id != deadline.workspace_id:
            raise NotFound(f"No deadline {deadline.ref} in this workspace.")
        saved = replace(
            stored,
            due_at=deadline.due_at,
            tz=deadline.tz,
            status=deadline.status,
            reminder_offsets=deadline.reminder_offsets,
            updated_at=deadline.updated_at,
            sequence=stored.sequence + 1,
            sealed=stored.sealed or deadline.sealed,
            silence=deadline.silence,
            settled_at=stored.settled_at or deadline.settled_at,
        )
        self.deadlines[saved.id] = saved
        self.events.append(replace(event, deadline_id=saved.id))
        if alerts is not None:
            for alert_id, row in list(self.outbox.items()):
                if row.alert.deadline_id == saved.id and row.alert.status is AlertStatus.PENDING:
                    del self.outbox[alert_id]
            self._plan(saved, alerts)
        if notice is not None:
            self._tell(saved, notice)
        return saved

    async def update_owners(
        self, *, deadline: Deadline, previous: Sequence[str], event: Event
    ) -> Deadline:
        stored = self.deadlines.get(deadline.id)
        if stored is None or stored.workspace_id != deadline.workspace_id:
            raise NotFound(f"No deadline {deadline.ref} in this workspace.")
        if stored.owners != tuple(previous):
            raise InvalidInput(f"The owners of {deadline.ref} changed meanwhile; try again.")
        saved = replace(
            stored,
            owner_id=deadline.owners[0],
            owners=deadline.owners,
            updated_at=deadline.updated_at,
            sequence=stored.sequence + 1,
        )
        self.deadlines[saved.id] = saved
        self.events.append(replace(event, deadline_id=saved.id))
        return saved

    async def list_parties(self, *, workspace_id: str, negotiation: str) -> list[Party]:
        found = [
            party
            for (ws, key, _), party in self.parties.items()
            if ws == workspace_id and key == negotiation
        ]
        return sorted(found, key=lambda party: (party.declared_at, party.key))

    async def save_party(self, *, workspace_id: str, party: Party) -> None:
        slot = (workspace_id, party.negotiation, party.key)
        kept = self.parties.get(slot)
        self.parties[slot] = party if kept is None else replace(kept, reps=party.reps)

    async def delete_party(self, *, workspace_id: str, negotiation: str, key: str) -> None:
        self.parties.pop((workspace_id, negotiation, key), None)

    async def get_expected(self, *, workspace_id: str, deadline_id: int) -> tuple[str, ...] | None:
        found = self.deadlines.get(deadline_id)
        if found is None or found.workspace_id != workspace_id:
            return None
        return self.expected.get(deadline_id)

    async def set_expected(
        self, *, workspace_id: str, deadline_id: int, keys: tuple[str, ...] | None, event: Event
    ) -> None:
        self._check_owned(workspace_id, deadline_id)
        if keys is None:
            self.expected.pop(deadline_id, None)
        else:
            self.expected[deadline_id] = keys
        self.events.append(replace(event, deadline_id=deadline_id))

    async def get_ladders(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> dict[int, Ladder]:
        return {
            i: self.ladders[i]
            for i in deadline_ids
            if i in self.ladders and self._visible(workspace_id, i)
        }

    async def set_ladder(
        self,
        *,
        deadline: Deadline,
        ladder: Ladder | None,
        event: Event,
        alerts: Sequence[PlannedAlert],
    ) -> None:
        self._check_owned(deadline.workspace_id, deadline.id)
        if ladder is None:
            self.ladders.pop(deadline.id, None)
        else:
            self.ladders[deadline.id] = ladder
        self.events.append(replace(event, deadline_id=deadline.id))
        for alert_id, row in list(self.outbox.items()):
            if row.alert.deadline_id == deadline.id and row.alert.status is AlertStatus.PENDING:
                del self.outbox[alert_id]
        self._plan(deadline, alerts)

    async def claim_nudge(
        self,
        *,
        workspace_id: str,
        deadline_id: int,
        now: datetime,
        not_before: datetime,
        event: Event,
    ) -> datetime | None:
        self._check_owned(workspace_id, deadline_id)
        last = self.nudged.get(deadline_id)
        if last is not None and last > not_before:
            return last
        self.nudged[deadline_id] = now
        self.events.append(replace(event, deadline_id=deadline_id))
        return None

    async def list_offers(self, *, workspace_id: str, deadline_id: int) -> list[Offer]:
        found = self.deadlines.get(deadline_id)
        if found is None or found.workspace_id != workspace_id:
            return []
        return list(self.offers.get(deadline_id, []))

    async def record_offer(
        self,
        *,
        workspace_id: str,
        offer: Offer,
        event: Event,
        notice: PlannedNotice | None = None,
    ) -> Offer:
        self._check_owned(workspace_id, offer.deadline_id)
        versions = self.offers.setdefault(offer.deadline_id, [])
        stored = replace(offer, version=len(versions) + 1)
        versions.append(stored)
        self.events.append(replace(event, data={**event.data, "version": stored.version}))
        if notice is not None:
            self._tell(self.deadlines[offer.deadline_id], notice)
        return stored

    async def settle_deadline(
        self,
        *,
        deadline: Deadline,
        at: datetime,
        positions: Sequence[Position],
        events: Sequence[Event],
    ) -> bool:
        self._check_owned(deadline.workspace_id, deadline.id)
        stored = self.deadlines[deadline.id]
        if stored.settled_at is not None:
            return False
        self.deadlines[deadline.id] = replace(
            stored, settled_at=at, updated_at=at, sequence=stored.sequence + 1
        )
        for position in positions:
            self.positions.setdefault((position.deadline_id, position.stakeholder), position)
        self.events.extend(replace(event, deadline_id=deadline.id) for event in events)
        return True

    async def extend_by_silence(
        self,
        *,
        deadline: Deadline,
        previous_due: datetime,
        event: Event,
        alerts: Sequence[PlannedAlert],
        keep_alert_ids: Sequence[int],
    ) -> bool:
        self._check_owned(deadline.workspace_id, deadline.id)
        stored = self.deadlines[deadline.id]
        if (
            stored.due_at != previous_due
            or stored.status is not DeadlineStatus.OPEN
            or stored.settled_at is not None
            or stored.silence_extended
        ):
            return False
        saved = replace(
            stored,
            due_at=deadline.due_at,
            silence_extended=True,
            updated_at=deadline.updated_at,
            sequence=stored.sequence + 1,
        )
        self.deadlines[saved.id] = saved
        self.events.append(replace(event, deadline_id=saved.id))
        for alert_id, row in list(self.outbox.items()):
            if (
                row.alert.deadline_id == saved.id
                and row.alert.status is AlertStatus.PENDING
                and alert_id not in keep_alert_ids
            ):
                del self.outbox[alert_id]
        self._plan(saved, alerts)
        return True

    async def record_position(self, *, workspace_id: str, position: Position, event: Event) -> None:
        self._check_owned(workspace_id, position.deadline_id)
        self.positions[position.deadline_id, position.stakeholder] = position
        self.events.append(replace(event, deadline_id=position.deadline_id))
        asked = self.requests.get((position.deadline_id, position.stakeholder))
        if asked is not None and asked.answered_at is None:
            self.requests[position.deadline_id, position.stakeholder] = replace(
                asked, answered_at=position.recorded_at
            )

    async def list_positions(self, *, workspace_id: str, deadline_id: int) -> list[Position]:
        return self._positions_of(deadline_id) if self._visible(workspace_id, deadline_id) else []

    async def add_position_requests(
        self, *, workspace_id: str, requests: Sequence[PositionRequest], event: Event
    ) -> None:
        for deadline_id in {r.deadline_id for r in requests} | {event.deadline_id}:
            self._check_owned(workspace_id, deadline_id)
        for request in requests:
            self.requests.setdefault((request.deadline_id, request.user_id), request)
        self.events.append(event)

    async def list_position_requests(
        self, *, workspace_id: str, deadline_id: int
    ) -> list[PositionRequest]:
        return self._requests_of(deadline_id) if self._visible(workspace_id, deadline_id) else []

    async def list_events(self, *, workspace_id: str, deadline_id: int) -> list[Event]:
        if not self._visible(workspace_id, deadline_id):
            return []
        return [e for e in self.events if e.deadline_id == deadline_id]

    async def load_deadline_states(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[DeadlineState]:
        return [
            DeadlineState(
                self.deadlines[deadline_id],
                tuple(self._positions_of(deadline_id)),
                tuple(self._requests_of(deadline_id)),
            )
            for deadline_id in sorted(set(deadline_ids))
            if self._visible(workspace_id, deadline_id)
        ]


class MemoryOutbox(MemoryDeliveries):
    """The AlertOutbox port over ``MemoryDeadlines.outbox``. Each instance is one
    claimer, as each SQL store is: two over the same ``MemoryDeadlines`` are two
    replicas sharing one database.

    ``slow_writes`` plays a replica whose writes wait (on its clock) before they
    apply, as on a host under CPU load; leases still count from the ``now`` the
    caller passed, as PostgreSQL's count from the start of their transaction.

    Ids of alerts that are gone (a deadline change replaced its pending alerts
    while they were out) are passed over, as the SQL statements pass them over.
    """

    _claimers = itertools.count(1)

    def __init__(
        self, deadlines: MemoryDeadlines, *, slow_writes: SlowWrites | None = None
    ) -> None:
        self.rows = deadlines.outbox
        self.deliveries = deadlines.deliveries
        self._claimer = f"memory-{next(self._claimers)}"
        self._slow_writes = slow_writes

    async def _write(self) -> None:
        if self._slow_writes is not None:
            await self._slow_writes.clock.sleep(self._slow_writes.seconds)

    def statuses(self) -> list[AlertStatus]:
        """Every alert's status, in the order the alerts were planned."""
        return [row.alert.status for _, row in sorted(self.rows.items())]

    def _pending(self, alert_ids: Sequence[int] | None = None) -> list[OutboxRow]:
        ids = self.rows if alert_ids is None else dict.fromkeys(alert_ids)  # each id once
        rows = map(self.rows.get, ids)
        return [row for row in rows if row is not None and row.alert.status is AlertStatus.PENDING]

    async def next_alert_due(self) -> datetime | None:
        return min(
            (
                row.lease_until
                if row.lease_until is not None and row.lease_until > row.not_before
                else row.not_before
                for row in self._pending()
            ),
            default=None,
        )

    async def claim_due_alerts(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Alert]:
        await self._write()
        free = [
            row
            for row in self._pending()
            if row.not_before <= now and (row.lease_until is None or row.lease_until <= now)
        ]
        claimed = sorted(free, key=lambda row: (row.not_before, row.alert.id))[:limit]
        for row in claimed:
            row.lease_until, row.claimed_by = now + timedelta(seconds=lease_seconds), self._claimer
        return sorted((row.alert for row in claimed), key=lambda a: (a.due_at, a.id))

    async def mark_alerts_sent(self, *, alert_ids: Sequence[int], sent_at: datetime) -> None:
        await self._write()
        for row in filter(None, map(self.rows.get, alert_ids)):
            row.alert = replace(row.alert, status=AlertStatus.SENT)
            row.sent_at, row.lease_until, row.claimed_by = sent_at, None, None

    async def renew_leases(
        self, *, alert_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        await self._write()
        held = [row for row in self._pending(alert_ids) if row.claimed_by == self._claimer]
        for row in held:
            row.lease_until = now + timedelta(seconds=lease_seconds)
        return sorted(row.alert.id for row in held)

    async def mark_alert_failed(self, *, alert_id: int, error: str) -> None:
        await self._write()
        for row in filter(None, [self.rows.get(alert_id)]):
            attempts = row.alert.attempts + 1
            row.alert = replace(row.alert, status=AlertStatus.FAILED, attempts=attempts)
            row.last_error, row.lease_until, row.claimed_by = error, None, None

    async def release_alert(self, *, alert_id: int, retry_at: datetime, error: str) -> None:
        await self._write()
        for row in self._pending([alert_id]):
            row.alert = replace(row.alert, attempts=row.alert.attempts + 1)
            row.not_before, row.last_error = retry_at, error
            row.lease_until, row.claimed_by = None, None

    async def release_leases(self, *, alert_ids: Sequence[int]) -> None:
        await self._write()
        for row in self._pending(alert_ids):
            if row.claimed_by == self._claimer:
                row.lease_until, row.claimed_by = None, None

    async def count_due_alerts(self, *, now: datetime) -> int:
        return sum(1 for row in self._pending() if row.not_before <= now)


class MemoryNotices:
    """The NoticeOutbox port over ``MemoryDeadlines.notices``: one process, one claimer."""

    def __init__(self, deadlines: MemoryDeadlines) -> None:
        self.rows = deadlines.notices

    def _pending(self, notice_ids: Sequence[int] | None = None) -> list[NoticeOutboxRow]:
        ids = self.rows if notice_ids is None else dict.fromkeys(notice_ids)
        rows = map(self.rows.get, ids)
        return [row for row in rows if row is not None and row.status is AlertStatus.PENDING]

    async def next_notice_due(self) -> datetime | None:
        return min(
            (
                row.lease_until
                if row.lease_until is not None and row.lease_until > row.not_before
                else row.not_before
                for row in self._pending()
            ),
            default=None,
        )

    async def claim_due_notices(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Notice]:
        free = [
            row
            for row in self._pending()
            if row.not_before <= now and (row.lease_until is None or row.lease_until <= now)
        ]
        claimed = sorted(free, key=lambda row: (row.not_before, row.notice.id))[:limit]
        for row in claimed:
            row.lease_until = now + timedelta(seconds=lease_seconds)
        return sorted((row.notice for row in claimed), key=lambda n: (n.due_at, n.id))

    async def renew_notice_leases(
        self, *, notice_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        held = [row for row in self._pending(notice_ids) if row.lease_until is not None]
        for row in held:
            row.lease_until = now + timedelta(seconds=lease_seconds)
        return sorted(row.notice.id for row in held)

    async def mark_notice_sent(self, *, notice_id: int, sent_at: datetime) -> None:
        for row in filter(None, [self.rows.get(notice_id)]):
            row.status, row.sent_at, row.lease_until = AlertStatus.SENT, sent_at, None

    async def mark_notice_failed(self, *, notice_id: int, error: str) -> None:
        for row in filter(None, [self.rows.get(notice_id)]):
            row.notice = replace(row.notice, attempts=row.notice.attempts + 1)
            row.status, row.last_error, row.lease_until = AlertStatus.FAILED, error, None

    async def release_notice(self, *, notice_id: int, retry_at: datetime, error: str) -> None:
        for row in self._pending([notice_id]):
            row.notice = replace(row.notice, attempts=row.notice.attempts + 1)
            row.not_before, row.last_error, row.lease_until = retry_at, error, None

    async def release_notice_leases(self, *, notice_ids: Sequence[int]) -> None:
        for row in self._pending(notice_ids):
            row.lease_until = None


_deadline_store: type[NegotiationStore] = MemoryDeadlines
_alert_outbox: type[AlertOutbox] = MemoryOutbox
_notice_outbox: type[NoticeOutbox] = MemoryNotices


class MemoryNames:
    """The NameStore port in memory (``tests/storage`` holds it to the SQL store)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, NameKind, str], KnownName] = {}
        self.saves = 0  # how many save_names calls wrote something

    async def save_names(self, *, names: Sequence[KnownName]) -> None:
        if names:
            self.saves += 1
        for known in names:
            self.rows[known.workspace_id, known.kind, known.subject_id] = known

    async def find_names(
        self, *, workspace_id: str, kind: NameKind, subject_ids: Sequence[str]
    ) -> dict[str, str]:
        return {
            subject: known.name
            for subject in subject_ids
            if (known := self.rows.get((workspace_id, kind, subject))) is not None
        }

    async def names_marker(self, *, workspace_id: str) -> str:
        mine = [known for key, known in self.rows.items() if key[0] == workspace_id]
        newest = max((known.refreshed_at for known in mine), default=None)
        return f"{newest.isoformat() if newest is not None else '-'}/{len(mine)}"


class MemoryReplay:
    """The ReplayStore port in memory: keys claimed until they expire, and secrets.

    It has no transactions, so a command's keys are claimed when it ends
    (``bot.once``), not with its writes."""

    def __init__(self) -> None:
        self._keys: dict[str, datetime] = {}
        self._secrets: dict[str, str] = {}

    async def claim_replay_key(self, *, key: str, now: datetime, expires_at: datetime) -> bool:
        if key in self._keys and self._keys[key] > now:
            return False
        self._keys[key] = expires_at
        return True

    async def release_replay_key(self, *, key: str) -> None:
        self._keys.pop(key, None)

    async def prune_replay_keys(self, *, now: datetime) -> int:
        expired = [key for key, expiry in self._keys.items() if expiry <= now]
        for key in expired:
            del self._keys[key]
        return len(expired)

    async def deployment_secret(self, *, name: str, create: str, now: datetime) -> str:
        return self._secrets.setdefault(name, create)
