"""Stress: two `parley serve` replicas post each of 1,000 alerts exactly once, with
every core busy and a short lease.

Run on demand (not collected by pytest; about a minute a run)::

    python tests/bench/stress_alerts_once.py [--runs 5] [--lease 5] [--send-timeout 2.5]

The scenario of tests/e2e/test_replicas.py's
``test_two_replicas_post_each_of_1000_alerts_exactly_once`` (its seeding and its
replicas: 1,000 deadlines due within five seconds over 500
channels, a fake Slack Web API on loopback in this process), made harder: a CPU
burner per core (``python -c "while True: pass"``) runs through every run, and
the lease is short: by default the test's own 5 s (``ALERT_LEASE_SECONDS``; the
send timeout, ``ALERT_SEND_TIMEOUT_SECONDS``, half of it), against 120 s in production.
Each run has a PostgreSQL database of its own (next to ``--pg-url``), dropped
afterwards. A run ends when every alert has arrived and nothing more arrived
for two leases (a late second post would show then), or after ``--within`` s.

Per run it prints: duplicates (posts beyond the first of an alert), missing
alerts, the time from the first alert falling due to the last alert's first
post, the load average, and what the replicas logged about the lease: posts
given up after the send timeout ("gave up", jobs), and renewals too slow to
record a post in time ("too late", jobs given back). A post given up is retried,
and shows twice if the platform had taken it (chat APIs have no idempotency
key): on a send timeout too short for the load, duplicates come from there, one
for each post given up. Exit status 1 when any run posted an alert twice or
lost one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from storage.db import run_migrations  # noqa: E402
from tests.e2e.test_replicas import delivered, seed, start_replica  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# What the replicas log when the lease protections act (bot/scheduler.py).
GAVE_UP = "its alert is tried again"
TOO_LATE = "alerts given back"


@dataclass(frozen=True)
class Run:
    number: int
    duplicates: int
    missing: int
    seconds: float  # first due instant to the last alert's first post
    load: float  # 1-minute load average at the end
    gave_up: int
    too_late: int


@contextlib.contextmanager
def burners(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` processes that keep a core busy each; stopped (by their pids) afterwards."""
    started = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield started
    finally:
        for process in started:
            process.kill()
        for process in started:
            process.wait()


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def scratch_database(pg_url: str) -> AsyncIterator[str]:
    name = f"stress_alerts_{os.getpid()}_{secrets.token_hex(3)}"
    await _admin(pg_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        await run_migrations(url)
        yield url
    finally:
        await _admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop(replicas: list[subprocess.Popen[bytes]]) -> None:
    for process in replicas:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in replicas:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def first_posts(slack: FakeSlackApi) -> dict[tuple[str, str], float]:
    """When each alert was first accepted (``time.monotonic()``)."""
    from tests.e2e.test_replicas import REACHED

    first: dict[tuple[str, str], float] = {}
    for call in slack.calls_to("chat.postMessage"):
        match = REACHED.search(str(call.params.get("text", ""))) if call.accepted else None
        if match:
            first.setdefault((str(call.params["channel"]), match.group(1)), call.at)
    return first


async def one_run(number: int, args: argparse.Namespace, logs: Path) -> Run:
    quiet_for = max(2.0, 2 * args.lease)
    async with scratch_database(args.pg_url) as url, FakeSlackApi() as slack:
        await seed(url, count=args.alerts, channels=args.alerts // 2, due_in=args.due_in)
        first_due = time.monotonic() + args.due_in
        folder = logs / f"run{number}"
        folder.mkdir()
        replicas = [
            start_replica(
                url,
                slack,
                folder,
                name,
                lease_seconds=args.lease,
                send_timeout=args.send_timeout,
            )
            for name in ("a", "b")
        ]
        try:
            until = time.monotonic() + args.within
            while time.monotonic() < until:
                await asyncio.sleep(0.25)
                calls = slack.calls_to("chat.postMessage")
                last = max((call.at for call in calls), default=0.0)
                complete = len(delivered(slack)) >= args.alerts
                if complete and time.monotonic() - last >= quiet_for:
                    break
                if any(process.poll() is not None for process in replicas):
                    raise RuntimeError(f"a replica exited; see {folder}")
            load = os.getloadavg()[0]
        finally:
            stop(replicas)
        posts: Counter[tuple[str, str]] = delivered(slack)
        firsts = first_posts(slack)
    logged = "".join(path.read_text(errors="replace") for path in folder.glob("*.log"))
    return Run(
        number=number,
        duplicates=sum(n - 1 for n in posts.values()),
        missing=args.alerts - len(posts),
        seconds=max(firsts.values(), default=first_due) - first_due,
        load=load,
        gave_up=logged.count(GAVE_UP),
        too_late=logged.count(TOO_LATE),
    )


async def stress(args: argparse.Namespace) -> int:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="stress-alerts-") as tmp, burners(args.burners):
        print(
            f"{args.runs} runs: {args.alerts} alerts, 2 replicas, lease {args.lease:g} s, "
            f"send timeout {args.send_timeout:g} s, {args.burners} CPU burners "
            f"on {os.cpu_count()} cores",
            flush=True,
        )
        print(
            f"{'run':>4} {'dup':>5} {'miss':>5} {'time s':>8} {'load':>6} {'gave up':>8} "
            f"{'too late':>9}",
            flush=True,
        )
        for number in range(1, args.runs + 1):
            run = await one_run(number, args, Path(tmp))
            runs.append(run)
            print(
                f"{run.number:>4} {run.duplicates:>5} {run.missing:>5} {run.seconds:>8.1f} "
                f"{run.load:>6.1f} {run.gave_up:>8} {run.too_late:>9}",
                flush=True,
            )
    failed = [run for run in runs if run.duplicates or run.missing]
    print(("FAIL" if failed else "PASS") + f"  every alert posted exactly once in {len(runs)} runs")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--lease", type=float, default=5.0, help="ALERT_LEASE_SECONDS")
    parser.add_argument("--send-timeout", type=float, default=None, help="default: half the lease")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--due-in", type=float, default=4.0, help="s from seeding to the first due")
    parser.add_argument("--within", type=float, default=240.0, help="s a run may take at most")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    if args.send_timeout is None:
        args.send_timeout = args.lease / 2
    return args


def main() -> int:
    args = parse_args()
    try:
        return asyncio.run(stress(args))
    except KeyboardInterrupt:
        print("interrupted; replicas and burners stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
