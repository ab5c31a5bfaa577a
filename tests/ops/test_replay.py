"""Replay protection across replicas: two Parley instances on one PostgreSQL database
run a signed request once between them, also when the copies arrive at once; the
shared keys expire and are pruned. A request whose command failed (the database went
away) runs when it is sent again: its key went with the failed transaction."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from adapters.replay import ReplayGuard
from bot.clock import ManualClock
from bot.config import load_settings
from bot.errors import DATABASE_DOWN
from bot.main import build_app, open_runtime
from bot.runtime import Runtime
from storage.db import make_engine, run_migrations
from storage.repository import SqlRepository
from tests.conftest import NOW
from tests.fakes.signing import interactive_body, signed_headers, slash_command_body
from tests.fakes.slack_api import RESPONSE_URL, FakeSlackApi
from tests.ops.opskit import SECRET, TEAM, slack_settings
from tests.ops.tcp_proxy import TcpProxy

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


async def test_copies_of_a_signed_add_sent_at_once_to_two_replicas_make_one_deadline(
    replicas: list[tuple[Runtime, TestClient[Any, Any]]], slack_api: FakeSlackApi
) -> None:
    """No replica has seen the request: the key is claimed in the add's own transaction,
    and the copy that loses stops there, writing nothing and answering nothing."""
    body = slash_command_body(
        command="/deadline", text=ADD, team_id=TEAM, response_url=slack_api.response_url("r")
    )
    headers = signed_headers(body, secret=SECRET)
    responses = await asyncio.gather(
        *(client.post("/slack/events", data=body, headers=headers) for _, client in replicas)
    )
    answers = sorted([await r.text() for r in responses])
    assert answers[0] == "" and json.loads(answers[1])["response_type"] == "in_channel"
    runtime = replicas[0][0]
    assert len(await runtime.repository.list_deadlines(workspace_id=f"slack:{TEAM}")) == 1


async def test_a_replayed_read_on_another_replica_is_answered_with_nothing(
    replicas: list[tuple[Runtime, TestClient[Any, Any]]], slack_api: FakeSlackApi
) -> None:
    """A command that writes nothing claims its key as it ends, before it answers."""
    await replicas[0][1].post(
        "/slack/events",
        data=(add := slash_command_body(command="/deadline", text=ADD, team_id=TEAM)),
        headers=signed_headers(add, secret=SECRET),
    )
    body = slash_command_body(command="/deadline", text="show D1", team_id=TEAM)
    headers = signed_headers(body, secret=SECRET)
    first = await replicas[0][1].post("/slack/events", data=body, headers=headers)
    assert "Signed usage agreement" in await first.text()
    again = await replicas[1][1].post("/slack/events", data=body, headers=headers)
    assert (again.status, await again.text()) == (200, "")


async def test_two_choices_of_one_question_clicked_on_two_replicas_make_one_deadline(
    replicas: list[tuple[Runtime, TestClient[Any, Any]]], slack_api: FakeSlackApi
) -> None:
    """Signed block_actions: each replica checks the other's signature on the value, and
    the question's key, claimed in the add's own transaction, lets one choice run."""
    body = slash_command_body(
        command="/deadline", text="add Side letter due Friday evening", team_id=TEAM
    )
    offered = await replicas[0][1].post(
        "/slack/events", data=body, headers=signed_headers(body, secret=SECRET)
    )
    ack = json.loads(await offered.text())
    buttons = [e for b in ack["blocks"] if b["type"] == "actions" for e in b["elements"]]
    clicks = []
    for (_, client), button, key in zip(replicas, buttons, ("one", "other"), strict=False):
        payload = {
            "type": "block_actions",
            "user": {"id": "U1", "username": "alex", "team_id": TEAM},
            "api_app_id": "A1",
            "team": {"id": TEAM, "domain": "acme"},
            "trigger_id": f"trigger-{key}",
            "container": {"type": "message", "channel_id": "C1"},
            "channel": {"id": "C1", "name": "negotiation"},
            "response_url": slack_api.response_url(key),
            "actions": [{"action_id": button["action_id"], "value": button["value"]}],
        }
        clicked = interactive_body(payload)
        clicks.append(
            client.post(
                "/slack/events", data=clicked, headers=signed_headers(clicked, secret=SECRET)
            )
        )
    assert [r.status for r in await asyncio.gather(*clicks)] == [200, 200]
    told = await slack_api.wait_for(RESPONSE_URL, count=2)
    texts = sorted(str(call.params.get("text")) for call in told)
    assert texts[0].startswith("New deadline set by <@U1>: D1 Side letter"), texts
    assert texts[1] == "One of these choices has already been used."
    listed = await replicas[0][0].repository.list_deadlines(workspace_id=f"slack:{TEAM}")
    assert [d.title for d in listed] == ["Side letter"]


@pytest.mark.parametrize("replicas", [1, 2])
async def test_a_signed_command_that_failed_runs_when_sent_again(
    pg_url: str, slack_api: FakeSlackApi, replicas: int
) -> None:
    target = make_url(pg_url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = target.set(port=proxy.port).render_as_string(hide_password=False)
        settings = load_settings(
            database_url=url, parley_replicas=replicas, **slack_settings(slack_api)
        )
        async with (
            open_runtime(settings) as runtime,
            TestClient(TestServer(build_app(runtime))) as client,
        ):
            # A real clock here (the signature's): a due time years ahead.
            text = "add Signed usage agreement due 2031-01-15T17:00Z"
            body = slash_command_body(command="/deadline", text=text, team_id=TEAM)
            headers = signed_headers(body, secret=SECRET)
            await proxy.cut()
            failed = await client.post("/slack/events", data=body, headers=headers)
            assert json.loads(await failed.text())["text"] == DATABASE_DOWN
            await proxy.restore()
            assert (await client.get("/readyz")).status == 200
            retried = await client.post("/slack/events", data=body, headers=headers)
            assert json.loads(await retried.text())["response_type"] == "in_channel"
            replayed = await client.post("/slack/events", data=body, headers=headers)
            assert (replayed.status, await replayed.text()) == (200, "")
            listed = await runtime.repository.list_deadlines(workspace_id=f"slack:{TEAM}")
            assert [d.title for d in listed] == ["Signed usage agreement"]


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
        # Given back (what it named failed): it may run again.
        await store.release_replay_key(key="k1")
        assert await store.claim_replay_key(key="k1", now=later, expires_at=again)
        # The deployment's secrets: the first one offered stays.
        assert await store.deployment_secret(name="buttons", create="a" * 64, now=NOW) == "a" * 64
        assert await store.deployment_secret(name="buttons", create="b" * 64, now=NOW) == "a" * 64
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
