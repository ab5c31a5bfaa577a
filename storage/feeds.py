"""``bot.ports.FeedStore``: calendar feed tokens, and the deadlines a feed shows.

Only a token's hash is stored. The token hash and a deadline's uid are random
secrets that name their workspace themselves, so the two lookups by them are
the only feed queries not given a workspace.

A feed is cached by ``bot.feeds``, which asks two cheap questions before
loading it again: the workspace's newest history event (``feed_marker``: every
write a feed shows appends one in the same transaction), and an aggregate over
the feed's own rows (``feed_fingerprint``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.domain import (
    AlertStatus,
    DeadlineState,
    DeadlineStatus,
    FeedKind,
    FeedScope,
    FeedToken,
    SentAlert,
    Stance,
)
from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import (
    DEADLINE_COLUMNS,
    FEED_TOKEN_COLUMNS,
    FT,
    OF,
    OFFER_COLUMNS,
    POSITION_COLUMNS,
    POSITIONS_OF_DEADLINE,
    REQUEST_COLUMNS,
    REQUESTS_OF_DEADLINE,
    A,
    D,
    E,
    P,
    R,
    feed_token_from_row,
    owners_to_text,
    states_from_rows,
)

_FEED_TOKEN = select(*FEED_TOKEN_COLUMNS).where(
    FT.c.token_hash == bindparam("hash"), FT.c.revoked_at.is_(None)
)
_OFFERS_OF_DEADLINE = (
    select(*OFFER_COLUMNS)
    .where(OF.c.workspace_id == bindparam("ws"), OF.c.deadline_id == bindparam("id"))
    .order_by(OF.c.version)
)
# Every write a feed shows appends a history event in the same transaction.
_FEED_MARKER = select(func.max(E.c.id)).where(E.c.workspace_id == bindparam("ws"))


def _feed_filter(scope: FeedScope, cancelled_since: datetime) -> ColumnElement[bool]:
    """The deadlines a feed shows: the scope's, less those cancelled before the cutoff.

    A person's feed matches their quoted id in the owners' JSON array (every owner,
    not only the first): exact for every id a platform sends, and made exact for any
    other by ``_shows``. The fingerprint may cover a few more rows: it only decides
    whether to load the feed again."""
    ws = scope.workspace_id
    if scope.kind is FeedKind.CHANNEL:
        mine: ColumnElement[bool] = D.c.channel_id == scope.subject
    else:
        asked = select(R.c.deadline_id).where(R.c.workspace_id == ws, R.c.user_id == scope.subject)
        quoted = owners_to_text([scope.subject])[1:-1]  # '"U1"' of '["U1"]'
        owned = D.c.owners.like(f"%{_like_escape(quoted)}%", escape="\\")
        mine = or_(owned, D.c.id.in_(asked))
    shown = or_(D.c.status != DeadlineStatus.CANCELLED.value, D.c.updated_at >= cancelled_since)
    return (D.c.workspace_id == ws) & mine & shown


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _shows(scope: FeedScope, state: DeadlineState) -> bool:
    """Whether the feed of ``scope`` shows ``state`` (a row ``_feed_filter`` matched)."""
    if scope.kind is FeedKind.CHANNEL:
        return True
    person = scope.subject
    return person in state.deadline.owners or any(r.user_id == person for r in state.requests)


def _feed_fingerprint(scope: FeedScope, cancelled_since: datetime) -> Select[Any]:
    """One row of counts, sums and maxima over a feed's deadlines, positions,
    requests and offers: every write the feed shows raises a sequence, adds a row or
    moves a timestamp, stance count or text length, so the row changes with the feed
    (offers are only ever added)."""
    shown = _feed_filter(scope, cancelled_since)
    ids = select(D.c.id).where(shown)
    ws = scope.workspace_id
    deadlines = (
        select(
            func.count().label("deadlines"),
            func.coalesce(func.sum(D.c.sequence), 0).label("sequences"),
            func.coalesce(func.sum(D.c.id), 0).label("ids"),
            func.max(D.c.updated_at).label("updated"),
        )
        .where(shown)
        .subquery()
    )
    stances = [
        func.coalesce(func.sum(case((P.c.stance == stance.value, 1), else_=0)), 0).label(
            f"stance_{stance.value}"
        )
        for stance in Stance
    ]
    positions = (
        select(
            func.count().label("positions"),
            func.max(P.c.recorded_at).label("recorded"),
            func.coalesce(func.sum(func.length(P.c.terms) + func.length(P.c.label)), 0).label(
                "text"
            ),
            *stances,
        )
        .where(P.c.workspace_id == ws, P.c.deadline_id.in_(ids))
        .subquery()
    )
    requests = (
        select(
            func.count().label("requests"),
            func.count(R.c.answered_at).label("answered"),
            func.max(R.c.asked_at).label("asked"),
            func.max(R.c.answered_at).label("answered_last"),
        )
        .where(R.c.workspace_id == ws, R.c.deadline_id.in_(ids))
        .subquery()
    )
    offers = (
        select(func.count().label("offers"), func.max(OF.c.recorded_at).label("offered"))
        .where(OF.c.workspace_id == ws, OF.c.deadline_id.in_(ids))
        .subquery()
    )
    return select(deadlines, positions, requests, offers).select_from(
        deadlines.join(positions, true()).join(requests, true()).join(offers, true())
    )


class SqlFeedStore(SqlStore):
    """The FeedStore port on shared ``Connections``."""

    @guarded
    async def add_feed_token(self, *, token: FeedToken, revoke_others: bool = False) -> None:
        scope = token.scope
        revoke = (
            update(FT)
            .where(
                FT.c.workspace_id == scope.workspace_id,
                FT.c.kind == scope.kind.value,
                FT.c.subject == scope.subject,
                FT.c.revoked_at.is_(None),
            )
            .values(revoked_at=token.created_at)
        )
        values = {
            "token_hash": token.token_hash,
            "workspace_id": scope.workspace_id,
            "kind": scope.kind.value,
            "subject": scope.subject,
            "created_at": token.created_at,
            "created_by": token.created_by,
            "deadline_id": scope.deadline_id,
        }

        async def work(conn: AsyncConnection) -> None:
            if revoke_others:
                await conn.execute(revoke)
            await conn.execute(insert(FT), values)

        await self._db.write(work)

    @guarded
    async def find_feed_token(self, *, token_hash: str) -> FeedToken | None:
        async with self._db.read() as conn:
            row = (await conn.execute(_FEED_TOKEN, {"hash": token_hash})).first()
        return None if row is None else feed_token_from_row(row)

    @guarded
    async def feed_marker(self, *, workspace_id: str) -> str:
        async with self._db.read() as conn:
            newest = await conn.scalar(_FEED_MARKER, {"ws": workspace_id})
        return str(newest)

    @guarded
    async def feed_fingerprint(self, *, scope: FeedScope, cancelled_since: datetime) -> str:
        stmt = _feed_fingerprint(scope, cancelled_since)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).one()
        return "|".join(str(value) for value in row)

    @guarded
    async def list_feed_items(
        self, *, scope: FeedScope, cancelled_since: datetime
    ) -> list[DeadlineState]:
        shown = _feed_filter(scope, cancelled_since)
        ids = select(D.c.id).where(shown)
        ws = scope.workspace_id
        listed = select(*DEADLINE_COLUMNS).where(shown).order_by(D.c.due_at, D.c.number)
        async with self._db.read(snapshot=True) as conn:
            deadlines = (await conn.execute(listed)).all()
            positions = (
                await conn.execute(
                    select(*POSITION_COLUMNS)
                    .where(P.c.workspace_id == ws, P.c.deadline_id.in_(ids))
                    .order_by(P.c.recorded_at, P.c.stakeholder)
                )
            ).all()
            requests = (
                await conn.execute(
                    select(*REQUEST_COLUMNS)
                    .where(R.c.workspace_id == ws, R.c.deadline_id.in_(ids))
                    .order_by(R.c.asked_at, R.c.user_id)
                )
            ).all()
            offers = (
                await conn.execute(
                    select(*OFFER_COLUMNS)
                    .where(OF.c.workspace_id == ws, OF.c.deadline_id.in_(ids))
                    .order_by(OF.c.deadline_id, OF.c.version)
                )
            ).all()
        states = states_from_rows(deadlines, positions, requests, offers)
        return [state for state in states if _shows(scope, state)]

    @guarded
    async def get_feed_item(self, *, uid: str) -> DeadlineState | None:
        async with self._db.read(snapshot=True) as conn:
            row = (await conn.execute(select(*DEADLINE_COLUMNS).where(D.c.uid == uid))).first()
            if row is None:
                return None
            params = {"ws": row[1], "id": row[0]}
            positions = (await conn.execute(POSITIONS_OF_DEADLINE, params)).all()
            requests = (await conn.execute(REQUESTS_OF_DEADLINE, params)).all()
            offers = (await conn.execute(_OFFERS_OF_DEADLINE, params)).all()
        return states_from_rows([row], positions, requests, offers)[0]

    @guarded
    async def list_sent_alerts(
        self, *, workspace_id: str, deadline_ids: Sequence[int]
    ) -> list[SentAlert]:
        """Read with the feeds' other reads: the brief page is served beside them."""
        if not deadline_ids:
            return []
        stmt = (
            select(A.c.deadline_id, A.c.offset_seconds, A.c.due_at, A.c.sent_at)
            .where(
                A.c.workspace_id == workspace_id,
                A.c.deadline_id.in_(list(deadline_ids)),
                A.c.status == AlertStatus.SENT.value,
                A.c.sent_at.is_not(None),
            )
            .order_by(A.c.sent_at, A.c.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            SentAlert(
                deadline_id=deadline_id,
                offset=timedelta(seconds=offset),
                due_at=due_at,
                sent_at=sent_at,
            )
            for deadline_id, offset, due_at, sent_at in rows
        ]
