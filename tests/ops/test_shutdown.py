"""SIGTERM drains a real `parley serve`: it stops accepting connections, the request in
progress is answered, the alert being sent is sent, the alert claimed but not yet
sent is given back (no lease left to run out), and the process exits 0 well within
the grace period. Its JSON log lines carry no secret."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text

from storage.db import make_engine, run_migrations
from tests.builders import a_deadline, seed_due_alert, sql_store
from tests.fakes.signing import signed_headers, slash_command_body
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.opskit import BOT_TOKEN, SECRET, TEAM, ServerLog

GRACE = 45.0  # terminationGracePeriodSeconds / stop_grace_period in infra/
BEARER = "bearer-shutdown-secret-8c1"
FEED_TOKEN = "FeedTokenShutdown0123456789abcdef"


@dataclass
class GatedSlack(FakeSlackApi):
    """The fake Slack API, holding chat.postMessage until ``gate`` is set."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "chat.postMessage" and not self.gate.is_set():
            self.arrived.set()
            await self.gate.wait()
        return await super()._api(request)


async def seed(url: str) -> list[int]:
    """Two deadlines in one channel whose alerts are due already: the first is sent,
    the second waits behind it (one post per second per Slack channel)."""
    await run_migrations(url)
    now = datetime.now(UTC)
    ids = []
    async with sql_store(url) as store:
        for n, title in enumerate(("Held alert", "Waiting alert")):
            due = now - timedelta(seconds=2 - n)
            draft = a_deadline(
                workspace=f"slack:{TEAM}",
                title=title,
                due=due,
                tz="UTC",
                owner="U0OWNER",
                created=now - timedelta(hours=1),
            )
            ids.append((await seed_due_alert(store, draft)).id)
    return ids


@pytest.fixture
async def slack() -> AsyncIterator[GatedSlack]:
    fake = GatedSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def test_sigterm_finishes_work_in_progress_and_exits_in_time(
    tmp_path: Path, slack: GatedSlack
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
    await seed(url)
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
        sys.executable, "-m", "bot.main", "serve", "--host", "127.0.0.1", "--port", "0",
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    log = ServerLog(process.stderr)
    try:
        listening = await log.wait_for(lambda e: "listening on" in e["message"], within=30)
        port = int(listening["message"].rsplit(":", 1)[1])
        await asyncio.wait_for(slack.arrived.wait(), 10)  # the first alert is being sent

        # Secrets in a URL, to be kept out of the access log.
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /calendar/{FEED_TOKEN}.ics?token={BEARER} HTTP/1.1\r\n".encode())
        writer.write(b"Host: parley\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

        # A slash command in progress: headers sent, body not yet.
        body = slash_command_body(command="/deadline", text="list", team_id=TEAM)
        headers = signed_headers(body, secret=SECRET) | {
            "Content-Length": str(len(body)),
            "Expect": "100-continue",
            "Authorization": f"Bearer {BEARER}",
            "X-Request-Id": "in-flight-1",
        }
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(f"POST /slack/events HTTP/1.1\r\nHost: parley\r\n{head}\r\n".encode())
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100 Continue")

        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await log.wait_for(lambda e: e["message"] == "alert dispatcher stopping", within=10)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

        slack.gate.set()  # the send in progress completes
        writer.write(body.encode())
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        status_line, _, rest = response.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 200 OK"
        ack = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert ack["response_type"] == "ephemeral" and "Held alert" in ack["text"]

        code = await asyncio.wait_for(process.wait(), GRACE)
        took = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await log.close()
    assert code == 0
    assert took < 15, f"{took:.1f} s from SIGTERM to exit"

    posted = [c.params["text"] for c in slack.calls_to("chat.postMessage")]
    assert len(posted) == 1 and "Held alert" in posted[0]
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT d.title, a.status, a.lease_until, a.claimed_by, a.attempts "
                        "FROM alert a JOIN deadline d ON d.id = a.deadline_id ORDER BY a.id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("Held alert", "sent", None, None, 0),
        ("Waiting alert", "pending", None, None, 0),  # given back, ready for another replica
    ]

    entries = [json.loads(line) for line in log.lines]
    messages = [e["message"] for e in entries]
    assert "gave back 1 claimed alerts" in messages
    assert "Parley stopped" in messages
    [access] = [
        e for e in entries if e.get("request_id") == "in-flight-1" and "POST" in e["message"]
    ]
    assert access["outcome"] == "ok" and access["command"] == "deadline list"
    output = "".join(log.lines)
    for secret in (SECRET, BOT_TOKEN, BEARER, FEED_TOKEN):
        assert secret not in output


async def test_a_worker_signalled_right_after_its_start_line_drains_and_exits_0(
    tmp_path: Path,
) -> None:
    """The start line is the orchestrator's sign that the process runs: a SIGTERM sent
    the moment it appears is a graceful stop, never the signal's default (death)."""
    env = os.environ | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
        "TEAMS_ENABLED": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.main", "worker",
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    log = ServerLog(process.stderr)
    try:
        await log.wait_for(lambda e: "worker dispatching alerts" in e["message"], within=30)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), GRACE)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await log.close()
    messages = [json.loads(line)["message"] for line in log.lines]
    assert code == 0, messages
    assert "alert dispatcher stopping" in messages
    assert messages[-1] == "Parley stopped"
