"""The alert outbox between two replicas: what makes a post happen once (SQLite and
PostgreSQL alike, see conftest). The dispatcher renews an alert's lease right before
posting it and posts only what the renewal returns, then records it sent."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from tests.storage.test_repository import LATER, add

if TYPE_CHECKING:
    from tests.storage.conftest import Database, RepoFactory

pytestmark = pytest.mark.asyncio


async def test_a_renewal_keeps_an_untaken_alert_from_the_other_replica(
    database: Database, open_repo: RepoFactory
) -> None:
    mine, other_replica = await open_repo(database), await open_repo(database)
    await add(mine, offsets=())
    # Claimed with a lease that has already run out, as after a long wait in a queue.
    [alert] = await mine.claim_due_alerts(now=LATER, lease_seconds=-3600, limit=10)
    assert await mine.renew_leases(alert_ids=[alert.id], lease_seconds=60, now=LATER) == [alert.id]
    assert await other_replica.claim_due_alerts(now=LATER, lease_seconds=60, limit=10) == []


async def test_a_post_recorded_late_still_stops_the_replica_that_took_it_over(
    database: Database, open_repo: RepoFactory
) -> None:
    mine, other_replica = await open_repo(database), await open_repo(database)
    await add(mine, offsets=())
    [alert] = await mine.claim_due_alerts(now=LATER, lease_seconds=-3600, limit=10)
    [taken] = await other_replica.claim_due_alerts(now=LATER, lease_seconds=60, limit=10)
    assert taken.id == alert.id
    # The first replica had posted it; its record lands after the takeover.
    await mine.mark_alerts_sent(alert_ids=[alert.id], sent_at=LATER + timedelta(seconds=1))
    # The other replica's renewal right before its own post finds nothing to post.
    assert await other_replica.renew_leases(alert_ids=[alert.id], lease_seconds=60, now=LATER) == []
    assert await other_replica.claim_due_alerts(now=LATER, lease_seconds=60, limit=10) == []
    [row] = (await mine.export_all())["alerts"]
    assert (row["status"], row["lease_until"]) == ("sent", None)
