"""Several `parley serve` replicas on one PostgreSQL database share the alert work.

Real processes, a real PostgreSQL database of our own, and a fake Slack Web API
on loopback that records every chat.postMessage. Each alert must reach Slack
exactly once — also when one replica is killed with SIGKILL mid-burst, where
only the alerts that replica had in flight may arrive twice — and through
random 429 and 500 answers, with Retry-After honoured.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.builders import a_deadline, seed_due_alert, sql_store
from tests.fakes.slack_api import Call, FakeSlackApi

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

REACHED = re.compile(r"Deadline reached(?::| —) (D\d+)")
TEAM = "T0REPLICA"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake


async def seed(url: str, *, count: int, channels: int, due_in: float) -> None:
    """``count`` deadlines whose only alert (the deadline itself) falls due
    within the same minute, spread over ``channels`` channels."""
    now = datetime.now(UTC)
    async with sql_store(url) as store:
        for n in range(count):
            draft = a_deadline(
                workspace=f"slack:{TEAM}",
                channel=f"C{n % channels:04d}",
                title=f"Burst item {n}",
                due=now + timedelta(seconds=due_in + (n % 10) * 0.5),
                tz="UTC",
                owner="U0OWNER",
                created=now,
            )
            await seed_due_alert(store, draft)


def start_replica(
    url: str,
    slack: FakeSlackApi,
    tmp_path: Path,
    name: str,
    *,
    lease_seconds: float = 5.0,
    send_timeout: float = 2.5,
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": url,
        "SLACK_SIGNING_SECRET": "e2e-signing-secret",
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_API_URL": slack.api_url,
        "ALERT_LEASE_SECONDS": str(lease_seconds),
        "ALERT_SEND_TIMEOUT_SECONDS": str(send_timeout),
        "LOG_LEVEL": "WARNING",
    }
    # The replica writes to its own copy of the file; ours is closed once it started.
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.main", "serve", "--port", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def replicas() -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def delivered(slack: FakeSlackApi) -> Counter[tuple[str, str]]:
    """(channel, deadline ref) of every post Slack accepted."""
    posts: Counter[tuple[str, str]] = Counter()
    for call in slack.calls_to("chat.postMessage"):
        if call.accepted:
            match = REACHED.search(str(call.params.get("text", "")))
            if match:
                posts[(str(call.params["channel"]), match.group(1))] += 1
    return posts


async def wait_until_delivered(slack: FakeSlackApi, count: int, *, within: float) -> None:
    """Wait until ``count`` different alerts have been accepted (duplicates aside)."""
    async with asyncio.timeout(within):
        while len(delivered(slack)) < count:
            seen = len(slack.calls_to("chat.postMessage"))
            await slack.wait_for("chat.postMessage", count=seen + 1, within=within)


def accepted_reached(call: Call) -> bool:
    return call.accepted and REACHED.search(str(call.params.get("text", ""))) is not None


async def in_flight(url: str) -> int:
    """Alerts claimed under a live lease and not yet marked sent."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text("SELECT count(*) FROM alert WHERE status = 'pending' AND lease_until > now()")
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()


async def test_two_replicas_post_each_of_1000_alerts_exactly_once(
    pg_url: str, slack: FakeSlackApi, replicas: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    await seed(pg_url, count=1000, channels=500, due_in=4)
    replicas += [start_replica(pg_url, slack, tmp_path, n) for n in ("a", "b")]
    await slack.wait_for("chat.postMessage", count=1000, within=120, where=accepted_reached)
    posts = delivered(slack)
    assert len(posts) == 1000
    assert max(posts.values()) == 1
    assert sum(1 for p in replicas if p.poll() is None) == 2


async def test_a_replica_killed_mid_burst_loses_nothing(
    pg_url: str, slack: FakeSlackApi, replicas: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    await seed(pg_url, count=1000, channels=500, due_in=4)
    victim, survivor = (start_replica(pg_url, slack, tmp_path, n) for n in ("a", "b"))
    replicas += [victim, survivor]
    await slack.wait_for("chat.postMessage", count=250, within=120, where=accepted_reached)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    at_kill = await in_flight(pg_url)
    # The survivor takes over the dead replica's claims when their 5 s lease runs out.
    await wait_until_delivered(slack, 1000, within=120)
    posts = delivered(slack)
    assert len(posts) == 1000, "every alert arrived"
    twice = sum(n - 1 for n in posts.values())
    assert twice <= at_kill, f"{twice} duplicates, but only {at_kill} alerts were in flight"


async def test_random_429_and_500_answers_deliver_every_alert_once(
    pg_url: str, slack: FakeSlackApi, replicas: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    chaos = random.Random(2026)
    slack.chaos(
        "chat.postMessage",
        lambda: chaos.choice([None, None, None, 429, 500]),
        retry_after=1,
    )
    await seed(pg_url, count=200, channels=100, due_in=3)
    replicas += [start_replica(pg_url, slack, tmp_path, n) for n in ("a", "b")]
    await slack.wait_for("chat.postMessage", count=200, within=150, where=accepted_reached)
    posts = delivered(slack)
    assert len(posts) == 200 and max(posts.values()) == 1
    refused = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert refused, "the fake did answer 429"
    # After a 429, the same alert was not tried again before Retry-After had passed.
    calls = slack.calls_to("chat.postMessage")
    for limited in refused:
        key = alert_key(limited)
        retries = [c.at for c in calls if alert_key(c) == key and c.at > limited.at]
        assert retries, f"{key} was retried"
        assert min(retries) - limited.at >= 0.95


def alert_key(call: Call) -> tuple[str, str]:
    match = REACHED.search(str(call.params.get("text", "")))
    return (str(call.params.get("channel")), match.group(1) if match else "")
