"""The NoticeOutbox contract on SQLite and PostgreSQL (and the in-memory fake): changes
gather into one notice per person until it is due, every change is told once to each
person, and senders on one database never tell anyone twice."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.clock import ManualClock
from bot.domain import (
    Change,
    ChangeKind,
    Deadline,
    Event,
    EventKind,
    Notice,
    PlannedNotice,
)
from bot.errors import NotFound
from bot.messages import Message
from bot.notices import GATHER, NoticePolicy, NoticeSender
from bot.ports import DeadlineStore, NoticeOutbox
from storage.db import alembic_config, make_engine
from storage.repository import SqlRepository
from tests.builders import a_deadline, add_deadline, sql_store
from tests.fakes.stores import MemoryDeadlines, MemoryNotices
from tests.storage.legacy_slack_tables import migrate

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
LATE = timedelta(milliseconds=3)
PEOPLE = ("U2", "U3", "U4")


async def tell(
    store: DeadlineStore, deadline: Deadline, at: datetime, reason: str, people: Sequence[str]
) -> None:
    """Extend ``deadline`` at ``at`` (the change named ``reason``), telling ``people``."""
    change = Change(kind=ChangeKind.EXTENDED, at=at, actor_id="U1", reason=reason)
    await store.update_deadline(
        deadline=replace(deadline, updated_at=at),
        event=Event(deadline_id=deadline.id, kind=EventKind.EXTENDED, at=at, actor_id="U1"),
        alerts=None,
        notice=PlannedNotice(user_ids=tuple(people), change=change, due_at=at + GATHER),
    )


def told(notice: Notice) -> tuple[str, ...]:
    return tuple(change.reason for change in notice.changes)


async def claim_all(outbox: NoticeOutbox, now: datetime) -> list[Notice]:
    """Claim everything due at ``now`` and mark it sent."""
    claimed = await outbox.claim_due_notices(now=now, lease_seconds=3600, limit=1000)
    for notice in claimed:
        await outbox.mark_notice_sent(notice_id=notice.id, sent_at=now)
    return claimed


async def test_changes_gather_until_the_notice_is_due(repo: SqlRepository) -> None:
    deadline = await add_deadline(repo, a_deadline(created=NOW, due=NOW + timedelta(days=3)))
    await tell(repo, deadline, NOW, "extended", ["U2", "U3", "U2"])
    await tell(repo, deadline, NOW + timedelta(seconds=59), "moved", ["U2"])
    await tell(repo, deadline, NOW + GATHER, "moved again", ["U2"])  # the first is due now
    assert await repo.next_notice_due() == NOW + GATHER
    assert await repo.claim_due_notices(now=NOW + GATHER - LATE, lease_seconds=60, limit=10) == []
    claimed = await claim_all(repo, NOW + GATHER + LATE)
    assert [(n.user_id, told(n), n.due_at) for n in claimed] == [
        ("U2", ("extended", "moved"), NOW + GATHER),
        ("U3", ("extended",), NOW + GATHER),
    ]
    assert claimed[0].workspace_id == "slack:T1" and claimed[0].deadline_id == deadline.id
    assert claimed[0].changes[0] == Change(
        kind=ChangeKind.EXTENDED, at=NOW, actor_id="U1", reason="extended"
    )
    assert await repo.next_notice_due() == NOW + 2 * GATHER
    [last] = await claim_all(repo, NOW + 2 * GATHER)
    assert (last.user_id, told(last)) == ("U2", ("moved again",))
    assert await repo.next_notice_due() is None


async def test_a_change_that_is_not_written_tells_nobody(repo: SqlRepository) -> None:
    deadline = await add_deadline(repo, a_deadline(created=NOW, due=NOW + timedelta(days=3)))
    elsewhere = replace(deadline, workspace_id="slack:T2")
    with pytest.raises(NotFound):
        await tell(repo, elsewhere, NOW, "extended", ["U2"])
    assert await repo.next_notice_due() is None
    assert await claim_all(repo, NOW + timedelta(days=1)) == []


async def test_a_claimed_notice_takes_no_more_changes(
    database: Database, open_repo: RepoFactory
) -> None:
    """Another replica's clock may lag: a change it dates before the due time still
    starts a notice of its own once the notice has been claimed."""
    mine, lagging = await open_repo(database), await open_repo(database)
    deadline = await add_deadline(mine, a_deadline(created=NOW, due=NOW + timedelta(days=3)))
    await tell(mine, deadline, NOW, "extended", ["U2"])
    [claimed] = await mine.claim_due_notices(now=NOW + GATHER, lease_seconds=60, limit=10)
    await tell(lagging, deadline, NOW + GATHER - timedelta(seconds=1), "moved", ["U2"])
    await mine.mark_notice_sent(notice_id=claimed.id, sent_at=NOW + GATHER)
    assert told(claimed) == ("extended",)
    [later] = await claim_all(mine, NOW + 2 * GATHER)
    assert told(later) == ("moved",)


async def test_leases_expire_renew_and_are_given_back(
    database: Database, open_repo: RepoFactory
) -> None:
    mine, other = await open_repo(database), await open_repo(database)
    deadline = await add_deadline(mine, a_deadline(created=NOW, due=NOW + timedelta(days=3)))
    await tell(mine, deadline, NOW, "extended", ["U2", "U3", "U4"])
    due = NOW + GATHER
    first, second, third = await mine.claim_due_notices(now=due, lease_seconds=600, limit=10)
    # Held (SQLite: by the given clock; PostgreSQL: by the database clock).
    assert await other.claim_due_notices(now=due, lease_seconds=600, limit=10) == []
    assert await other.renew_notice_leases(notice_ids=[first.id], lease_seconds=60, now=due) == []
    await other.release_notice_leases(notice_ids=[first.id])  # not theirs: nothing happens
    assert await other.claim_due_notices(now=due, lease_seconds=600, limit=10) == []
    # Given back: taken at once. Run out (the claimer died long ago): taken too.
    await mine.release_notice_leases(notice_ids=[first.id])
    await mine.renew_notice_leases(notice_ids=[second.id], lease_seconds=-3600, now=due)
    taken = await other.claim_due_notices(now=due, lease_seconds=600, limit=10)
    assert [n.id for n in taken] == [first.id, second.id]
    assert await mine.renew_notice_leases(
        notice_ids=[first.id, second.id, third.id], lease_seconds=600, now=due
    ) == [third.id]
    # A retry waits for its time, and counts the attempt.
    await mine.release_notice(notice_id=third.id, retry_at=due + GATHER, error="502")
    assert await mine.claim_due_notices(now=due + LATE, lease_seconds=600, limit=10) == []
    [retried] = await mine.claim_due_notices(now=due + GATHER, lease_seconds=600, limit=10)
    assert (retried.id, retried.attempts) == (third.id, 1)
    await mine.mark_notice_failed(notice_id=retried.id, error="user_not_found")
    for notice in taken:
        await other.mark_notice_sent(notice_id=notice.id, sent_at=due)
    assert await mine.claim_due_notices(now=due + 9 * GATHER, lease_seconds=600, limit=10) == []
    assert await mine.next_notice_due() is None


# --- a random story against an independent model --------------------------------------


@dataclass
class Group:
    """What the model expects one notice to hold."""

    first: datetime
    reasons: list[str] = field(default_factory=list)
    claimed: bool = False


@dataclass
class Model:
    """The rule, written out: a change joins the person's latest notice on the deadline
    while that notice is unclaimed and due after the change; otherwise it starts one."""

    groups: dict[tuple[int, str], list[Group]] = field(default_factory=dict)

    def change(self, deadline: int, people: Sequence[str], at: datetime, reason: str) -> None:
        for person in dict.fromkeys(people):
            groups = self.groups.setdefault((deadline, person), [])
            latest = groups[-1] if groups else None
            if latest is None or latest.claimed or latest.first + timedelta(minutes=1) <= at:
                groups.append(Group(first=at))
            groups[-1].reasons.append(reason)

    def send(self, now: datetime) -> list[tuple[int, str, tuple[str, ...]]]:
        sent = []
        for (deadline, person), groups in self.groups.items():
            for group in groups:
                if not group.claimed and group.first + timedelta(minutes=1) <= now:
                    group.claimed = True
                    sent.append((deadline, person, tuple(group.reasons)))
        return sorted(sent)


STEPS = (0.0, 0.003, 5.0, 20.0, 30.0, 59.997, 60.0, 60.003, 90.0)


async def tell_a_story(store: DeadlineStore, outbox: NoticeOutbox, seed: int) -> None:
    rng = random.Random(seed)
    workspace = f"story-{seed}"
    deadlines = [
        await add_deadline(
            store, a_deadline(workspace=workspace, created=NOW, due=NOW + timedelta(days=9))
        )
        for _ in range(2)
    ]
    model, now = Model(), NOW
    for step in range(60):
        now += timedelta(seconds=rng.choice(STEPS))
        if rng.random() < 0.7:
            deadline = rng.choice(deadlines)
            people = rng.sample(PEOPLE, rng.randint(1, len(PEOPLE)))
            await tell(store, deadline, now, f"c{step}", people)
            model.change(deadline.id, people, now, f"c{step}")
        else:
            claimed = await claim_all(outbox, now)
            assert sorted((n.deadline_id, n.user_id, told(n)) for n in claimed) == model.send(now)
    final = now + 2 * GATHER
    claimed = await claim_all(outbox, final)
    assert sorted((n.deadline_id, n.user_id, told(n)) for n in claimed) == model.send(final)
    assert model.groups  # the story told something


@pytest.mark.parametrize("seed", range(4))
async def test_a_random_story_gathers_as_the_rule_says(repo: SqlRepository, seed: int) -> None:
    await tell_a_story(repo, repo, seed)


@pytest.mark.parametrize("seed", range(4))
async def test_the_in_memory_outbox_gathers_as_the_rule_says(seed: int) -> None:
    store = MemoryDeadlines()
    await tell_a_story(store, MemoryNotices(store), seed)


# --- several replicas -------------------------------------------------------------------


@dataclass
class Inbox:
    clock: ManualClock
    received: list[Message] = field(default_factory=list)

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        await asyncio.sleep(0)  # let the other sender step in
        self.received.append(message)
        return None


async def test_two_senders_on_one_database_tell_each_person_once(
    database: Database, open_repo: RepoFactory
) -> None:
    first, second = await open_repo(database), await open_repo(database)
    for n in range(12):
        draft = a_deadline(title=f"T{n}", created=NOW, due=NOW + timedelta(days=3))
        deadline = await add_deadline(first, draft)
        await tell(first, deadline, NOW + timedelta(seconds=n), f"c{n}", PEOPLE)
    clock = ManualClock(NOW + GATHER + timedelta(seconds=12) + LATE)
    inboxes = [Inbox(clock), Inbox(clock)]
    senders = [
        NoticeSender(
            outbox=repo,
            deadlines=repo,
            gateways={"slack": inbox},
            clock=clock,
            policy=NoticePolicy(batch_size=4),
        )
        for repo, inbox in zip((first, second), inboxes, strict=True)
    ]

    async def drain(sender: NoticeSender) -> None:
        while await sender.run_once():  # noqa: ASYNC110 (no waiting: a turn for the other)
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(sender) for sender in senders))
    sent = Counter(
        (message.user_id, message.fallback.split(" in <#")[0])
        for inbox in inboxes
        for message in inbox.received
    )
    assert len(sent) == 12 * len(PEOPLE)
    assert set(sent.values()) == {1}


async def test_a_slow_sender_renews_its_leases_so_no_one_else_sends_them(
    database: Database, open_repo: RepoFactory
) -> None:
    mine, theirs = await open_repo(database), await open_repo(database)
    deadline = await add_deadline(mine, a_deadline(created=NOW, due=NOW + timedelta(days=3)))
    await tell(mine, deadline, NOW, "extended", ["U2", "U3", "U4"])
    clock = ManualClock(NOW + GATHER + LATE)
    their_inbox = Inbox(clock)
    their_sender = NoticeSender(
        outbox=theirs, deadlines=theirs, gateways={"slack": their_inbox}, clock=clock
    )

    @dataclass
    class Slow:
        received: list[Message] = field(default_factory=list)

        async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
            self.received.append(message)
            # Each send takes most of a 120 s lease (SQLite: on the callers' clock),
            # and the other replica looks meanwhile.
            clock.advance(timedelta(seconds=70))
            await their_sender.run_once()
            return None

    slow = Slow()
    my_sender = NoticeSender(
        outbox=mine,
        deadlines=mine,
        gateways={"slack": slow},
        clock=clock,
        policy=NoticePolicy(lease_seconds=120),
    )
    assert await my_sender.run_once() == 3
    assert [message.user_id for message in slow.received] == ["U2", "U3", "U4"]
    assert their_inbox.received == []


async def test_changes_made_while_replicas_claim_are_each_told_once(
    database: Database, open_repo: RepoFactory
) -> None:
    writer = await open_repo(database)
    claimers = [await open_repo(database), await open_repo(database)]
    deadlines = [
        await add_deadline(writer, a_deadline(title=f"T{n}", created=NOW, due=NOW + GATHER * 999))
        for n in range(3)
    ]
    rng = random.Random(11)
    clock = ManualClock(NOW)
    made: dict[int, list[str]] = {deadline.id: [] for deadline in deadlines}
    claimed: list[Notice] = []
    writing = True

    async def write() -> None:
        nonlocal writing
        for n in range(40):
            clock.advance(timedelta(seconds=rng.choice(STEPS)))
            deadline = rng.choice(deadlines)
            await tell(writer, deadline, clock.now(), f"c{n}", ["U2", "U3"])
            made[deadline.id].append(f"c{n}")
            await asyncio.sleep(0)
        writing = False

    async def claim(outbox: NoticeOutbox) -> None:
        while writing:
            claimed.extend(await claim_all(outbox, clock.now()))
            await asyncio.sleep(0)

    await asyncio.gather(write(), *(claim(outbox) for outbox in claimers))
    claimed.extend(await claim_all(claimers[0], clock.now() + 2 * GATHER))
    for deadline_id, reasons in made.items():
        for person in ("U2", "U3"):
            notices = sorted(
                (n for n in claimed if (n.deadline_id, n.user_id) == (deadline_id, person)),
                key=lambda n: n.id,
            )
            assert [reason for n in notices for reason in told(n)] == reasons
            for notice in notices:
                assert all(change.at < notice.due_at for change in notice.changes)


# --- the migration ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """An empty database of the test's own, not migrated."""
    if request.param == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue("pg_empty_url"))


async def test_the_migration_adds_the_outbox_and_takes_it_away(empty_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    [notices] = [r for r in script.walk_revisions() if str(r.path).endswith("_notices.py")]
    assert isinstance(notices.down_revision, str)
    engine = make_engine(empty_url)

    async def tables() -> set[str]:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))

    try:
        await migrate(engine, to="head")
        async with sql_store(empty_url) as store:
            deadline = await add_deadline(store, a_deadline(created=NOW))
            await tell(store, deadline, NOW, "extended", ["U2"])
        await migrate(engine, to=notices.down_revision, down=True)
        assert "notice" not in await tables() and "deadline" in await tables()
        await migrate(engine, to="head")
        async with sql_store(empty_url) as store:
            assert await store.next_notice_due() is None
    finally:
        await engine.dispose()
