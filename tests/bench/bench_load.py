"""Load benchmark: two `parley serve` replicas on PostgreSQL behind a balancer, and one.

Run on demand (not collected by pytest; needs PostgreSQL, see TEST_DATABASE_URL)::

    python tests/bench/bench_load.py [--duration 60] [--concurrency 50] [--channels 10]

Everything stays on 127.0.0.1. For each configuration (two replicas, then one)
the benchmark creates a fresh PostgreSQL database, migrates it, seeds 10 open
deadlines in each list channel, starts real `parley serve` processes (Slack
pointed at a local fake Web API) and a round-robin TCP balancer in its own
process, then drives signed slash commands from ``--concurrency`` keep-alive
clients in another process: 80% ``/deadline list`` (in channels with 10 open
deadlines), 20% ``/deadline add`` with an ISO 8601 time (in channels of their
own, so lists do not grow), from three users over ``--channels`` channels in each
of ``--workspaces`` workspaces (1 by default: new deadlines of one workspace take
turns on its numbering). A request counts when its ack arrives and is the
expected reply; a "Working on it" ack (the core missed its 2 s budget) or any
other answer is an error.

Printed: requests/s, p50/p99 ack latency by command, errors, and the ratio of
two replicas to one, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import random
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from aiohttp import ClientSession, TCPConnector  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.domain import Event, EventKind, NewDeadline, PlannedAlert  # noqa: E402
from storage.db import make_engine, run_migrations  # noqa: E402
from storage.repository import SqlRepository  # noqa: E402
from tests.fakes.signing import signed_headers, slash_command_body  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
SECRET = "bench-load-signing-secret"
TOKEN = "xoxb-bench-load"
SEEDED = 10  # open deadlines in each list channel
ADD_SHARE = 0.2


# --- the balancer (its own process) -------------------------------------------------
def balancer_process(backends: list[int], reply: Any) -> None:
    asyncio.run(_balance(backends, reply))


async def _balance(backends: list[int], reply: Any) -> None:
    """Round-robin TCP balancing: each client connection goes to the next replica."""
    turn = 0

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        port = backends[turn % len(backends)]
        turn += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    reply.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


# --- the load generator (its own process) ----------------------------------------------
def load_process(job: dict[str, Any], reply: Any) -> None:
    reply.send(asyncio.run(_load(**job)))


async def _load(
    url: str,
    requests: dict[str, list[tuple[str, str]]],  # kind -> [(body, expected text)]
    concurrency: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {kind: [] for kind in requests}
    errors: dict[str, int] = dict.fromkeys(requests, 0)
    samples: list[str] = []
    # Signed once: Slack accepts a signature for five minutes.
    signed = {
        kind: [
            (body.encode(), signed_headers(body, secret=SECRET), expect) for body, expect in bodies
        ]
        for kind, bodies in requests.items()
    }
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration

    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:

        async def client(number: int) -> None:
            rng = random.Random(number)
            while (start := time.perf_counter()) < stop_at:
                kind = "add" if rng.random() < ADD_SHARE else "list"
                body, headers, expect = rng.choice(signed[kind])
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        answer = await response.text()
                    ok = response.status == 200 and expect in answer
                except Exception as error:
                    ok, answer = False, repr(error)
                done = time.perf_counter()
                if start >= measure_from and done <= stop_at:
                    if ok:
                        latencies[kind].append(done - start)
                    else:
                        errors[kind] += 1
                        if len(samples) < 3:
                            samples.append(answer[:200])

        await asyncio.gather(*(client(n) for n in range(concurrency)))
    return {"latencies": latencies, "errors": errors, "seconds": duration, "samples": samples}


# --- database and replicas ----------------------------------------------------------------
async def _admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(workspaces: int, channels: int) -> AsyncIterator[str]:
    name = f"parley_bench_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        await run_migrations(url)
        repository = SqlRepository(make_engine(url))
        now = datetime.now(UTC)
        try:
            for team, channel in itertools.product(range(workspaces), range(channels)):
                for n in range(SEEDED):
                    due = now + timedelta(days=30 + n)
                    draft = NewDeadline(
                        workspace_id=f"slack:T{team}",
                        channel_id=f"CLIST{channel}",
                        platform="slack",
                        title=f"Seeded deadline {n}",
                        due_at=due,
                        tz="America/New_York",
                        owner_id="U1",
                        reminder_offsets=(timedelta(days=1),),
                        created_at=now,
                    )
                    event = Event(deadline_id=0, kind=EventKind.CREATED, at=now, actor_id="U1")
                    alert = PlannedAlert(offset=timedelta(0), due_at=due)
                    await repository.create_deadline(draft=draft, event=event, alerts=(alert,))
        finally:
            await repository.close()
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_replica(url: str, api_url: str, log_level: str, replicas: int) -> Replica:
    port = free_port()
    # Not even empty SLACK_CLIENT_ID/SECRET: slack-bolt would switch to OAuth.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_CLIENT_")}
    env = inherited | {
        "DATABASE_URL": url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": api_url,
        "TEAMS_ENABLED": "false",
        "PARLEY_REPLICAS": str(replicas),
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": "json",
        "PYTHONPATH": ROOT,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.main", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    replica = Replica(process=process, port=port)
    async with ClientSession() as session, asyncio.timeout(60):
        while True:  # until it answers /readyz (or exits)
            if process.returncode is not None:
                raise RuntimeError(f"replica exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return replica
            except OSError:
                pass
            await asyncio.sleep(0.1)


async def stop_replica(replica: Replica) -> int:
    if replica.process.returncode is None:
        replica.process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(replica.process.wait(), 60)


# --- one configuration -------------------------------------------------------------------------
def bodies(workspaces: int, channels: int, api: FakeSlackApi) -> dict[str, list[tuple[str, str]]]:
    """Signed-to-be request bodies by kind, with the text each ack must contain."""
    made: dict[str, list[tuple[str, str]]] = {"list": [], "add": []}
    for team, channel in itertools.product(range(workspaces), range(channels)):
        for user in range(3):
            common = {
                "team_id": f"T{team}",
                "user_id": f"U{user}",
                "response_url": api.response_url(),
            }
            listing = slash_command_body(
                command="/deadline", text="list", channel_id=f"CLIST{channel}", **common
            )
            made["list"].append((listing, f"Open deadlines ({SEEDED})"))
            adding = slash_command_body(
                command="/deadline",
                text=f"add Load {channel}-{user} due 2031-06-0{user + 1}T17:00Z",
                channel_id=f"CADD{channel}",
                **common,
            )
            made["add"].append((adding, '"in_channel"'))
    return made


@dataclass
class Result:
    name: str
    data: dict[str, Any]

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.data["latencies"].values())

    @property
    def errors(self) -> int:
        return sum(self.data["errors"].values())

    @property
    def rate(self) -> float:
        return float(self.requests / self.data["seconds"])

    def percentile(self, q: float, kind: str | None = None) -> float:
        values: list[float] = sorted(
            v for k, vs in self.data["latencies"].items() if kind in (None, k) for v in vs
        )
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def drive(running: list[Replica], api: FakeSlackApi, args: argparse.Namespace) -> Any:
    """Balancer and load generator, each in a process of its own; the load's results."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    balancer = context.Process(
        target=balancer_process, args=([r.port for r in running], child), daemon=True
    )
    balancer.start()
    loop = asyncio.get_running_loop()
    try:
        port = await loop.run_in_executor(None, parent.recv)
        job = {
            "url": f"http://127.0.0.1:{port}/slack/events",
            "requests": bodies(args.workspaces, args.channels, api),
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "duration": args.duration,
        }
        results, child_results = context.Pipe()
        loader = context.Process(target=load_process, args=(job, child_results), daemon=True)
        print(f"  {args.concurrency} clients for {args.duration:.0f} s", flush=True)
        loader.start()
        data = await loop.run_in_executor(None, results.recv)
        loader.join(10)
        return data
    finally:
        balancer.terminate()
        balancer.join(10)


async def run_configuration(replicas: int, args: argparse.Namespace) -> Result:
    name = f"{replicas} replica{'s' if replicas > 1 else ''}"
    print(f"{name}: preparing a fresh database", flush=True)
    running: list[Replica] = []
    async with FakeSlackApi() as api, fresh_database(args.workspaces, args.channels) as url:
        try:
            for _ in range(replicas):
                running.append(await start_replica(url, api.api_url, args.log_level, replicas))
            data = await drive(running, api, args)
        finally:
            codes = [await stop_replica(r) for r in running]
        late = len(api.calls_to("response_url"))
    result = Result(name, data)
    print(
        f"{name}: {result.rate:.0f} req/s, p50 {result.percentile(0.5):.1f} ms, "
        f"p99 {result.percentile(0.99):.1f} ms, errors {result.errors}, "
        f"late replies {late}, exit codes {codes}",
        flush=True,
    )
    for sample in data["samples"]:
        print(f"  error sample: {sample}")
    return result


async def main(args: argparse.Namespace) -> int:
    two = await run_configuration(2, args)
    one = await run_configuration(1, args)
    print()
    print(
        f"{'configuration':<12} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'list p99':>8} {'add p99':>8} {'errors':>6}"
    )
    for result in (two, one):
        print(
            f"{result.name:<12} {result.rate:7.0f} {result.percentile(0.5):7.1f} "
            f"{result.percentile(0.99):7.1f} {result.percentile(0.99, 'list'):8.1f} "
            f"{result.percentile(0.99, 'add'):8.1f} {result.errors:6d}"
        )
    ratio = two.rate / one.rate if one.rate else float("nan")
    print(f"\ntwo replicas / one: {ratio:.2f}x requests/s (cpus: {os.cpu_count()})")
    return 0 if two.errors == 0 and one.errors == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds each")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--channels", type=int, default=10, help="list (and add) channels")
    parser.add_argument(
        "--workspaces", type=int, default=1, help="Slack teams the load spreads over"
    )
    parser.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the replicas")
    sys.exit(asyncio.run(main(parser.parse_args())))
