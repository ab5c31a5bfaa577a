"""The Repository contract, run against SQLite and PostgreSQL alike (see conftest)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from bot.domain import (
    DEFAULT_OFFSETS,
    AlertStatus,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Offer,
    Party,
    PlannedAlert,
    Position,
    PositionRequest,
    Stance,
    negotiation_key,
    plan_alerts,
)
from bot.errors import InvalidInput, NotFound, StorageUnavailable
from storage.db import is_sqlite, make_engine, run_migrations_on
from storage.repository import SqlRepository
from tests.builders import a_deadline, add_deadline

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=10)


def event(kind: EventKind, deadline_id: int = 0, actor: str = "U1", **data: Any) -> Event:
    return Event(deadline_id=deadline_id, kind=kind, at=NOW, actor_id=actor, data=data)


async def add(
    repo: SqlRepository,
    *,
    ws: str = "A",
    title: str = "Signed usage agreement",
    due: datetime = LATER,
    channel: str = "C1",
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS,
) -> Deadline:
    draft = a_deadline(
        workspace=ws, title=title, due=due, channel=channel, offsets=offsets, created=NOW
    )
    return await add_deadline(repo, draft)


def position(
    deadline: Deadline, stakeholder: str = "U2", terms: str = "no", stance: Stance = Stance.OPPOSE
) -> Position:
    return Position(
        deadline_id=deadline.id,
        stakeholder=stakeholder,
        label=stakeholder,
        stance=stance,
        terms=terms,
        recorded_by=stakeholder,
        recorded_at=NOW,
    )


async def record(repo: SqlRepository, deadline: Deadline, **kwargs: Any) -> None:
    pos = position(deadline, **kwargs)
    await repo.record_position(
        workspace_id=deadline.workspace_id,
        position=pos,
        event=event(EventKind.POSITION_RECORDED, deadline.id, pos.stakeholder, terms=pos.terms),
    )


def request(deadline: Deadline, user: str, at: datetime = NOW) -> PositionRequest:
    return PositionRequest(deadline_id=deadline.id, user_id=user, asked_by="U1", asked_at=at)


# --- schema ---------------------------------------------------------------------


async def test_migrations_match_the_tables(database: Database) -> None:
    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    engine = make_engine(database.url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_sqlite_connections_use_wal_and_foreign_keys(sqlite_template: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{sqlite_template}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
    finally:
        await engine.dispose()


# --- deadlines -------------------------------------------------------------------


async def test_numbers_count_per_channel(repo: SqlRepository) -> None:
    a1 = await add(repo, ws="A", title="First")
    a2 = await add(repo, ws="A", title="Second")
    b1 = await add(repo, ws="B", title="Other side")
    c1 = await add(repo, ws="A", title="Elsewhere", channel="C2")
    a3 = await add(repo, ws="A", title="Third")
    assert (a1.number, a2.number, b1.number, c1.number, a3.number) == (1, 2, 1, 1, 3)
    assert (a1.ref, b1.ref, c1.ref) == ("D1", "D1", "D1")
    assert len({a1.id, a2.id, b1.id, c1.id}) == 4
    assert all(len(d.uid) == 32 and int(d.uid, 16) >= 0 for d in (a1, a2, b1))
    assert len({a1.uid, a2.uid, b1.uid}) == 3
    assert a1.status is DeadlineStatus.OPEN and a1.sequence == 0
    assert a1.owners == ("U1",)
    assert a1.created_at == a1.updated_at == NOW
    events = await repo.list_events(workspace_id="A", deadline_id=a1.id)
    assert events == [event(EventKind.CREATED, a1.id, title="First")]


async def test_concurrent_creates_get_distinct_numbers(repo: SqlRepository) -> None:
    created = await asyncio.gather(*(add(repo, title=f"T{i}") for i in range(20)))
    assert sorted(d.number for d in created) == list(range(1, 21))


async def test_get_by_number_and_by_id(repo: SqlRepository) -> None:
    created = await add(repo)
    elsewhere = await add(repo, channel="C2")
    assert await repo.get_deadline(workspace_id="A", channel_id="C1", number=1) == created
    assert await repo.get_deadline(workspace_id="A", channel_id="C2", number=1) == elsewhere
    assert await repo.get_deadline_by_id(workspace_id="A", deadline_id=created.id) == created
    assert await repo.get_deadline(workspace_id="A", channel_id="C1", number=2) is None
    assert await repo.get_deadline(workspace_id="A", channel_id="C3", number=1) is None
    assert await repo.get_deadline_by_id(workspace_id="A", deadline_id=created.id + 99) is None


async def test_find_by_title_prefix(repo: SqlRepository) -> None:
    signed = await add(repo, title="Signed usage agreement", due=LATER)
    side = await add(repo, title="Side letter", due=LATER - timedelta(days=1))
    odd = await add(repo, title="50%_off deal")
    umlaut = await add(repo, title="Ärger mit Vertrag")
    await add(repo, ws="B", title="Signed elsewhere")
    await add(repo, ws="A", title="Signed in another channel", channel="C2")

    async def find(prefix: str) -> list[str]:
        found = await repo.find_deadlines_by_title(workspace_id="A", channel_id="C1", prefix=prefix)
        return [d.title for d in found]

    assert await find("sIGNED") == [signed.title]
    assert await find("si") == [side.title, signed.title]  # by due time
    assert await find("usage") == []
    assert await find("50%_") == [odd.title]
    assert await find("5%") == []  # % and _ are literal
    assert await find("äRG") == [umlaut.title]
    assert await find("Signed elsewhere") == []


async def test_list_orders_and_filters(repo: SqlRepository) -> None:
    late = await add(repo, title="late", due=LATER + timedelta(days=5))
    early = await add(repo, title="early", due=LATER, channel="C2")
    tie = await add(repo, title="tie", due=LATER)
    done = await add(repo, title="done", due=LATER - timedelta(days=3))
    done = await repo.update_deadline(
        deadline=replace(done, status=DeadlineStatus.MET, updated_at=NOW),
        event=event(EventKind.COMPLETED, done.id),
        alerts=(),
    )
    await add(repo, ws="B", title="elsewhere")

    async def titles(**kwargs: Any) -> list[str]:
        return [d.title for d in await repo.list_deadlines(workspace_id="A", **kwargs)]

    assert await titles() == ["done", "early", "tie", "late"]
    assert await titles(statuses=frozenset({DeadlineStatus.OPEN})) == ["early", "tie", "late"]
    assert await titles(statuses=frozenset({DeadlineStatus.MET, DeadlineStatus.MISSED})) == ["done"]
    assert await titles(statuses=frozenset()) == []
    assert await titles(channel_id="C2") == ["early"]
    assert await titles(channel_id="C1", statuses=frozenset({DeadlineStatus.OPEN})) == [
        "tie",
        "late",
    ]
    assert await titles(limit=2) == ["done", "early"]
    listed = await repo.list_deadlines(workspace_id="A")
    assert listed == [done, early, tie, late]


async def test_update_raises_sequence_and_replaces_pending_alerts(repo: SqlRepository) -> None:
    created = await add(repo, offsets=(timedelta(days=1),))  # alerts: 1d before, at due
    sent = (await repo.claim_due_alerts(now=LATER - timedelta(days=1), lease_seconds=60, limit=9))[
        0
    ]
    await repo.mark_alerts_sent(alert_ids=[sent.id], sent_at=LATER - timedelta(days=1))

    new_due = LATER + timedelta(days=2)
    offsets = (timedelta(hours=4),)
    changed = replace(
        created,
        due_at=new_due,
        tz="Europe/Berlin",
        reminder_offsets=offsets,
        updated_at=NOW + timedelta(minutes=5),
        title="ignored: titles do not change",
    )
    updated = await repo.update_deadline(
        deadline=changed,
        event=event(EventKind.EXTENDED, created.id, reason="review"),
        alerts=plan_alerts(due_at=new_due, offsets=offsets, now=NOW),
    )
    assert updated == replace(changed, sequence=1, title=created.title)
    assert await repo.get_deadline(workspace_id="A", channel_id="C1", number=1) == updated

    export = await repo.export_all()
    alerts = sorted((a["status"], a["offset_seconds"], a["due_at"]) for a in export["alerts"])
    assert alerts == [
        ("pending", 0, new_due.isoformat()),
        ("pending", 4 * 3600, (new_due - timedelta(hours=4)).isoformat()),
        ("sent", 86400, (LATER - timedelta(days=1)).isoformat()),
    ]

    # alerts=None keeps the outbox; an empty sequence drops what is pending.
    again = await repo.update_deadline(
        deadline=replace(updated, reminder_offsets=()),
        event=event(EventKind.REMINDERS_CHANGED, created.id),
        alerts=None,
    )
    assert again.sequence == 2
    assert len((await repo.export_all())["alerts"]) == 3
    await repo.update_deadline(
        deadline=replace(again, status=DeadlineStatus.CANCELLED),
        event=event(EventKind.CANCELLED, created.id),
        alerts=(),
    )
    assert [a["status"] for a in (await repo.export_all())["alerts"]] == ["sent"]
    kinds = [e.kind for e in await repo.list_events(workspace_id="A", deadline_id=created.id)]
    assert kinds == [
        EventKind.CREATED,
        EventKind.EXTENDED,
        EventKind.REMINDERS_CHANGED,
        EventKind.CANCELLED,
    ]


# --- positions, requests, events ----------------------------------------------------


async def test_positions_upsert_and_keep_history(repo: SqlRepository) -> None:
    deadline = await add(repo)
    await record(repo, deadline, stakeholder="party:anthropic", terms="No mass surveillance")
    await record(
        repo, deadline, stakeholder="party:dod", terms="All lawful use", stance=Stance.SUPPORT
    )
    await record(repo, deadline, stakeholder="party:anthropic", terms="Human in the loop")

    current = await repo.list_positions(workspace_id="A", deadline_id=deadline.id)
    assert {p.stakeholder: p.terms for p in current} == {
        "party:anthropic": "Human in the loop",
        "party:dod": "All lawful use",
    }
    assert next(p for p in current if p.stakeholder == "party:dod").stance is Stance.SUPPORT
    history = await repo.list_events(workspace_id="A", deadline_id=deadline.id)
    assert [(e.kind, e.data.get("terms")) for e in history] == [
        (EventKind.CREATED, None),
        (EventKind.POSITION_RECORDED, "No mass surveillance"),
        (EventKind.POSITION_RECORDED, "All lawful use"),
        (EventKind.POSITION_RECORDED, "Human in the loop"),
    ]


async def test_requests_are_kept_once_and_answered(repo: SqlRepository) -> None:
    deadline = await add(repo)
    asked = event(EventKind.POSITIONS_ASKED, deadline.id, users=["U7", "U8"])
    await repo.add_position_requests(
        workspace_id="A",
        requests=[request(deadline, "U7"), request(deadline, "U8")],
        event=asked,
    )
    # Asking again keeps the first request.
    later = NOW + timedelta(hours=1)
    await repo.add_position_requests(
        workspace_id="A", requests=[request(deadline, "U7", at=later)], event=asked
    )
    await record(repo, deadline, stakeholder="U7", terms="fine")
    await record(repo, deadline, stakeholder="party:u8", terms="a party is not a user")

    requests = await repo.list_position_requests(workspace_id="A", deadline_id=deadline.id)
    assert requests == [
        replace(request(deadline, "U7"), answered_at=NOW),
        request(deadline, "U8"),
    ]
    kinds = [e.kind for e in await repo.list_events(workspace_id="A", deadline_id=deadline.id)]
    assert kinds.count(EventKind.POSITIONS_ASKED) == 2


async def test_events_are_returned_in_append_order(repo: SqlRepository) -> None:
    deadline = await add(repo)
    for i in range(5):
        await record(repo, deadline, stakeholder=f"U{i % 2}", terms=f"t{i}")
    events = await repo.list_events(workspace_id="A", deadline_id=deadline.id)
    assert [e.data.get("terms") for e in events] == [None, "t0", "t1", "t2", "t3", "t4"]
    assert all(e.deadline_id == deadline.id and e.at == NOW for e in events)


async def test_fifty_concurrent_position_updates(repo: SqlRepository) -> None:
    deadline = await add(repo)
    await asyncio.gather(
        *(record(repo, deadline, stakeholder="U9", terms=f"offer {i}") for i in range(50))
    )
    events = await repo.list_events(workspace_id="A", deadline_id=deadline.id)
    recorded = [e.data["terms"] for e in events if e.kind is EventKind.POSITION_RECORDED]
    assert sorted(recorded) == sorted(f"offer {i}" for i in range(50))
    [current] = await repo.list_positions(workspace_id="A", deadline_id=deadline.id)
    assert current.terms == recorded[-1]  # the last one committed


# --- tenancy -------------------------------------------------------------------------


async def test_workspaces_never_see_each_other(repo: SqlRepository) -> None:
    theirs = await add(repo, ws="A", title="Secret deal")
    await record(repo, theirs, stakeholder="U2")
    await repo.add_position_requests(
        workspace_id="A",
        requests=[request(theirs, "U3")],
        event=event(EventKind.POSITIONS_ASKED, theirs.id),
    )
    assert await repo.get_deadline(workspace_id="B", channel_id="C1", number=1) is None
    assert await repo.get_deadline_by_id(workspace_id="B", deadline_id=theirs.id) is None
    assert (
        await repo.find_deadlines_by_title(workspace_id="B", channel_id="C1", prefix="Secret") == []
    )
    assert await repo.find_deadlines_of_person(workspace_id="B", user_id="U1") == []
    assert await repo.find_deadlines_of_person(workspace_id="B", user_id="U3") == []
    assert await repo.list_deadlines(workspace_id="B") == []
    assert await repo.list_deadlines(workspace_id="B", channel_id="C1") == []
    assert await repo.list_positions(workspace_id="B", deadline_id=theirs.id) == []
    assert await repo.list_position_requests(workspace_id="B", deadline_id=theirs.id) == []
    assert await repo.list_events(workspace_id="B", deadline_id=theirs.id) == []

    with pytest.raises(NotFound):
        await repo.update_deadline(
            deadline=replace(theirs, workspace_id="B", status=DeadlineStatus.CANCELLED),
            event=event(EventKind.CANCELLED, theirs.id),
            alerts=(),
        )
    with pytest.raises(NotFound):
        await repo.record_position(
            workspace_id="B",
            position=position(theirs, terms="hijack"),
            event=event(EventKind.POSITION_RECORDED, theirs.id),
        )
    with pytest.raises(NotFound):
        await repo.add_position_requests(
            workspace_id="B",
            requests=[request(theirs, "U4")],
            event=event(EventKind.POSITIONS_ASKED, theirs.id),
        )
    # Nothing of workspace A moved.
    assert (await repo.get_deadline(workspace_id="A", channel_id="C1", number=1)) == theirs
    [pos] = await repo.list_positions(workspace_id="A", deadline_id=theirs.id)
    assert pos.terms == "no"
    assert len(await repo.list_position_requests(workspace_id="A", deadline_id=theirs.id)) == 1
    assert len(await repo.list_events(workspace_id="A", deadline_id=theirs.id)) == 3


# --- alert outbox ----------------------------------------------------------------------


async def test_claim_mark_and_release(repo: SqlRepository) -> None:
    assert await repo.next_alert_due() is None
    a = await add(repo, ws="A", offsets=(timedelta(hours=1),))
    b = await add(repo, ws="B", due=LATER + timedelta(minutes=30), offsets=())
    hour_before = LATER - timedelta(hours=1)
    assert await repo.next_alert_due() == hour_before

    assert (
        await repo.claim_due_alerts(
            now=hour_before - timedelta(seconds=1), lease_seconds=60, limit=10
        )
        == []
    )
    [first] = await repo.claim_due_alerts(now=hour_before, lease_seconds=60, limit=10)
    assert (first.deadline_id, first.workspace_id) == (a.id, "A")
    assert (first.offset, first.due_at, first.status, first.attempts) == (
        timedelta(hours=1),
        hour_before,
        AlertStatus.PENDING,
        0,
    )
    await repo.mark_alerts_sent(alert_ids=[first.id], sent_at=hour_before)

    claimed = await repo.claim_due_alerts(now=LATER + timedelta(hours=1), lease_seconds=60, limit=1)
    assert [(x.deadline_id, x.offset) for x in claimed] == [(a.id, timedelta(0))]  # limit, order
    rest = await repo.claim_due_alerts(now=LATER + timedelta(hours=1), lease_seconds=60, limit=10)
    assert [(x.workspace_id, x.deadline_id, x.due_at) for x in rest] == [
        ("B", b.id, LATER + timedelta(minutes=30))
    ]

    await repo.mark_alert_failed(alert_id=rest[0].id, error="channel_not_found")
    retry_at = LATER + timedelta(hours=2)
    await repo.release_alert(alert_id=claimed[0].id, retry_at=retry_at, error="HTTP 503")
    assert await repo.next_alert_due() == retry_at  # the sent and failed ones are done

    far = LATER + timedelta(days=30)
    assert (
        await repo.claim_due_alerts(now=retry_at - timedelta(seconds=1), lease_seconds=60, limit=10)
        == []
    )
    [again] = await repo.claim_due_alerts(now=far, lease_seconds=60, limit=10)
    assert (again.id, again.due_at, again.attempts) == (claimed[0].id, LATER, 1)

    rows = {row["id"]: row for row in (await repo.export_all())["alerts"]}
    assert (
        rows[first.id]["status"] == "sent" and rows[first.id]["sent_at"] == hour_before.isoformat()
    )
    assert rows[first.id]["lease_until"] is None
    assert rows[rest[0].id]["status"] == "failed"
    assert rows[rest[0].id]["last_error"] == "channel_not_found"
    assert rows[again.id]["last_error"] == "HTTP 503"
    assert rows[again.id]["not_before"] == retry_at.isoformat()


async def test_lease_expires(repo: SqlRepository) -> None:
    await add(repo, offsets=())
    claimed = await repo.claim_due_alerts(now=LATER, lease_seconds=60, limit=10)
    assert len(claimed) == 1
    # Still leased (SQLite: by the given clock; PostgreSQL: by the database clock).
    assert await repo.claim_due_alerts(now=LATER, lease_seconds=60, limit=10) == []
    # The claimer died long ago: its lease lies in the past.
    await repo.renew_leases(alert_ids=[claimed[0].id], lease_seconds=-3600, now=LATER)
    again = await repo.claim_due_alerts(now=LATER, lease_seconds=60, limit=10)
    assert [x.id for x in again] == [claimed[0].id]


async def test_renewing_keeps_only_what_is_still_ours(
    database: Database, open_repo: RepoFactory
) -> None:
    mine, other_replica = await open_repo(database), await open_repo(database)
    for i in range(3):
        await add(mine, title=f"T{i}", offsets=())
    claimed = [a.id for a in await mine.claim_due_alerts(now=LATER, lease_seconds=60, limit=10)]
    assert len(claimed) == 3
    await mine.mark_alerts_sent(alert_ids=claimed[:1], sent_at=LATER)
    # The third one's lease ran out and the other replica took it.
    await mine.renew_leases(alert_ids=claimed[2:], lease_seconds=-3600, now=LATER)
    taken = await other_replica.claim_due_alerts(now=LATER, lease_seconds=60, limit=10)
    assert [a.id for a in taken] == claimed[2:]
    assert await mine.renew_leases(alert_ids=claimed, lease_seconds=60, now=LATER) == claimed[1:2]


async def test_mark_many_sent_at_once(repo: SqlRepository) -> None:
    deadline = await add(repo, offsets=(timedelta(hours=1),))
    claimed = await repo.claim_due_alerts(now=LATER, lease_seconds=60, limit=10)
    await repo.mark_alerts_sent(alert_ids=[a.id for a in claimed], sent_at=LATER)
    alerts = (await repo.export_all())["alerts"]
    assert {(a["deadline_id"], a["status"]) for a in alerts} == {(deadline.id, "sent")}
    assert await repo.next_alert_due() is None


async def test_deadline_states_come_whole_and_only_from_the_workspace(
    repo: SqlRepository,
) -> None:
    first, second = await add(repo, title="First"), await add(repo, title="Second")
    theirs = await add(repo, ws="B", title="Theirs")
    position = Position(
        deadline_id=second.id,
        stakeholder="U2",
        label="<@U2>",
        stance=Stance.OPPOSE,
        terms="no",
        recorded_by="U2",
        recorded_at=NOW,
    )
    await repo.record_position(
        workspace_id="A", position=position, event=event(EventKind.POSITION_RECORDED, second.id)
    )
    request = PositionRequest(deadline_id=first.id, user_id="U3", asked_by="U1", asked_at=NOW)
    await repo.add_position_requests(
        workspace_id="A", requests=[request], event=event(EventKind.POSITIONS_ASKED, first.id)
    )
    states = await repo.load_deadline_states(
        workspace_id="A", deadline_ids=[second.id, first.id, theirs.id]
    )
    by_title = {state.deadline.title: state for state in states}
    assert sorted(by_title) == ["First", "Second"]
    assert by_title["First"].requests == (request,) and by_title["First"].positions == ()
    assert by_title["Second"].positions == (position,) and by_title["Second"].requests == ()


async def test_concurrent_claimers_never_share_an_alert(
    database: Database, open_repo: RepoFactory
) -> None:
    first, second = await open_repo(database), await open_repo(database)
    for i in range(20):  # 20 deadlines x (9 offsets + the deadline itself) = 200 alerts
        offsets = tuple(timedelta(minutes=m) for m in range(1, 10))
        await add(first, title=f"T{i}", due=LATER + timedelta(seconds=i), offsets=offsets)

    async def drain(repo: SqlRepository) -> list[int]:
        ids: list[int] = []
        while batch := await repo.claim_due_alerts(
            now=LATER + timedelta(days=1), lease_seconds=60, limit=7
        ):
            ids.extend(alert.id for alert in batch)
            await asyncio.sleep(0)
        return ids

    got_first, got_second = await asyncio.gather(drain(first), drain(second))
    assert not set(got_first) & set(got_second)
    assert len(got_first) + len(got_second) == len(set(got_first) | set(got_second)) == 200


# --- export / import --------------------------------------------------------------------


async def _snapshot(repo: SqlRepository) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for ws in ("A", "B"):
        deadlines = await repo.list_deadlines(workspace_id=ws)
        shown[ws] = [
            (
                d,
                await repo.get_deadline(workspace_id=ws, channel_id=d.channel_id, number=d.number),
                await repo.list_positions(workspace_id=ws, deadline_id=d.id),
                await repo.list_position_requests(workspace_id=ws, deadline_id=d.id),
                await repo.list_events(workspace_id=ws, deadline_id=d.id),
            )
            for d in deadlines
        ]
    return shown


async def test_export_then_import_into_a_fresh_database(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    d1 = await add(repo, ws="A", title="Signed usage agreement")
    d2 = await add(repo, ws="A", title="Side letter", channel="C2")
    await add(repo, ws="B", title="Other tenant")
    await record(repo, d1, stakeholder="party:anthropic", terms="No mass surveillance")
    await record(repo, d1, stakeholder="U5", terms="ok", stance=Stance.SUPPORT)
    await repo.add_position_requests(
        workspace_id="A",
        requests=[request(d1, "U5"), request(d1, "U6")],
        event=event(EventKind.POSITIONS_ASKED, d1.id, users=["U5", "U6"]),
    )
    await repo.update_deadline(
        deadline=replace(d2, due_at=LATER + timedelta(days=1), updated_at=NOW),
        event=event(EventKind.EXTENDED, d2.id, reason="best and final offer under review"),
        alerts=plan_alerts(due_at=LATER + timedelta(days=1), offsets=(), now=NOW),
    )
    [claimed, *_] = await repo.claim_due_alerts(now=LATER, lease_seconds=60, limit=1)
    await repo.mark_alerts_sent(alert_ids=[claimed.id], sent_at=LATER)
    talks = negotiation_key("A", d1.channel_id)
    for name, reps in (("Anthropic", ("U5",)), ("Department of Defense", ("U7", "U8"))):
        party = Party(negotiation=talks, name=name, reps=reps, declared_by="U1", declared_at=NOW)
        await repo.save_party(workspace_id="A", party=party)
    await repo.set_expected(
        workspace_id="A",
        deadline_id=d1.id,
        keys=("anthropic",),
        event=event(EventKind.EXPECTED_CHANGED, d1.id, parties=["Anthropic"]),
    )
    for title, url, source in (
        ("Draft usage terms", None, None),
        ("Best and final offer", "https://example.com/bafo.pdf?v=2#p3", "Department of Defense"),
    ):
        offer = Offer(
            deadline_id=d1.id,
            version=0,
            title=title,
            url=url,
            party=source,
            recorded_by="U7",
            recorded_at=NOW,
        )
        stored = await repo.record_offer(
            workspace_id="A", offer=offer, event=event(EventKind.OFFER_RECORDED, d1.id)
        )
    assert stored.version == 2
    await repo.record_position(
        workspace_id="A",
        position=replace(position(d1, stakeholder="U9"), offer=2),
        event=event(EventKind.POSITION_RECORDED, d1.id, "U9"),
    )

    dump = await repo.export_all()
    assert dump["format"] == "parley-export" and dump["version"] == 2
    assert {k: len(v) for k, v in dump.items() if isinstance(v, list)} == {
        "counters": 3,  # A's two channels, and B's one
        "feed_tokens": 0,
        "conversation_references": 0,
        "deadlines": 3,
        "parties": 2,
        "expectations": 1,
        "escalations": 0,
        "offers": 2,
        "positions": 3,
        "position_requests": 2,
        "events": 11,
        "alerts": 13,
        "channel_links": 0,
        "alert_deliveries": 0,
    }

    restored = await open_repo(other_database)
    await restored.import_all(dump)
    assert await restored.export_all() == dump
    assert await _snapshot(restored) == await _snapshot(repo)
    assert await restored.list_parties(workspace_id="A", negotiation=talks) == (
        await repo.list_parties(workspace_id="A", negotiation=talks)
    )
    assert await restored.get_expected(workspace_id="A", deadline_id=d1.id) == ("anthropic",)
    offers = await restored.list_offers(workspace_id="A", deadline_id=d1.id)
    assert offers == await repo.list_offers(workspace_id="A", deadline_id=d1.id)
    assert [(o.version, o.url, o.party) for o in offers] == [
        (1, None, None),
        (2, "https://example.com/bafo.pdf?v=2#p3", "Department of Defense"),
    ]
    answered = {
        p.stakeholder: p.offer
        for p in await restored.list_positions(workspace_id="A", deadline_id=d1.id)
    }
    assert answered == {"party:anthropic": None, "U5": None, "U9": 2}
    # A third offer after the import is O3: versions carry on.
    third = await restored.record_offer(
        workspace_id="A",
        offer=replace(offers[0], title="Counter-proposal"),
        event=event(EventKind.OFFER_RECORDED, d1.id),
    )
    assert third.version == 3

    # Numbers (per channel), ids and the outbox carry on from where the export left them.
    d3 = await add(restored, ws="A", title="After import")
    assert d3.number == 2 and d3.id > max(d["id"] for d in dump["deadlines"])
    assert (await add(restored, ws="A", title="Also after", channel="C2")).number == 2
    await record(restored, d3)
    events = await restored.list_events(workspace_id="A", deadline_id=d3.id)
    assert len(events) == 2


async def test_import_refuses_a_non_empty_database_or_a_foreign_file(
    repo: SqlRepository,
) -> None:
    await add(repo)
    dump = await repo.export_all()
    with pytest.raises(InvalidInput, match="not empty"):
        await repo.import_all(dump)
    with pytest.raises(InvalidInput):
        await repo.import_all({"format": "something-else", "version": 1})
    with pytest.raises(InvalidInput):
        await repo.import_all({**dump, "version": 3})


async def test_import_rejects_malformed_rows(repo: SqlRepository) -> None:
    good = {"format": "parley-export", "version": 1, "counters": [], "deadlines": []}
    bad_rows: list[dict[str, Any]] = [
        {**good, "counters": [{"negotiation_key": "A/C1", "workspace_id": "A"}]},
        {
            **good,
            "counters": [{"negotiation_key": "A/C1", "workspace_id": "A", "last_number": "1"}],
        },
        {
            **good,
            "counters": [
                {"negotiation_key": "A/C1", "workspace_id": "A", "last_number": 1, "extra": 1}
            ],
        },
        {**good, "deadlines": "nope"},
        {
            **good,
            "events": [
                {
                    "id": 1,
                    "workspace_id": "A",
                    "deadline_id": 99,
                    "kind": "created",
                    "at": NOW.isoformat(),
                    "actor_id": "U1",
                    "data": {},
                }
            ],
        },
        {
            **good,
            "events": [
                {
                    "id": 1,
                    "workspace_id": "A",
                    "deadline_id": 99,
                    "kind": "created",
                    "at": "2030-01-01T00:00:00",
                    "actor_id": "U1",
                    "data": {},
                }
            ],
        },
    ]
    for data in bad_rows:
        with pytest.raises(InvalidInput):
            await repo.import_all(data)
    assert (await repo.export_all())["counters"] == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("javascript:alert(1)", "not an http(s) link"),
        ("https://user:secret@example.com/offer", "user name or password"),
        ("https://example.com/<script>", "characters a link cannot"),
    ],
)
async def test_import_checks_offer_links_as_the_command_does(
    repo: SqlRepository,
    other_database: Database,
    open_repo: RepoFactory,
    url: str,
    problem: str,
) -> None:
    d1 = await add(repo)
    offer = Offer(
        deadline_id=d1.id,
        version=0,
        title="BAFO",
        url="https://example.com/bafo",
        party=None,
        recorded_by="U1",
        recorded_at=NOW,
    )
    await repo.record_offer(workspace_id="A", offer=offer, event=event(EventKind.OFFER_RECORDED))
    dump = await repo.export_all()
    dump["offers"][0]["url"] = url
    restored = await open_repo(other_database)
    with pytest.raises(InvalidInput, match=re.escape(problem)):
        await restored.import_all(dump)
    assert (await restored.export_all())["deadlines"] == []


# --- time and failures --------------------------------------------------------------------


async def test_instants_round_trip_as_aware_utc(repo: SqlRepository) -> None:
    new_york = ZoneInfo("America/New_York")
    due = datetime(2030, 11, 27, 17, 0, 0, 123456, tzinfo=new_york)
    created = await add(repo, due=due, offsets=(timedelta(days=1),))
    fetched = await repo.get_deadline(workspace_id="A", channel_id="C1", number=created.number)
    assert fetched is not None
    assert created == fetched
    for stamp in (created.due_at, fetched.due_at, fetched.created_at, fetched.updated_at):
        assert stamp.tzinfo is UTC
    assert fetched.due_at == due
    assert fetched.due_at == datetime(2030, 11, 27, 22, 0, 0, 123456, tzinfo=UTC)
    [alert] = await repo.claim_due_alerts(now=due - timedelta(days=1), lease_seconds=5, limit=1)
    assert alert.due_at == due - timedelta(days=1) and alert.due_at.tzinfo is UTC
    next_due = await repo.next_alert_due()
    assert next_due is not None and next_due.tzinfo is UTC


async def test_naive_datetimes_are_refused(repo: SqlRepository) -> None:
    naive = a_deadline(workspace="A", due=datetime(2030, 1, 1, 12, 0), offsets=(), created=NOW)
    with pytest.raises(Exception, match="naive datetime"):
        await add_deadline(repo, naive, alerts=())
    assert await repo.list_deadlines(workspace_id="A") == []


async def test_ping_and_unreachable_database(repo: SqlRepository, database: Database) -> None:
    await repo.ping()
    if is_sqlite(database.url):
        url = "sqlite+aiosqlite:////nonexistent-dir/parley.db"
    else:
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/test"
    gone = SqlRepository(make_engine(url))
    try:
        with pytest.raises(StorageUnavailable):
            await gone.ping()
        with pytest.raises(StorageUnavailable):
            await gone.get_deadline(workspace_id="A", channel_id="C1", number=1)
        with pytest.raises(StorageUnavailable):
            await add(gone)
    finally:
        await gone.close()


async def test_planned_alerts_keep_their_offsets(repo: SqlRepository) -> None:
    alerts = (PlannedAlert(offset=timedelta(minutes=15), due_at=LATER - timedelta(minutes=15)),)
    draft = a_deadline(
        workspace="A", platform="teams", due=LATER, offsets=(timedelta(minutes=15),), created=NOW
    )
    created = await add_deadline(repo, draft, alerts=alerts)
    assert created.reminder_offsets == (timedelta(minutes=15),)
    assert created.platform == "teams"
    [alert] = await repo.claim_due_alerts(now=LATER, lease_seconds=5, limit=5)
    assert alert.offset == timedelta(minutes=15)


async def test_in_memory_sqlite_takes_turns_on_its_one_connection() -> None:
    engine = make_engine("sqlite+aiosqlite://")
    await run_migrations_on(engine)
    repo = SqlRepository(engine)
    try:
        deadline = await add(repo)
        await asyncio.gather(
            *(record(repo, deadline, stakeholder="U9", terms=f"offer {i}") for i in range(10)),
            *(repo.list_positions(workspace_id="A", deadline_id=deadline.id) for _ in range(10)),
        )
        events = await repo.list_events(workspace_id="A", deadline_id=deadline.id)
        assert len(events) == 11
    finally:
        await repo.close()
