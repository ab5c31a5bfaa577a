"""The calendar-feed part of the Repository contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.domain import (
    DeadlineStatus,
    EventKind,
    FeedKind,
    FeedScope,
    FeedToken,
    Offer,
    PositionRequest,
    Stance,
)
from bot.errors import InvalidInput
from bot.feeds import hash_token
from storage.repository import SqlRepository
from tests.storage.conftest import Database, RepoFactory
from tests.storage.test_repository import NOW, add, event, record

pytestmark = pytest.mark.asyncio

SINCE = NOW - timedelta(days=30)


def token(scope: FeedScope, at: datetime = NOW) -> FeedToken:
    # Unique per call: one scope holds several tokens.
    return FeedToken(
        token_hash=hash_token(secrets.token_urlsafe(32)),
        scope=scope,
        created_at=at,
        created_by="U1",
    )


async def test_tokens_are_found_by_hash_until_revoked(repo: SqlRepository) -> None:
    channel = FeedScope("A", FeedKind.CHANNEL, "C1")
    first, second = token(channel), token(channel)
    mine = token(FeedScope(channel.workspace_id, FeedKind.USER, "U1"))
    for made in (first, second, mine):
        await repo.add_feed_token(token=made)
    assert await repo.find_feed_token(token_hash=first.token_hash) == first
    assert await repo.find_feed_token(token_hash=hash_token("nope")) is None

    replacement = token(channel, NOW + timedelta(hours=1))
    await repo.add_feed_token(token=replacement, revoke_others=True)
    assert await repo.find_feed_token(token_hash=first.token_hash) is None
    assert await repo.find_feed_token(token_hash=second.token_hash) is None
    assert await repo.find_feed_token(token_hash=replacement.token_hash) == replacement
    assert await repo.find_feed_token(token_hash=mine.token_hash) == mine  # another scope


async def offer(repo: SqlRepository, deadline_id: int, title: str, url: str | None = None) -> Offer:
    made = Offer(
        deadline_id=deadline_id,
        version=0,
        title=title,
        url=url,
        party=None,
        recorded_by="U1",
        recorded_at=NOW,
    )
    return await repo.record_offer(
        workspace_id="A", offer=made, event=event(EventKind.OFFER_RECORDED, deadline_id)
    )


async def test_feed_items_follow_the_scope(repo: SqlRepository) -> None:
    d1 = await add(repo, ws="A", title="In C1", channel="C1")
    d2 = await add(repo, ws="A", title="In C2", channel="C2")
    await add(repo, ws="B", title="Other workspace", channel="C1")
    await record(repo, d1, stakeholder="U2", terms="fine")
    offers = [
        await offer(repo, d2.id, "Draft"),
        await offer(repo, d2.id, "BAFO", "https://x.org/b"),
    ]
    await repo.add_position_requests(
        workspace_id="A",
        requests=[PositionRequest(deadline_id=d2.id, user_id="U9", asked_by="U1", asked_at=NOW)],
        event=event(EventKind.POSITIONS_ASKED, d2.id),
    )
    (item,) = await repo.list_feed_items(
        scope=FeedScope("A", FeedKind.CHANNEL, "C1"), cancelled_since=SINCE
    )
    assert item.deadline == d1
    assert [p.stakeholder for p in item.positions] == ["U2"]
    asked = await repo.list_feed_items(
        scope=FeedScope("A", FeedKind.USER, "U9"), cancelled_since=SINCE
    )
    assert [i.deadline.title for i in asked] == ["In C2"]
    assert [r.user_id for r in asked[0].requests] == ["U9"]
    assert asked[0].offers == tuple(offers) and item.offers == ()
    owned = await repo.list_feed_items(
        scope=FeedScope("A", FeedKind.USER, "U1"), cancelled_since=SINCE
    )
    assert [i.deadline.title for i in owned] == ["In C1", "In C2"]
    assert await repo.get_feed_item(uid=d2.uid) == asked[0]
    assert await repo.get_feed_item(uid="0" * 32) is None


async def test_cancelled_deadlines_leave_after_the_cutoff(repo: SqlRepository) -> None:
    deadline = await add(repo, ws="A", channel="C1")
    cancelled = replace(deadline, status=DeadlineStatus.CANCELLED, updated_at=NOW)
    await repo.update_deadline(
        deadline=cancelled, event=event(EventKind.CANCELLED, deadline.id), alerts=()
    )
    scope = FeedScope("A", FeedKind.CHANNEL, "C1")
    assert len(await repo.list_feed_items(scope=scope, cancelled_since=NOW)) == 1
    later = NOW + timedelta(seconds=1)
    assert await repo.list_feed_items(scope=scope, cancelled_since=later) == []
    assert await repo.feed_fingerprint(scope=scope, cancelled_since=later) != (
        await repo.feed_fingerprint(scope=scope, cancelled_since=NOW)
    )


async def test_the_fingerprint_moves_with_every_change_a_feed_shows(repo: SqlRepository) -> None:
    scope = FeedScope("A", FeedKind.CHANNEL, "C1")
    seen: list[str] = []

    markers: list[str] = []

    async def changed() -> None:
        fingerprint = await repo.feed_fingerprint(scope=scope, cancelled_since=SINCE)
        assert fingerprint not in seen
        seen.append(fingerprint)
        marker = await repo.feed_marker(workspace_id="A")
        assert marker not in markers
        markers.append(marker)

    await changed()
    deadline = await add(repo, ws="A", channel="C1")
    await changed()
    await add(repo, ws="B", channel="C1")  # another workspace: no change at all
    assert await repo.feed_marker(workspace_id="A") == markers[-1]
    await add(repo, ws="A", channel="C2")  # another channel: the workspace marker moves
    assert await repo.feed_marker(workspace_id="A") != markers[-1]
    assert await repo.feed_fingerprint(scope=scope, cancelled_since=SINCE) == seen[-1]
    markers.append(await repo.feed_marker(workspace_id="A"))
    moved = replace(deadline, due_at=deadline.due_at + timedelta(days=1))  # same updated_at
    await repo.update_deadline(
        deadline=moved, event=event(EventKind.EXTENDED, deadline.id), alerts=None
    )
    await changed()
    # Positions at the same instant: a new one, a new stance, new terms.
    await record(repo, deadline, stakeholder="U2", terms="no", stance=Stance.OPPOSE)
    await changed()
    await record(repo, deadline, stakeholder="U2", terms="no", stance=Stance.SUPPORT)
    await changed()
    await record(
        repo, deadline, stakeholder="U2", terms="only with an audit", stance=Stance.SUPPORT
    )
    await changed()
    ask = PositionRequest(deadline_id=deadline.id, user_id="U3", asked_by="U1", asked_at=NOW)
    await repo.add_position_requests(
        workspace_id="A", requests=[ask], event=event(EventKind.POSITIONS_ASKED, deadline.id)
    )
    await changed()
    await record(repo, deadline, stakeholder="U3")  # answers the request
    await changed()
    await offer(repo, deadline.id, "Draft")  # at the same instant as the positions
    await changed()


async def test_feed_queries_are_scoped_by_workspace_at_the_database(repo: SqlRepository) -> None:
    """A user id that exists in two workspaces gets only this workspace's deadlines."""
    await add(repo, ws="A", channel="C1", title="A's")
    await add(repo, ws="B", channel="C1", title="B's")
    for ws in ("A", "B"):
        items = await repo.list_feed_items(
            scope=FeedScope(ws, FeedKind.USER, "U1"), cancelled_since=SINCE
        )
        assert [i.deadline.title for i in items] == [f"{ws}'s"]


async def test_brief_tokens_keep_their_deadline_and_revoke_with_their_channel(
    repo: SqlRepository,
) -> None:
    d1 = await add(repo, ws="A", title="In C1", channel="C1")
    whole = token(FeedScope("A", FeedKind.BRIEF, "C1"))
    one = token(FeedScope("A", FeedKind.BRIEF, "C1", d1.id))
    feed = token(FeedScope("A", FeedKind.CHANNEL, "C1"))
    for made in (whole, one, feed):
        await repo.add_feed_token(token=made)
    found = await repo.find_feed_token(token_hash=one.token_hash)
    assert found == one and found.scope.deadline_id == d1.id
    assert await repo.find_feed_token(token_hash=whole.token_hash) == whole

    renewed = token(FeedScope("A", FeedKind.BRIEF, "C1"), NOW + timedelta(hours=1))
    await repo.add_feed_token(token=renewed, revoke_others=True)
    assert await repo.find_feed_token(token_hash=whole.token_hash) is None
    assert await repo.find_feed_token(token_hash=one.token_hash) is None
    assert await repo.find_feed_token(token_hash=renewed.token_hash) == renewed
    assert await repo.find_feed_token(token_hash=feed.token_hash) == feed


async def test_sent_alerts_are_listed_per_workspace_in_the_order_sent(
    repo: SqlRepository,
) -> None:
    d1 = await add(repo, ws="A", title="Soon", channel="C1", due=NOW + timedelta(minutes=30))
    d2 = await add(repo, ws="A", title="Later", channel="C2", due=NOW + timedelta(minutes=50))
    await add(repo, ws="B", title="Elsewhere", channel="C1", due=NOW + timedelta(minutes=30))
    claimed = await repo.claim_due_alerts(now=NOW + timedelta(hours=1), lease_seconds=60, limit=20)
    mine = sorted((a for a in claimed if a.workspace_id == "A"), key=lambda a: -a.offset)
    assert [a.deadline_id for a in mine] == [d1.id, d2.id, d1.id, d2.id]
    first, second, third, _unsent = mine
    await repo.mark_alerts_sent(alert_ids=[second.id], sent_at=NOW + timedelta(minutes=5))
    await repo.mark_alerts_sent(alert_ids=[first.id], sent_at=NOW + timedelta(minutes=6))
    await repo.mark_alerts_sent(alert_ids=[third.id], sent_at=NOW + timedelta(minutes=30))
    others = [a.id for a in claimed if a.workspace_id == "B"]
    await repo.mark_alerts_sent(alert_ids=others, sent_at=NOW)

    sent = await repo.list_sent_alerts(workspace_id="A", deadline_ids=[d1.id, d2.id])
    assert [(s.deadline_id, s.offset, s.sent_at) for s in sent] == [
        (d2.id, second.offset, NOW + timedelta(minutes=5)),
        (d1.id, first.offset, NOW + timedelta(minutes=6)),
        (d1.id, third.offset, NOW + timedelta(minutes=30)),
    ]
    assert sent[0].due_at == second.due_at
    assert await repo.list_sent_alerts(workspace_id="A", deadline_ids=[]) == []
    assert await repo.list_sent_alerts(workspace_id="B", deadline_ids=[d1.id]) == []


async def test_brief_tokens_move_with_an_export_and_need_their_deadline(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    d1 = await add(repo, ws="A", title="In C1", channel="C1")
    one = token(FeedScope("A", FeedKind.BRIEF, "C1", d1.id))
    await repo.add_feed_token(token=one)
    dump = await repo.export_all()
    assert [row["deadline_id"] for row in dump["feed_tokens"]] == [d1.id]

    restored = await open_repo(other_database)
    broken = {**dump, "feed_tokens": [{**dump["feed_tokens"][0], "deadline_id": d1.id + 1}]}
    with pytest.raises(InvalidInput, match="feed_tokens\\[0\\]: deadline"):
        await restored.import_all(broken)
    await restored.import_all(dump)
    assert await restored.find_feed_token(token_hash=one.token_hash) == one
