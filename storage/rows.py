"""Rows to domain values and back.

Reads build the frozen dataclasses of ``bot.domain`` straight from Core rows:
no ORM session, no model objects (the hot path runs on every Slack request).
Each ``*_COLUMNS`` tuple is what its ``*_from_row`` function unpacks, in order.

The table handles keep the short names the statements are written with:
``D`` deadline, ``C`` negotiation_counter, ``P`` position, ``R`` position_request,
``E`` event, ``A`` alert, ``PT`` party, ``X`` expectation, ``OF`` offer, ``FT`` feed_token,
``CR`` conversation_reference, ``CL`` channel_link, ``LC`` link_code, ``AD`` alert_delivery.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlmodel import SQLModel

from bot.domain import (
    Alert,
    AlertStatus,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Event,
    EventKind,
    FeedKind,
    FeedScope,
    FeedToken,
    Offer,
    PlannedAlert,
    Position,
    PositionRequest,
    SilenceRule,
    Stance,
)
from storage.tables import (
    AlertDeliveryRow,
    AlertRow,
    ChannelLinkRow,
    ConversationReferenceRow,
    DeadlineRow,
    EscalationRow,
    EventRow,
    ExpectationRow,
    FeedTokenRow,
    LinkCodeRow,
    NegotiationCounterRow,
    OfferRow,
    PartyRow,
    PositionRequestRow,
    PositionRow,
)


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


D = _table(DeadlineRow)
C = _table(NegotiationCounterRow)
P = _table(PositionRow)
R = _table(PositionRequestRow)
E = _table(EventRow)
PT = _table(PartyRow)
X = _table(ExpectationRow)
OF = _table(OfferRow)
L = _table(EscalationRow)
A = _table(AlertRow)
FT = _table(FeedTokenRow)
CR = _table(ConversationReferenceRow)
CL = _table(ChannelLinkRow)
LC = _table(LinkCodeRow)
AD = _table(AlertDeliveryRow)


def offsets_to_text(offsets: Iterable[timedelta]) -> str:
    return ",".join(str(int(offset.total_seconds())) for offset in offsets)


@functools.lru_cache(maxsize=256)  # a handful of distinct reminder sets, read on every row
def offsets_from_text(value: str) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=int(part)) for part in value.split(",") if part)


def owners_to_text(owners: Iterable[str]) -> str:
    return json.dumps(list(owners), separators=(",", ":"))


@functools.lru_cache(maxsize=1024)  # most deadlines have one owner or a few
def owners_from_text(value: str) -> tuple[str, ...]:
    return tuple(str(owner) for owner in json.loads(value))


DEADLINE_COLUMNS = (
    D.c.id,
    D.c.workspace_id,
    D.c.number,
    D.c.channel_id,
    D.c.platform,
    D.c.title,
    D.c.due_at,
    D.c.tz,
    D.c.owner_id,
    D.c.status,
    D.c.reminder_offsets,
    D.c.created_at,
    D.c.updated_at,
    D.c.sequence,
    D.c.uid,
    D.c.owners,
    D.c.sealed,
    D.c.silence_rule,
    D.c.silence_extended,
    D.c.settled_at,
)


@functools.lru_cache(maxsize=64)  # a handful of distinct rules
def silence_from_text(value: str) -> SilenceRule:
    return SilenceRule.from_text(value)


def deadline_from_row(row: Sequence[Any]) -> Deadline:
    (id_, ws, number, channel, platform, title, due_at, tz, owner, status, offsets, created,
     updated, sequence, uid, owners, sealed, silence, extended, settled) = row  # fmt: skip
    return Deadline(
        id=id_,
        workspace_id=ws,
        number=number,
        channel_id=channel,
        platform=platform,
        title=title,
        due_at=due_at,
        tz=tz,
        owner_id=owner,
        status=DeadlineStatus(status),
        reminder_offsets=offsets_from_text(offsets),
        created_at=created,
        updated_at=updated,
        sequence=sequence,
        uid=uid,
        owners=owners_from_text(owners),
        sealed=bool(sealed),
        silence=silence_from_text(silence),
        silence_extended=bool(extended),
        settled_at=settled,
    )


POSITION_COLUMNS = (
    P.c.deadline_id,
    P.c.stakeholder,
    P.c.label,
    P.c.stance,
    P.c.terms,
    P.c.recorded_by,
    P.c.recorded_at,
    P.c.offer_version,
    P.c.salt,
    P.c.commitment,
    P.c.by_silence,
)


def position_from_row(row: Sequence[Any]) -> Position:
    (deadline_id, stakeholder, label, stance, terms, recorded_by, recorded_at, offer, salt,
     commitment, by_silence) = row  # fmt: skip
    return Position(
        deadline_id=deadline_id,
        stakeholder=stakeholder,
        label=label,
        stance=Stance(stance),
        terms=terms,
        recorded_by=recorded_by,
        recorded_at=recorded_at,
        offer=offer,
        salt=salt,
        commitment=commitment,
        by_silence=bool(by_silence),
    )


def position_values(workspace_id: str, position: Position) -> dict[str, Any]:
    return {
        "deadline_id": position.deadline_id,
        "stakeholder": position.stakeholder,
        "workspace_id": workspace_id,
        "label": position.label,
        "stance": position.stance.value,
        "terms": position.terms,
        "recorded_by": position.recorded_by,
        "recorded_at": position.recorded_at,
        "offer_version": position.offer,
        "salt": position.salt,
        "commitment": position.commitment,
        "by_silence": position.by_silence,
    }


REQUEST_COLUMNS = (R.c.deadline_id, R.c.user_id, R.c.asked_by, R.c.asked_at, R.c.answered_at)


def request_from_row(row: Sequence[Any]) -> PositionRequest:
    deadline_id, user_id, asked_by, asked_at, answered_at = row
    return PositionRequest(
        deadline_id=deadline_id,
        user_id=user_id,
        asked_by=asked_by,
        asked_at=asked_at,
        answered_at=answered_at,
    )


EVENT_COLUMNS = (E.c.deadline_id, E.c.kind, E.c.at, E.c.actor_id, E.c.data)


def event_from_row(row: Sequence[Any]) -> Event:
    deadline_id, kind, at, actor_id, data = row
    return Event(
        deadline_id=deadline_id,
        kind=EventKind(kind),
        at=at,
        actor_id=actor_id,
        data=json.loads(data),
    )


def event_values(workspace_id: str, deadline_id: int, event: Event) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "deadline_id": deadline_id,
        "kind": str(event.kind),
        "at": event.at,
        "actor_id": event.actor_id,
        "data": json.dumps(event.data, separators=(",", ":")),
    }


ALERT_COLUMNS = (
    A.c.id,
    A.c.deadline_id,
    A.c.workspace_id,
    A.c.offset_seconds,
    A.c.due_at,
    A.c.status,
    A.c.attempts,
)


def alert_from_row(row: Sequence[Any]) -> Alert:
    id_, deadline_id, ws, offset, due_at, status, attempts = row
    return Alert(
        id=id_,
        deadline_id=deadline_id,
        workspace_id=ws,
        offset=timedelta(seconds=offset),
        due_at=due_at,
        status=AlertStatus(status),
        attempts=attempts,
    )


def alert_values(
    workspace_id: str, deadline_id: int, alerts: Sequence[PlannedAlert]
) -> list[dict[str, Any]]:
    return [
        {
            "workspace_id": workspace_id,
            "deadline_id": deadline_id,
            "offset_seconds": int(alert.offset.total_seconds()),
            "due_at": alert.due_at,
            "not_before": alert.due_at,
            "status": AlertStatus.PENDING.value,
            "attempts": 0,
        }
        for alert in alerts
    ]


FEED_TOKEN_COLUMNS = (
    FT.c.token_hash,
    FT.c.workspace_id,
    FT.c.kind,
    FT.c.subject,
    FT.c.created_at,
    FT.c.created_by,
    FT.c.deadline_id,
)


def feed_token_from_row(row: Sequence[Any]) -> FeedToken:
    token_hash, ws, kind, subject, created_at, created_by, deadline_id = row
    return FeedToken(
        token_hash=token_hash,
        scope=FeedScope(ws, FeedKind(kind), subject, deadline_id),
        created_at=created_at,
        created_by=created_by,
    )


OFFER_COLUMNS = (
    OF.c.deadline_id,
    OF.c.version,
    OF.c.title,
    OF.c.url,
    OF.c.party,
    OF.c.recorded_by,
    OF.c.recorded_at,
)


def offer_from_row(row: Sequence[Any]) -> Offer:
    deadline_id, version, title, url, party, recorded_by, recorded_at = row
    return Offer(
        deadline_id=deadline_id,
        version=version,
        title=title,
        url=url,
        party=party,
        recorded_by=recorded_by,
        recorded_at=recorded_at,
    )


def states_from_rows(
    deadlines: Sequence[Any],
    positions: Sequence[Any],
    requests: Sequence[Any],
    offers: Sequence[Any] = (),
) -> list[DeadlineState]:
    """Deadlines in the order of their rows, each with its positions, requests and
    (when given) offers in the order of theirs."""
    by_deadline: dict[int, list[Position]] = defaultdict(list)
    for position in map(position_from_row, positions):
        by_deadline[position.deadline_id].append(position)
    asked: dict[int, list[PositionRequest]] = defaultdict(list)
    for request in map(request_from_row, requests):
        asked[request.deadline_id].append(request)
    offered: dict[int, list[Offer]] = defaultdict(list)
    for offer in map(offer_from_row, offers):
        offered[offer.deadline_id].append(offer)
    return [
        DeadlineState(
            deadline=deadline,
            positions=tuple(by_deadline[deadline.id]),
            requests=tuple(asked[deadline.id]),
            offers=tuple(offered[deadline.id]),
        )
        for deadline in map(deadline_from_row, deadlines)
    ]


# One deadline's positions and requests, in the order they are shown (both the
# deadline store and the single-event calendar read them).
POSITIONS_OF_DEADLINE = (
    select(*POSITION_COLUMNS)
    .where(P.c.workspace_id == bindparam("ws"), P.c.deadline_id == bindparam("id"))
    .order_by(P.c.recorded_at, P.c.stakeholder)
)
REQUESTS_OF_DEADLINE = (
    select(*REQUEST_COLUMNS)
    .where(R.c.workspace_id == bindparam("ws"), R.c.deadline_id == bindparam("id"))
    .order_by(R.c.asked_at, R.c.user_id)
)
