"""Replay protection across replicas: two Parley instances on one PostgreSQL database
run a signed request once between them; the shared keys expire and are pruned."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.replay import ReplayGuard
from bot.clock import ManualClock
from bot.config import load_settings
from bot.main import build_app, open_runtime
from bot.runtime import Runtime
from storage.db import make_engine, run_migrations
from storage.repository import SqlRepository
from tests.conftest import NOW
from tests.fakes.signing import signed_headers, slash_command_body
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.opskit import SECRET, TEAM, slack_settings

ADD = "add Signed usage agreement due 2026-11-27T17:00-05:00"


@pytest.fixture
async def replicas(
    pg_url: str, clock: ManualClock, slack_api: FakeSlackApi
) -> AsyncIterator[list[tuple[Runtime, TestClient[Any, Any]]]]:
    settings = load_settings(database_url=pg_url, parley_replicas=2, **slack_settings(slack_api))
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(2):
            runtime = await stack.enter_async_context(open_runtime(settings, clock=clock))
            client = TestClient(TestServer(build_app(runtime)))
            await stack.enter_async_context(client)
            found.append((runtime, client))
        yield found


async def test_a_signed_add_replayed_to_two_replicas_makes_one_deadline(
    replicas: list[tuple[Runtime, TestClient[Any, Any]]], slack_api: FakeSlackApi
) -> None:
    body = slash_command_body(
        command="/deadline", text=ADD, team_id=TEAM, response_url=slack_api.response_url("r")
    )
    headers = signed_headers(body, secret=SECRET)
    answers = []
    for index in (0, 1, 1, 0):
        response = await replicas[index][1].post("/slack/events", data=body, headers=headers)
        answers.append((response.status, await response.text()))
    assert [status for status, _ in answers] == [200] * 4
    assert json.loads(answers[0][1])["response_type"] == "in_channel"
    assert [text for _, text in answers[1:]] == ["", "", ""]
    runtime = replicas[0][0]
    assert len(await runtime.repository.list_deadlines(workspace_id=f"slack:{TEAM}")) == 1


async def shared_keys_are_claimed_once_expire_and_are_pruned(url: str) -> None:
    store = SqlRepository(make_engine(url))
    try:
        later = NOW + timedelta(minutes=5)
        assert await store.claim_replay_key(key="k1", now=NOW, expires_at=later)
        assert not await store.claim_replay_key(key="k1", now=NOW, expires_at=later)
        just_before = later - timedelta(seconds=1)
        assert not await store.claim_replay_key(key="k1", now=just_before, expires_at=later)
        assert await store.claim_replay_key(key="k2", now=NOW, expires_at=later)
        # Expired: the key may run again, whether or not it was pruned yet.
        again = later + timedelta(minutes=5)
        assert await store.claim_replay_key(key="k1", now=later, expires_at=again)
        assert await store.prune_replay_keys(now=later + timedelta(seconds=1)) == 1  # k2
        assert not await store.claim_replay_key(key="k1", now=later, expires_at=again)
    finally:
        await store.close()


async def test_shared_keys_on_sqlite(sqlite_url: str) -> None:
    await run_migrations(sqlite_url)
    await shared_keys_are_claimed_once_expire_and_are_pruned(sqlite_url)


async def test_shared_keys_on_postgresql(pg_url: str) -> None:
    await shared_keys_are_claimed_once_expire_and_are_pruned(pg_url)


async def test_one_replica_keeps_a_bounded_memory_of_five_minutes() -> None:
    clock = ManualClock(NOW)
    guard = ReplayGuard(clock=clock, memory_max=3)
    assert [await guard.first_time("k", key) for key in "abc"] == [True] * 3
    assert [await guard.first_time("k", key) for key in "abc"] == [False] * 3
    assert await guard.first_time("other kind", "a")
    assert await guard.first_time("k", "a")  # the oldest went when the fourth came
    clock.advance(timedelta(minutes=5))
    assert await guard.first_time("k", "c")  # expired
