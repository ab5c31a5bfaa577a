"""The LinkStore contract (``bot.channel_links``) and per-(alert, channel) deliveries, on
SQLite and PostgreSQL, and the in-memory fake held to the same answers; export and
import carry linked channels and deliveries, and refuse a link without its home."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.channel_links import CODE_LIFETIME, LinkCode, LinkedChannel, code_hash, new_code
from bot.errors import InvalidInput
from storage.repository import SqlRepository
from tests.builders import NOW, add_deadline
from tests.fakes.stores import MemoryDeadlines, MemoryOutbox
from tests.storage.conftest import Database, RepoFactory


def a_code(typed: str, *, channel: str = "C1") -> LinkCode:
    return LinkCode(
        code_hash=code_hash(typed),
        workspace_id="slack:T1",
        channel_id=channel,
        platform="slack",
        created_by="U1",
        created_at=NOW,
        expires_at=NOW + CODE_LIFETIME,
    )


def member(ws: str, ch: str, platform: str, *, minutes: int = 0) -> LinkedChannel:
    return LinkedChannel(
        workspace_id=ws,
        channel_id=ch,
        platform=platform,
        home_workspace_id="slack:T1",
        home_channel_id="C1",
        linked_by="U1",
        linked_by_name="Alex",
        linked_at=NOW + timedelta(minutes=minutes),
    )


HOME = member("slack:T1", "C1", "slack")
TEAMS = member("teams:tenant", "19:conv@thread.tacv2", "teams", minutes=1)


@pytest.fixture(params=["sql", "memory"])
async def stores(request: pytest.FixtureRequest, repo: SqlRepository) -> Any:
    if request.param == "sql":
        return repo, repo
    memory = MemoryDeadlines()
    return memory, MemoryOutbox(memory)


async def test_a_code_is_taken_once_and_not_after_it_expires(stores: Any) -> None:
    links, _ = stores
    typed = new_code()
    await links.add_link_code(code=a_code(typed))
    # Typed in lower case, without dashes: the same code.
    taken = await links.take_link_code(code_hash=code_hash(typed.lower().replace("-", "")), now=NOW)
    assert taken == a_code(typed)
    assert await links.take_link_code(code_hash=code_hash(typed), now=NOW) is None

    late = new_code()
    await links.add_link_code(code=a_code(late, channel="C2"))
    expires = NOW + CODE_LIFETIME
    assert await links.take_link_code(code_hash=code_hash(late), now=expires) is None
    assert await links.take_link_code(code_hash=code_hash("nothing"), now=NOW) is None


async def test_a_linked_set_is_found_from_each_member_and_by_its_home(stores: Any) -> None:
    links, _ = stores
    assert await links.channel_link(workspace_id="slack:T1", channel_id="C1") is None
    await links.add_links(links=[TEAMS, HOME])
    await links.add_links(links=[HOME])  # already there: kept as it was
    assert await links.channel_link(workspace_id="slack:T1", channel_id="C1") == HOME
    found = await links.channel_link(workspace_id=TEAMS.workspace_id, channel_id=TEAMS.channel_id)
    assert found == TEAMS and not found.is_home and found.negotiation == "slack:T1/C1"
    members = await links.linked_channels(home_workspace_id="slack:T1", home_channel_id="C1")
    assert members == [HOME, TEAMS]  # the home first

    await links.remove_links(channels=[(TEAMS.workspace_id, TEAMS.channel_id)])
    assert await links.linked_channels(home_workspace_id="slack:T1", home_channel_id="C1") == [HOME]


async def test_deliveries_are_kept_per_alert_and_channel(stores: Any) -> None:
    links, outbox = stores
    deadline = await add_deadline(links)
    claimed = await outbox.claim_due_alerts(now=deadline.due_at, lease_seconds=60, limit=10)
    ids = [alert.id for alert in claimed]
    assert ids and await outbox.delivered_to(alert_ids=ids) == set()
    await outbox.record_delivery(alert_ids=ids, workspace_id="slack:T1", channel_id="C1", at=NOW)
    await outbox.record_delivery(alert_ids=ids, workspace_id="slack:T1", channel_id="C1", at=NOW)
    assert await outbox.delivered_to(alert_ids=ids) == {("slack:T1", "C1")}
    assert await outbox.delivered_to(alert_ids=[max(ids) + 100]) == set()


async def test_export_and_import_carry_links_and_deliveries(
    repo: SqlRepository, other_database: Database, open_repo: RepoFactory
) -> None:
    deadline = await add_deadline(repo)
    await repo.add_links(links=[HOME, TEAMS])
    await repo.add_link_code(code=a_code(new_code()))
    [alert, *_] = await repo.claim_due_alerts(now=deadline.due_at, lease_seconds=60, limit=10)
    await repo.record_delivery(
        alert_ids=[alert.id], workspace_id=TEAMS.workspace_id, channel_id=TEAMS.channel_id, at=NOW
    )
    export = await repo.export_all()
    assert len(export["channel_links"]) == 2 and len(export["alert_deliveries"]) == 1
    assert "link_codes" not in export  # one-time secrets stay behind

    other = await open_repo(other_database)
    await other.import_all(export)
    assert await other.linked_channels(home_workspace_id="slack:T1", home_channel_id="C1") == [
        HOME,
        TEAMS,
    ]
    assert await other.delivered_to(alert_ids=[alert.id]) == {
        (TEAMS.workspace_id, TEAMS.channel_id)
    }


async def test_an_import_refuses_a_link_without_its_home(repo: SqlRepository) -> None:
    export = await repo.export_all()
    export["channel_links"] = [
        {
            "workspace_id": "teams:tenant",
            "channel_id": "19:x",
            "platform": "teams",
            "home_workspace_id": "slack:T1",
            "home_channel_id": "C1",
            "linked_by": "U1",
            "linked_by_name": "Alex",
            "linked_at": NOW.isoformat(),
        }
    ]
    with pytest.raises(InvalidInput, match="home channel is not linked"):
        await repo.import_all(export)
    export["channel_links"][0]["platform"] = "irc"
    with pytest.raises(InvalidInput, match="unknown value 'irc'"):
        await repo.import_all(export)
