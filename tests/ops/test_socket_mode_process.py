"""Real processes in Socket Mode: `parley serve` connects to Slack's websocket (a local
fake) and answers a command through it; `parley worker` on the same configuration
only dispatches alerts and never connects. Both stop on SIGTERM, and their logs carry
neither the app token nor the websocket URL's ticket."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.socket_mode import FakeSocketMode
from tests.ops.opskit import BOT_TOKEN, TEAM, ServerLog

APP_TOKEN = "xapp-1-A1-77-processtoken9f3"
TICKET = "ticket-5c1e-secret"


async def start(command: str, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, ServerLog]:
    args = ["serve", "--host", "127.0.0.1", "--port", "0"] if command == "serve" else [command]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.main", *args,
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    return process, ServerLog(process.stderr)


@pytest.mark.slow  # two processes
async def test_serve_connects_and_the_worker_does_not(tmp_path: Path) -> None:
    async with FakeSocketMode() as socket, FakeSlackApi(team_id=TEAM) as api:
        api.socket_url = f"{socket.ws_url}?ticket={TICKET}"
        env = os.environ | {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "",
            "SLACK_API_URL": api.api_url,
            "TEAMS_ENABLED": "false",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
        }
        worker, worker_log = await start("worker", env)
        await worker_log.wait_for(lambda e: "worker dispatching" in e["message"], within=30)
        serve, serve_log = await start("serve", env)
        try:
            await serve_log.wait_for(lambda e: "Socket Mode: connected" in e["message"], 30)
            assert socket.connections == 1
            envelope = await socket.send(
                "slash_commands",
                {
                    "team_id": TEAM,
                    "channel_id": "C1",
                    "user_id": "U1",
                    "user_name": "alice",
                    "command": "/deadline",
                    "text": "add Signed usage agreement due 2030-11-27T17:00-05:00",
                    "response_url": api.response_url("r1"),
                    "trigger_id": "t1",
                },
            )
            ack = await socket.ack_of(envelope, within=10)
            assert ack["payload"]["response_type"] == "in_channel"
            assert "Signed usage agreement" in ack["payload"]["text"]
        finally:
            for process in (serve, worker):
                process.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(p.wait(), 30) for p in (serve, worker)]
            await serve_log.close()
            await worker_log.close()
        assert codes == [0, 0]
        # Only the one serve process asked for a websocket URL and connected.
        assert len(api.calls_to("apps.connections.open")) == 1 and socket.connections == 1
        for line in serve_log.lines + worker_log.lines:
            assert APP_TOKEN not in line and TICKET not in line
