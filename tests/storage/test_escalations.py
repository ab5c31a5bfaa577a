"""The escalation store on SQLite and PostgreSQL: ladders with their alert rows in one
write, the hourly nudge claim (once between concurrent callers), and export/import."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bot.domain import AlertStatus, Event, EventKind, plan_alerts
from bot.errors import InvalidInput
from bot.escalation import DEFAULT_LADDER, Rung, Step, alert_offsets
from storage.repository import SqlRepository
from tests.builders import a_deadline, add_deadline

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def nudged(deadline_id: int, at: datetime = NOW) -> Event:
    return Event(
        deadline_id=deadline_id,
        kind=EventKind.NUDGED,
        at=at,
        actor_id="U1",
        data={"people": ["U2"]},
    )


def changed(deadline_id: int, ladder: str | None) -> Event:
    return Event(
        deadline_id=deadline_id,
        kind=EventKind.ESCALATION_CHANGED,
        at=NOW,
        actor_id="U1",
        data={"ladder": ladder},
    )


async def test_a_ladder_is_set_with_its_alerts_and_dropped(repo: SqlRepository) -> None:
    deadline = await add_deadline(repo, a_deadline(workspace="A", created=NOW, due=NOW + 48 * HOUR))
    other = await add_deadline(repo, a_deadline(workspace="A", created=NOW, title="Other"))
    ladder = (Rung(2 * HOUR, Step.DM), Rung(HOUR, Step.CHANNEL))
    alerts = plan_alerts(due_at=deadline.due_at, offsets=alert_offsets(deadline, ladder), now=NOW)
    await repo.set_ladder(
        deadline=deadline,
        ladder=ladder,
        event=changed(deadline.id, "2h:dm,1h:channel"),
        alerts=alerts,
    )
    assert await repo.get_ladders(workspace_id="A", deadline_ids=[deadline.id, other.id]) == {
        deadline.id: ladder
    }
    assert await repo.get_ladders(workspace_id="B", deadline_ids=[deadline.id]) == {}
    rows = [a for a in (await repo.export_all())["alerts"] if a["deadline_id"] == deadline.id]
    assert sorted(a["offset_seconds"] for a in rows) == sorted(
        int(a.offset.total_seconds()) for a in alerts
    )
    assert 7200 in [a["offset_seconds"] for a in rows]
    events = await repo.list_events(workspace_id="A", deadline_id=deadline.id)
    assert events[-1].kind is EventKind.ESCALATION_CHANGED
    await repo.set_ladder(
        deadline=deadline, ladder=None, event=changed(deadline.id, None), alerts=()
    )
    assert await repo.get_ladders(workspace_id="A", deadline_ids=[deadline.id]) == {}
    pending = [
        a
        for a in (await repo.export_all())["alerts"]
        if a["deadline_id"] == deadline.id and a["status"] == AlertStatus.PENDING.value
    ]
    assert pending == []


async def test_a_nudge_is_claimed_once_an_hour_by_one_of_concurrent_callers(
    database: Database, open_repo: RepoFactory
) -> None:
    first, second = await open_repo(database), await open_repo(database)
    deadline = await add_deadline(first, a_deadline(workspace="A", created=NOW))

    async def claim(repo: SqlRepository, at: datetime) -> datetime | None:
        return await repo.claim_nudge(
            workspace_id="A",
            deadline_id=deadline.id,
            now=at,
            not_before=at - HOUR,
            event=nudged(deadline.id, at),
        )

    results = await asyncio.gather(*(claim(r, NOW) for r in (first, second) * 3))
    assert results.count(None) == 1
    # Only the nudge that was recorded is in the history.
    history = await first.list_events(workspace_id="A", deadline_id=deadline.id)
    assert [e.kind for e in history].count(EventKind.NUDGED) == 1
    assert all(result == NOW for result in results if result is not None)
    assert await claim(first, NOW + 59 * timedelta(minutes=1)) == NOW
    assert await claim(second, NOW + HOUR) is None
    assert await claim(first, NOW + HOUR + timedelta(minutes=5)) == NOW + HOUR
    # A ladder set afterwards keeps the nudge's time, and the other way round.
    await first.set_ladder(
        deadline=deadline, ladder=DEFAULT_LADDER, event=changed(deadline.id, "x"), alerts=()
    )
    assert await claim(second, NOW + HOUR + timedelta(minutes=6)) == NOW + HOUR
    assert await first.get_ladders(workspace_id="A", deadline_ids=[deadline.id]) == {
        deadline.id: DEFAULT_LADDER
    }


async def test_escalations_round_trip_through_export_and_are_checked_on_import(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    deadline = await add_deadline(repo, a_deadline(workspace="A", created=NOW))
    await repo.set_ladder(
        deadline=deadline, ladder=DEFAULT_LADDER, event=changed(deadline.id, "d"), alerts=()
    )
    await repo.claim_nudge(
        workspace_id="A",
        deadline_id=deadline.id,
        now=NOW,
        not_before=NOW - HOUR,
        event=nudged(deadline.id),
    )
    dump = await repo.export_all()
    assert dump["escalations"] == [
        {
            "deadline_id": deadline.id,
            "workspace_id": "A",
            "ladder": "1d:dm,4h:owners,1h:channel",
            "nudged_at": NOW.isoformat(),
        }
    ]
    restored = await open_repo(other_database)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ladder": "1d:email"}, "escalations[0].ladder: "),
        ({"ladder": "x" * 30}, "escalations[0].ladder: "),
        ({"nudged_at": "yesterday"}, "escalations[0].nudged_at: not an ISO 8601 instant"),
        ({"deadline_id": deadline.id + 1}, "is not in the export"),
    ]
    for change, problem in bad:
        broken = {**dump, "escalations": [{**dump["escalations"][0], **change}]}
        with pytest.raises(InvalidInput, match=problem.replace("[", r"\[").replace("]", r"\]")):
            await restored.import_all(broken)
    await restored.import_all(dump)
    assert await restored.export_all() == dump
    assert await restored.get_ladders(workspace_id="A", deadline_ids=[deadline.id]) == {
        deadline.id: DEFAULT_LADDER
    }
