"""A PostgreSQL database behind this Parley's migrations (a replica started before
`parley migrate` ran, or an empty database): real `parley` processes say so in one
log line, `/readyz` answers 503 with that reason, Slack and Teams commands answer
it in one sentence, and the alert dispatcher waits. Once the migration runs, the
replica becomes ready and sends what is due, without a restart. A replica started
while the database is away waits the same way until it answers."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.errors import DATABASE_DOWN, MIGRATION_NEEDED
from storage.db import alembic_config, run_migrations
from tests.adapters.teams.teams_world import open_world as open_teams_world
from tests.adapters.teams.teams_world import teams_settings
from tests.builders import a_deadline, seed_due_alert, sql_store
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.signing import signed_headers, slash_command_body
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.opskit import BOT_TOKEN, SECRET, TEAM, ServerLog
from tests.ops.tcp_proxy import TcpProxy

GRACE = 45.0
OLDER = "0005"
# The code's newest migration, as `parley migrate` would apply it.
HEAD = str(ScriptDirectory.from_config(alembic_config()).get_current_head())
BEHIND_LINE = f"the database is at revision {OLDER}, this Parley needs {HEAD}: run `parley migrate`"


@asynccontextmanager
async def parley(
    *args: str, url: str, slack: FakeSlackApi
) -> AsyncIterator[tuple[asyncio.subprocess.Process, ServerLog]]:
    """``parley ARGS`` on ``url`` with Slack at the fake, logging JSON lines; killed
    at the end if the test has not stopped it."""
    env = os.environ | {
        "DATABASE_URL": url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "TEAMS_ENABLED": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.main", *args,
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    log = ServerLog(process.stderr)
    try:
        yield process, log
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await log.close()


async def stopped(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), GRACE)


def entries(log: ServerLog) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.lines]


async def command(http: aiohttp.ClientSession, port: int, line: str) -> dict[str, Any]:
    """A signed slash command to the running process; its ack."""
    name, _, words = line.partition(" ")
    body = slash_command_body(
        command=name, text=words, team_id=TEAM, trigger_id=secrets.token_hex(4)
    )
    async with http.post(
        f"http://127.0.0.1:{port}/slack/events",
        data=body,
        headers=signed_headers(body, secret=SECRET)
        | {"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 200
        ack: dict[str, Any] = await response.json()
        return ack


async def ready(http: aiohttp.ClientSession, port: int) -> tuple[int, dict[str, Any]]:
    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
        return response.status, await response.json()


async def seed_due_alert_now(url: str, title: str) -> None:
    now = datetime.now(UTC)
    draft = a_deadline(
        workspace=f"slack:{TEAM}", title=title, due=now, tz="UTC", created=now - timedelta(hours=1)
    )
    async with sql_store(url) as store:
        await seed_due_alert(store, draft)


async def test_serve_on_an_older_schema_says_so_then_runs_once_migrated(
    pg_empty_url: str, slack_api: FakeSlackApi
) -> None:
    await run_migrations(pg_empty_url, revision=OLDER)
    async with (
        parley("serve", "--host", "127.0.0.1", "--port", "0", url=pg_empty_url, slack=slack_api)
        as (process, log),
        aiohttp.ClientSession() as http,
    ):  # fmt: skip
        listening = await log.wait_for(lambda e: "listening on" in e["message"], within=30)
        port = int(listening["message"].rsplit(":", 1)[1])
        said = await log.wait_for(lambda e: "parley migrate" in e["message"], within=10)
        assert said["message"] == BEHIND_LINE and said["level"] == "ERROR"

        assert await ready(http, port) == (
            503,
            {"status": "database not migrated", "reason": BEHIND_LINE},
        )
        for line in (
            "/deadline list",
            "/deadline add Renewal due 2031-01-15T17:00Z",
            "/position D1 yes",
        ):
            ack = await command(http, port, line)
            assert ack == {**ack, "response_type": "ephemeral", "text": MIGRATION_NEEDED}
        assert slack_api.calls_to("chat.postMessage") == []

        # `parley migrate` runs meanwhile: the replica is ready and dispatches.
        await run_migrations(pg_empty_url)
        await seed_due_alert_now(pg_empty_url, "Migrated late")
        await log.wait_for(lambda e: "Parley is ready" in e["message"], within=15)
        assert (await ready(http, port))[0] == 200
        await slack_api.wait_for(
            "chat.postMessage", where=lambda c: "Migrated late" in c.params["text"], within=10
        )
        ack = await command(http, port, "/deadline list")
        assert "Migrated late" in ack["text"]
        assert await stopped(process) == 0

    logged = entries(log)
    assert [e["message"] for e in logged if "parley migrate" in e["message"]] == [BEHIND_LINE]
    assert [e for e in logged if e["level"] in ("ERROR", "CRITICAL")] == [said]
    assert not any("exception" in e for e in logged)


async def test_a_worker_on_an_empty_database_waits_and_stops_cleanly(
    pg_empty_url: str, slack_api: FakeSlackApi
) -> None:
    async with parley("worker", url=pg_empty_url, slack=slack_api) as (process, log):
        said = await log.wait_for(lambda e: "parley migrate" in e["message"], within=30)
        assert said["message"] == (
            f"the database has no Parley schema, this Parley needs {HEAD}: run `parley migrate`"
        )
        assert await stopped(process) == 0
    messages = [e["message"] for e in entries(log)]
    assert [m for m in messages if "parley migrate" in m] == [said["message"]]
    assert "Parley worker dispatching alerts" not in messages
    assert not any(e["logger"] == "parley.scheduler" for e in entries(log))
    assert messages[-1] == "Parley stopped"


@pytest.mark.parametrize("name", ["export", "shell", "demo"])
async def test_one_off_commands_stop_with_the_same_line(
    pg_empty_url: str, slack_api: FakeSlackApi, name: str
) -> None:
    await run_migrations(pg_empty_url, revision=OLDER)
    async with parley(name, url=pg_empty_url, slack=slack_api) as (process, log):
        code = await asyncio.wait_for(process.wait(), GRACE)
    assert code == 1
    assert [line.strip() for line in log.lines] == [f"parley: {BEHIND_LINE}"]


async def test_serve_started_while_the_database_is_away_checks_it_when_it_answers(
    pg_url: str, slack_api: FakeSlackApi
) -> None:
    """Nothing is known of the schema yet: not ready, commands answer that the database
    is away, no dispatcher; when it answers and is current, all of it starts."""
    target = make_url(pg_url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        await proxy.cut()
        through = target.set(port=proxy.port).render_as_string(hide_password=False)
        async with (
            parley("serve", "--host", "127.0.0.1", "--port", "0", url=through, slack=slack_api)
            as (process, log),
            aiohttp.ClientSession() as http,
        ):  # fmt: skip
            listening = await log.wait_for(lambda e: "listening on" in e["message"], within=30)
            port = int(listening["message"].rsplit(":", 1)[1])
            await log.wait_for(lambda e: "database unreachable" in e["message"], within=10)
            assert await ready(http, port) == (503, {"status": "database unreachable"})
            ack = await command(http, port, "/deadline list")
            assert ack["text"] == DATABASE_DOWN

            await seed_due_alert_now(pg_url, "Sent once it answers")
            await proxy.restore()
            await log.wait_for(lambda e: "Parley is ready" in e["message"], within=15)
            assert (await ready(http, port))[0] == 200
            await slack_api.wait_for(
                "chat.postMessage",
                where=lambda c: "Sent once it answers" in c.params["text"],
                within=10,
            )
            assert await stopped(process) == 0
    assert not any(e["level"] == "ERROR" or "exception" in e for e in entries(log))


async def test_a_teams_command_gets_the_same_sentence(
    pg_empty_url: str, clock: ManualClock
) -> None:
    await run_migrations(pg_empty_url, revision=OLDER)
    async with (
        FakeBotConnector() as connector,
        open_teams_world(teams_settings(pg_empty_url), clock, connector) as teams,
    ):
        posted = await teams.say("deadline add Renewal due 2031-01-15T17:00Z")
        assert posted.status == 200 and len(posted.messages) == 1
        # The card shows the sentence (code marks dropped); nothing else.
        shown = {line for line in posted.text.splitlines() if line}
        assert shown == {MIGRATION_NEEDED.replace("`", "")}
        assert (await teams.client.get("/readyz")).status == 503
