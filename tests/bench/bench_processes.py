"""Processes for bench_slack.py: start a server, wait for its first answer, watch it, stop it.

A server is any process that serves ``POST /slack/events`` on 127.0.0.1 (``parley
serve``, or one of tests/bench/bench_servers.py). Its start-up time is from the
spawn to the first signed ``/deadline help`` it answers as expected; its resident
memory and CPU time come from /proc. Also here: a fresh PostgreSQL database for
one run (created, migrated, and dropped on the way out).
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import ClientSession
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fakes.signing import signed_headers, slash_command_body

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path
    spawned: float  # time.perf_counter() just before the process was started
    startup: float = math.nan  # seconds from spawn to the first answered command

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def memory_mib(self) -> tuple[float, float]:
        """Resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return fields.get("VmRSS", math.nan), fields.get("VmHWM", math.nan)

    def cpu_seconds(self) -> float:
        """User and system CPU time of the process so far."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


def parley_argv(port: int) -> list[str]:
    script = Path(sys.executable).parent / "parley"
    start = [str(script)] if script.exists() else [sys.executable, "-m", "bot.main"]
    return [*start, "serve", "--host", "127.0.0.1", "--port", str(port)]


def parley_env(
    database_url: str, *, api_url: str, secret: str, token: str, log_level: str
) -> dict[str, str]:
    # Nothing of the caller's Parley configuration: not even empty SLACK_CLIENT_ID/SECRET
    # (slack-bolt would switch to OAuth).
    drop = ("DATABASE_URL", "SLACK_", "MICROSOFT_", "TEAMS_", "PUBLIC_URL", "LOG_", "ALERT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith((*drop, "PARLEY_"))}
    return env | {
        "DATABASE_URL": database_url,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_BOT_TOKEN": token,
        "SLACK_API_URL": api_url,
        "TEAMS_ENABLED": "false",
        "PARLEY_REPLICAS": "1",
        "LOG_LEVEL": log_level,
        "PYTHONPATH": str(ROOT),
    }


async def post(session: ClientSession, url: str, *, secret: str, body: str) -> tuple[int, str]:
    """POST ``body`` signed as Slack would: (status, reply text)."""
    headers = signed_headers(body, secret=secret)
    async with session.post(url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


def probe_body(text: str, n: int, *, team: str = "T1", channel: str = "CPROBE") -> str:
    """A ``/deadline`` command from U1 with a trigger_id of its own."""
    return slash_command_body(
        command="/deadline",
        text=text,
        team_id=team,
        channel_id=channel,
        user_id="U1",
        trigger_id=f"probe.{n}.{secrets.token_hex(8)}",
    )


async def start_server(
    name: str, argv: list[str], env: dict[str, str], tmp: Path, *, expect: str, secret: str
) -> Server:
    """Start a server and wait (60 s at most) until it answers a signed /deadline help."""
    log = tmp / f"{name}.log"
    handle = open_log(log)
    spawned = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=tmp, stdin=asyncio.subprocess.DEVNULL, stdout=handle, stderr=handle
    )
    handle.close()
    server = Server(name, process, int(argv[argv.index("--port") + 1]), log, spawned)
    async with ClientSession() as session:
        for attempt in range(6000):  # 10 ms apart: 60 s
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
            try:
                status, answer = await post(
                    session, server.url, secret=secret, body=probe_body("help", attempt)
                )
            except OSError:
                status, answer = 0, ""
            if status == 200 and expect in answer:
                server.startup = time.perf_counter() - spawned
                return server
            await asyncio.sleep(0.01)
    await stop_server(server)
    raise RuntimeError(f"{name} did not answer within 60 s:\n{server.log_tail()}")


async def stop_server(server: Server) -> None:
    if server.process.returncode is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(server.process.wait(), 30)
    except TimeoutError:
        server.process.kill()
        await server.process.wait()


@asynccontextmanager
async def running(
    name: str, argv: list[str], env: dict[str, str], tmp: Path, *, expect: str, secret: str
) -> AsyncIterator[Server]:
    """A started server (see ``start_server``), stopped on the way out."""
    server = await start_server(name, argv, env, tmp, expect=expect, secret=secret)
    try:
        yield server
    finally:
        await stop_server(server)


async def admin(admin_url: str, statement: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sql(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_postgres(admin_url: str) -> AsyncIterator[str]:
    from storage.db import run_migrations

    name = f"parley_bench_slack_{secrets.token_hex(4)}"
    await admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        await run_migrations(url)
        yield url
    finally:
        await admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
