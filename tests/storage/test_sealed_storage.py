"""The storage contract for sealed positions, the silence rule and settling a deadline,
on SQLite and PostgreSQL: what is written reads back, settling and the silence rule's
extension happen once, and export/import carries all of it, checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bot.domain import (
    DeadlineStatus,
    Event,
    EventKind,
    Position,
    SilenceRule,
    Stance,
    plan_alerts,
)
from bot.errors import InvalidInput
from bot.sealing import commitment
from storage.repository import SqlRepository
from tests.builders import a_deadline, add_deadline

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=2)
SALT = "0123456789abcdef0123456789abcdef"


def event(kind: EventKind, deadline_id: int, **data: Any) -> Event:
    return Event(deadline_id=deadline_id, kind=kind, at=NOW, actor_id="U1", data=data)


def sealed_position(deadline_id: int, stakeholder: str = "party:anthropic") -> Position:
    terms = "No mass surveillance"
    return Position(
        deadline_id=deadline_id,
        stakeholder=stakeholder,
        label="Anthropic",
        stance=Stance.OPPOSE,
        terms=terms,
        recorded_by="U5",
        recorded_at=NOW,
        salt=SALT,
        commitment=commitment(salt=SALT, label="Anthropic", stance="oppose", terms=terms),
    )


async def sealed_deadline(repo: SqlRepository) -> Any:
    draft = replace(
        a_deadline(workspace="A", due=DUE, created=NOW),
        sealed=True,
        silence=SilenceRule("extend", timedelta(days=1)),
        expected=("anthropic",),
    )
    return await add_deadline(repo, draft)


async def test_sealing_and_the_rule_are_stored_and_one_way(repo: SqlRepository) -> None:
    deadline = await sealed_deadline(repo)
    assert deadline.sealed and deadline.silence.text == "extend 1d"
    assert deadline.settled_at is None and not deadline.silence_extended
    assert await repo.get_expected(workspace_id="A", deadline_id=deadline.id) == ("anthropic",)
    # A write from a copy that predates sealing or settling never undoes them.
    stale = replace(deadline, sealed=False, silence=SilenceRule("oppose"), updated_at=NOW)
    saved = await repo.update_deadline(
        deadline=stale, event=event(EventKind.SILENCE_CHANGED, deadline.id), alerts=None
    )
    assert saved.sealed and saved.silence == SilenceRule("oppose")
    closed = replace(saved, status=DeadlineStatus.MET, settled_at=NOW)
    saved = await repo.update_deadline(
        deadline=closed, event=event(EventKind.COMPLETED, deadline.id), alerts=()
    )
    assert saved.settled_at == NOW
    reopened = replace(saved, status=DeadlineStatus.OPEN, settled_at=None)
    saved = await repo.update_deadline(
        deadline=reopened, event=event(EventKind.EXTENDED, deadline.id), alerts=None
    )
    assert saved.settled_at == NOW


async def test_a_sealed_position_keeps_salt_and_commitment(repo: SqlRepository) -> None:
    deadline = await sealed_deadline(repo)
    pos = sealed_position(deadline.id)
    await repo.record_position(
        workspace_id="A", position=pos, event=event(EventKind.POSITION_RECORDED, deadline.id)
    )
    assert await repo.list_positions(workspace_id="A", deadline_id=deadline.id) == [pos]
    changed = replace(pos, stance=Stance.SUPPORT, salt="f" * 32, commitment="e" * 64)
    await repo.record_position(
        workspace_id="A", position=changed, event=event(EventKind.POSITION_RECORDED, deadline.id)
    )
    assert await repo.list_positions(workspace_id="A", deadline_id=deadline.id) == [changed]
    # What alerts and feeds read comes hidden until the reveal.
    [state] = await repo.load_deadline_states(workspace_id="A", deadline_ids=[deadline.id])
    [shown] = state.positions
    assert shown.hidden and shown.terms == "" and shown.salt is None
    assert shown.commitment == "e" * 64


async def test_settling_happens_once_and_keeps_positions_recorded_meanwhile(
    repo: SqlRepository,
) -> None:
    deadline = await sealed_deadline(repo)
    mine = sealed_position(deadline.id)
    await repo.record_position(
        workspace_id="A", position=mine, event=event(EventKind.POSITION_RECORDED, deadline.id)
    )
    silent = replace(
        mine, stakeholder="U7", label="<@U7>", salt=None, commitment=None, by_silence=True
    )
    over = replace(mine, stance=Stance.SUPPORT, salt=None, commitment=None, by_silence=True)
    events = [event(EventKind.REVEALED, deadline.id, count=1)]
    done = await repo.settle_deadline(
        deadline=deadline, at=DUE, positions=[silent, over], events=events
    )
    assert done
    again = await repo.settle_deadline(deadline=deadline, at=DUE, positions=[silent], events=events)
    assert not again
    stored = {
        p.stakeholder: p
        for p in await repo.list_positions(workspace_id="A", deadline_id=deadline.id)
    }
    assert stored == {"party:anthropic": mine, "U7": silent}
    kinds = [e.kind for e in await repo.list_events(workspace_id="A", deadline_id=deadline.id)]
    assert kinds.count(EventKind.REVEALED) == 1
    settled = await repo.get_deadline_by_id(workspace_id="A", deadline_id=deadline.id)
    assert settled is not None and settled.settled_at == DUE and not settled.sealed_now
    [state] = await repo.load_deadline_states(workspace_id="A", deadline_ids=[deadline.id])
    assert not any(p.hidden for p in state.positions)


async def test_the_silence_extension_happens_once_and_keeps_its_own_alert(
    repo: SqlRepository,
) -> None:
    deadline = await sealed_deadline(repo)
    [claimed] = [
        a
        for a in await repo.claim_due_alerts(now=DUE, lease_seconds=60, limit=10)
        if a.offset == timedelta(0)
    ]
    new_due = DUE + timedelta(days=1)
    moved = replace(deadline, due_at=new_due, updated_at=DUE)
    planned = plan_alerts(due_at=new_due, offsets=(timedelta(hours=1),), now=DUE)
    extended = event(EventKind.EXTENDED, deadline.id, by_silence=True)

    async def extend() -> bool:
        return await repo.extend_by_silence(
            deadline=moved,
            previous_due=DUE,
            event=extended,
            alerts=planned,
            keep_alert_ids=[claimed.id],
        )

    assert await extend()
    assert not await extend()
    stored = await repo.get_deadline_by_id(workspace_id="A", deadline_id=deadline.id)
    assert stored is not None and stored.due_at == new_due and stored.silence_extended
    # The claimed alert is still held (its post announces the extension); the rest replanned.
    assert await repo.renew_leases(alert_ids=[claimed.id], lease_seconds=60, now=DUE) == [
        claimed.id
    ]
    dump = await repo.export_all()
    pending = sorted(
        (a["offset_seconds"], a["due_at"]) for a in dump["alerts"] if a["status"] == "pending"
    )
    assert pending == sorted(
        [
            (0, DUE.isoformat()),
            *((int(p.offset.total_seconds()), p.due_at.isoformat()) for p in planned),
        ]
    )
    events = await repo.list_events(workspace_id="A", deadline_id=deadline.id)
    assert sum(1 for e in events if e.kind is EventKind.EXTENDED) == 1


async def test_export_and_import_carry_sealing_settling_and_silence(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    deadline = await sealed_deadline(repo)
    await repo.record_position(
        workspace_id="A",
        position=sealed_position(deadline.id),
        event=event(EventKind.POSITION_RECORDED, deadline.id, sealed=True),
    )
    silent = replace(
        sealed_position(deadline.id, "U7"), salt=None, commitment=None, by_silence=True
    )
    await repo.settle_deadline(deadline=deadline, at=DUE, positions=[silent], events=[])
    dump = await repo.export_all()
    [row] = dump["deadlines"]
    assert row["sealed"] is True and row["silence_rule"] == "extend 1d"
    assert row["settled_at"] == DUE.isoformat()
    restored = await open_repo(other_database)
    await restored.import_all(dump)
    assert await restored.export_all() == dump
    assert await restored.list_positions(workspace_id="A", deadline_id=deadline.id) == (
        await repo.list_positions(workspace_id="A", deadline_id=deadline.id)
    )


async def test_import_checks_the_new_fields_and_defaults_them_in_older_exports(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    deadline = await sealed_deadline(repo)
    await repo.record_position(
        workspace_id="A",
        position=sealed_position(deadline.id),
        event=event(EventKind.POSITION_RECORDED, deadline.id),
    )
    dump = await repo.export_all()
    target = await open_repo(other_database)
    bad: list[tuple[str, str, Any, str]] = [
        ("deadlines", "silence_rule", "extend soon", "not a silence rule"),
        ("deadlines", "sealed", "yes", "not true or false"),
        ("positions", "salt", "XYZ", "salt and commitment"),
        ("positions", "commitment", None, "salt and commitment"),
    ]
    for section, field, value, problem in bad:
        broken = {**dump, section: [{**dump[section][0], field: value}]}
        with pytest.raises(InvalidInput, match=problem):
            await target.import_all(broken)
    older = {
        **dump,
        "deadlines": [
            {
                k: v
                for k, v in row.items()
                if k not in ("sealed", "silence_rule", "silence_extended")
            }
            for row in dump["deadlines"]
        ],
        "positions": [
            {k: v for k, v in row.items() if k != "by_silence"} for row in dump["positions"]
        ],
    }
    await target.import_all(older)
    [row] = (await target.export_all())["deadlines"]
    assert row["sealed"] is False and row["silence_rule"] == "none"
