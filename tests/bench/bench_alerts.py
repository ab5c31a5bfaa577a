"""Benchmark: the alert engine (a real ``parley worker``) against APScheduler 3, in one run.

Run on demand (not collected by pytest)::

    python tests/bench/bench_alerts.py [--backend sqlite|postgresql|both] [--deadlines 100000]

Needs, for the baseline only: ``pip install 'apscheduler<4'`` and, for PostgreSQL,
``pip install psycopg2-binary`` (APScheduler 3's SQLAlchemyJobStore is synchronous).
Without them the baseline is skipped with a message. PostgreSQL comes from
``--pg-url`` (default: the ``test`` database on 127.0.0.1:5432); the bench creates
its own scratch databases next to it and drops them afterwards, also on failure.

For each backend, twice (Parley, then APScheduler), on a database of its own:

1. Setup (not measured): ``--deadlines`` deadlines with five reminder offsets each
   (7d, 1d, 4h, 1h, 15m), so about five pending alerts a deadline, due over the
   coming weeks, bulk-inserted with SQLAlchemy Core executemany into the migrated
   tables (APScheduler: the same alerts as pickled date-trigger jobs in its
   ``apscheduler_jobs`` table, the row format of its SQLAlchemyJobStore).
   PostgreSQL databases are VACUUM ANALYZEd (as autovacuum would after a load) and
   CHECKPOINTed, so the load's dirty pages are not flushed during the bursts.
2. Just before the process starts, the time-critical rows go in: a *probe* alert
   already due (its post marks the start-up time), burst A of ``--burst`` alerts
   due at one instant ``--lead`` seconds after the start, each in its own channel,
   and burst B of as many alerts due ``--gap`` seconds later, ``--per-channel`` to
   a channel (deadline-to-channel assignment shuffled). The burst deadlines are
   due 4 hours after their burst; their 7d and 1d alerts were sent already.
3. The process runs against a fake Slack Web API in this process on 127.0.0.1,
   which stamps ``time.time()`` on every chat.postMessage as it arrives:
   Parley as ``parley worker`` (Slack gateway from SLACK_SIGNING_SECRET and
   SLACK_BOT_TOKEN, SLACK_API_URL pointing at the fake, Teams off); APScheduler as
   an AsyncIOScheduler with a SQLAlchemyJobStore whose job is an ``async def``
   that POSTs chat.postMessage with aiohttp (this file run with ``--apscheduler-child``).

Figures: start-up (process start to the probe's post: imports, migrations check,
first claim, one post); lateness = arrival at the fake minus due, p50/p99/max,
for burst A and for burst B, where Parley paces each channel at one post a second
and "beyond pacing" subtracts (index in its channel's queue, by arrival) x 1 s;
CPU of the process over ``--idle`` seconds after the bursts (utime+stime from
/proc/<pid>/stat, as percent of one core), and on PostgreSQL also the CPU of the
database's client backends in that window (work the process asks of the server);
VmRSS and VmHWM from /proc/<pid>/status at the end. Goals: p99 lateness < 0.5 s
(beyond pacing), idle CPU < 0.5 %, RSS < 200 MB.

``--profile DIR`` runs the Parley worker under cProfile and prints the top of it;
``--parley-root DIR`` runs the worker from another checkout (to A/B a change);
``--only parley|apscheduler`` runs one side. A run takes about 5 minutes a backend.
Everything listens and connects on 127.0.0.1 only. Child processes get SIGTERM if
this process dies (PR_SET_PDEATHSIG) and are killed at the end of each run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import pickle
import random
import secrets
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

THIS_FILE = Path(__file__).resolve()
ROOT = THIS_FILE.parents[2]
WORKSPACE = "slack:T1"
TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

DAY = 86400.0
OFFSETS = (604800, 86400, 14400, 3600, 900)  # Parley's default reminder offsets, seconds
BURST_OFFSET = 14400  # the burst alerts are the 4h reminders (no nudges at 4h)
PACING = 1.0  # Parley's seconds between two posts to one Slack channel
REGULAR_CHANNELS = 5000
PROBE_CHANNEL = "CPROBE"
CHUNK = 5000  # deadlines per executemany chunk

# ======================================================================================
# APScheduler child: this file run with --apscheduler-child URL. Only light imports at
# module level, so its RSS is APScheduler's own (aiohttp, SQLAlchemy, the DB driver).
# ======================================================================================
_child: dict[str, Any] = {}


async def post_alert(channel: str, text: str) -> None:
    """The APScheduler job: post one alert to the (fake) Slack Web API."""
    session = _child["session"]
    headers = {"Authorization": f"Bearer {_child['token']}"}
    body = {"channel": channel, "text": text}
    async with session.post(_child["api"] + "chat.postMessage", json=body, headers=headers) as r:
        await r.read()


async def _apscheduler_main(url: str) -> int:
    import aiohttp
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    _child["api"] = os.environ["BENCH_SLACK_API_URL"]
    _child["token"] = os.environ["BENCH_SLACK_TOKEN"]
    _child["session"] = aiohttp.ClientSession()
    scheduler = AsyncIOScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone=UTC)
    scheduler.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        await _child["session"].close()
    return 0


def apscheduler_child(url: str) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(_apscheduler_main(url))


# ======================================================================================
# The plan: which alerts exist, shared by both schedulers.
# ======================================================================================
@dataclass(frozen=True)
class PlannedDeadline:
    channel: str
    due: float  # epoch seconds of the deadline
    sent_offsets: frozenset[int] = frozenset()  # offsets whose alert went out already
    group: str = ""  # "probe", "A", "B" or "" (regular)


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def plan_regular(count: int, start: float, rng: random.Random) -> list[PlannedDeadline]:
    """Deadlines due 8 to 36 days from now: every alert is at least a day away."""
    return [
        PlannedDeadline(
            channel=f"C{rng.randrange(REGULAR_CHANNELS):05d}",
            due=start + rng.uniform(8 * DAY, 36 * DAY),
        )
        for _ in range(count)
    ]


@dataclass(frozen=True)
class Timeline:
    probe_due: float
    burst_a: float
    burst_b: float


def plan_timed(args: argparse.Namespace, timeline: Timeline) -> list[PlannedDeadline]:
    """The probe and the two bursts: each a deadline whose 4h alert is due at its instant."""
    sent = frozenset(o for o in OFFSETS if o > BURST_OFFSET)
    probe = PlannedDeadline(PROBE_CHANNEL, timeline.probe_due + BURST_OFFSET, sent, "probe")
    burst_a = [
        PlannedDeadline(f"CA{i:05d}", timeline.burst_a + BURST_OFFSET, sent, "A")
        for i in range(args.burst)
    ]
    channels_b = [f"CB{i // args.per_channel:05d}" for i in range(args.burst)]
    random.Random(7).shuffle(channels_b)
    burst_b = [
        PlannedDeadline(channel, timeline.burst_b + BURST_OFFSET, sent, "B")
        for channel in channels_b
    ]
    return [probe, *burst_a, *burst_b]


def chunks(
    items: Sequence[PlannedDeadline], size: int = CHUNK
) -> Iterator[tuple[int, Sequence[PlannedDeadline]]]:
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


# ======================================================================================
# Parley's database: bulk rows straight into the migrated tables.
# ======================================================================================
async def seed_parley(url: str, deadlines: Sequence[PlannedDeadline], first_id: int) -> int:
    """Insert deadlines (ids from ``first_id``) and their alerts; return the next id."""
    from sqlalchemy import insert

    from bot.domain import negotiation_key
    from storage.db import make_engine, writer
    from storage.tables import AlertRow, DeadlineRow, NegotiationCounterRow

    deadline_t, alert_t = DeadlineRow.__table__, AlertRow.__table__  # type: ignore[attr-defined]
    counter_t = NegotiationCounterRow.__table__  # type: ignore[attr-defined]
    last_numbers: dict[str, int] = {}
    offsets_text = ",".join(str(o) for o in OFFSETS)
    created = utc(time.time() - 30 * DAY)
    engine = make_engine(url)
    next_id = first_id
    try:
        for start, chunk in chunks(deadlines):
            deadline_rows = []
            alert_rows = []
            for n, planned in enumerate(chunk, start=first_id + start):
                title = f"Bench deadline {n}"
                deadline_rows.append(
                    {
                        "id": n,
                        "workspace_id": WORKSPACE,
                        "number": n,
                        "channel_id": planned.channel,
                        "platform": "slack",
                        "title": title,
                        "title_key": title.casefold(),
                        "due_at": utc(planned.due),
                        "tz": "UTC",
                        "owner_id": "U1",
                        "owners": '["U1"]',
                        "status": "open",
                        "reminder_offsets": offsets_text,
                        "created_at": created,
                        "updated_at": created,
                        "sequence": 0,
                        "uid": secrets.token_hex(16),
                    }
                )
                for offset in OFFSETS:
                    due = utc(planned.due - offset)
                    sent = offset in planned.sent_offsets
                    alert_rows.append(
                        {
                            "workspace_id": WORKSPACE,
                            "deadline_id": n,
                            "offset_seconds": offset,
                            "due_at": due,
                            "not_before": due,
                            "status": "sent" if sent else "pending",
                            "attempts": 0,
                            "sent_at": due if sent else None,
                        }
                    )
                next_id = n + 1
                last_numbers[planned.channel] = n
            async with writer(engine).begin() as conn:
                await conn.execute(insert(deadline_t), deadline_rows)
                await conn.execute(insert(alert_t), alert_rows)
        async with writer(engine).begin() as conn:
            await conn.execute(counter_t.delete())
            await conn.execute(
                insert(counter_t),
                [
                    {
                        "negotiation_key": negotiation_key(WORKSPACE, channel),
                        "workspace_id": WORKSPACE,
                        "last_number": number,
                    }
                    for channel, number in last_numbers.items()
                ],
            )
            if engine.dialect.name == "postgresql":
                from sqlalchemy import text

                await conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('deadline', 'id'), "
                        "(SELECT max(id) FROM deadline))"
                    )
                )
    finally:
        await engine.dispose()
    return next_id


# ======================================================================================
# APScheduler's database: the SQLAlchemyJobStore table, rows as add_job would write them.
# ======================================================================================
def apscheduler_problem(backend: str) -> str | None:
    """Why the baseline cannot run here, or None."""
    try:
        import apscheduler
    except ImportError:
        return "APScheduler is not installed: pip install 'apscheduler<4' (baseline skipped)"
    version = getattr(apscheduler, "__version__", "3")
    if not version.startswith("3"):
        return f"APScheduler {version} found; the baseline needs 3.x: pip install 'apscheduler<4'"
    if backend == "postgresql":
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            return (
                "psycopg2 is not installed (APScheduler 3's job store is synchronous): "
                "pip install psycopg2-binary (PostgreSQL baseline skipped)"
            )
    return None


def seed_apscheduler(url: str, deadlines: Sequence[PlannedDeadline], first_id: int) -> int:
    """One date-trigger job per pending alert, as SQLAlchemyJobStore.add_job stores it:
    (id, next_run_time as a UTC timestamp, pickled Job.__getstate__())."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.triggers.date import DateTrigger
    from sqlalchemy import create_engine

    engine = create_engine(url)
    store = SQLAlchemyJobStore(engine=engine)
    store.jobs_t.create(engine, checkfirst=True)
    next_id = first_id
    try:
        for start, chunk in chunks(deadlines):
            rows = []
            for n, planned in enumerate(chunk, start=first_id + start):
                for offset in OFFSETS:
                    if offset in planned.sent_offsets:
                        continue  # ran already: a date job is removed once it ran
                    when = utc(planned.due - offset)
                    trigger = DateTrigger.__new__(DateTrigger)
                    trigger.__setstate__({"version": 1, "run_date": when})
                    job_id = f"alert-{n}-{offset}"
                    state = {
                        "version": 1,
                        "id": job_id,
                        "func": "__main__:post_alert",
                        "trigger": trigger,
                        "executor": "default",
                        "args": (planned.channel, f"Bench deadline {n}: {offset} s left"),
                        "kwargs": {},
                        "name": "post_alert",
                        "misfire_grace_time": None,  # run however late: measure, not drop
                        "coalesce": True,
                        "max_instances": 1,
                        "next_run_time": when,
                    }
                    rows.append(
                        {
                            "id": job_id,
                            "next_run_time": when.timestamp(),
                            "job_state": pickle.dumps(state, pickle.HIGHEST_PROTOCOL),
                        }
                    )
                next_id = n + 1
            with engine.begin() as conn:
                conn.execute(store.jobs_t.insert(), rows)
    finally:
        engine.dispose()
    return next_id


# ======================================================================================
# Scratch databases.
# ======================================================================================
async def _admin(pg_url: str, sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Database:
    backend: str
    url: str  # the URL the scheduler under test uses
    name: str  # PostgreSQL database name ("" for SQLite)


@contextlib.asynccontextmanager
async def scratch_database(
    backend: str, kind: str, args: argparse.Namespace, tmp: Path
) -> AsyncIterator[Database]:
    """A fresh database for ``kind`` ("parley" or "apscheduler"), dropped afterwards."""
    from sqlalchemy.engine import make_url

    if backend == "sqlite":
        path = tmp / f"{kind}.db"
        driver = "sqlite+aiosqlite" if kind == "parley" else "sqlite"
        try:
            yield Database(backend, f"{driver}:///{path}", "")
        finally:
            _remove_sqlite(path)
        return
    name = f"bench_{kind}_{os.getpid()}_{secrets.token_hex(3)}"
    driver = "postgresql+asyncpg" if kind == "parley" else "postgresql+psycopg2"
    url = make_url(args.pg_url).set(drivername=driver, database=name)
    await _admin(args.pg_url, f'CREATE DATABASE "{name}"')
    try:
        yield Database(backend, url.render_as_string(hide_password=False), name)
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        try:
            await _admin(args.pg_url, drop)
        except Exception as error:
            print(f"could not drop scratch database {name}: {error}", file=sys.stderr)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


async def vacuum_analyze(args: argparse.Namespace, name: str) -> None:
    """What a settled database looks like: statistics, visibility map, and the load's
    dirty pages written out (else the checkpointer flushes them during the bursts)."""
    from sqlalchemy.engine import make_url

    await _admin(make_url(args.pg_url).set(database=name).render_as_string(False), "VACUUM ANALYZE")
    try:
        await _admin(args.pg_url, "CHECKPOINT")
    except Exception as error:  # needs superuser or pg_checkpoint
        print(f"CHECKPOINT skipped: {error}", file=sys.stderr)


async def backend_pids(args: argparse.Namespace, name: str) -> list[int]:
    """PostgreSQL client backends connected to database ``name``."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(args.pg_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = :name AND backend_type = 'client backend'"
                ),
                {"name": name},
            )
            return [int(row[0]) for row in rows]
    finally:
        await engine.dispose()


# ======================================================================================
# /proc readings.
# ======================================================================================
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the bench process dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _open_log(path: Path) -> Any:
    return path.open("wb")


def _tail(path: Path, lines: int = 25) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# ======================================================================================
# The fake Slack server's clock: when each chat.postMessage arrived.
# ======================================================================================
@dataclass
class Arrivals:
    posts: list[tuple[float, str]] = field(default_factory=list)  # (time.time(), channel)

    def answer(self, call: Any) -> dict[str, Any]:
        now = time.time()
        channel = str(call.params.get("channel", ""))
        self.posts.append((now, channel))
        ts = f"{now:.6f}"
        return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts, "text": ""}}

    def of(self, prefix: str) -> list[tuple[float, str]]:
        return [post for post in self.posts if post[1].startswith(prefix)]


def group_of(channel: str) -> str:
    if channel == PROBE_CHANNEL:
        return "probe"
    if channel.startswith("CA"):
        return "A"
    if channel.startswith("CB"):
        return "B"
    return ""


# ======================================================================================
# One measured run.
# ======================================================================================
@dataclass
class Result:
    name: str
    backend: str
    pending: int = 0
    setup_seconds: float = 0.0
    startup: float | None = None
    lateness_a: list[float] = field(default_factory=list)
    lateness_b: list[float] = field(default_factory=list)
    beyond_b: list[float] = field(default_factory=list)
    missing_a: int = 0
    missing_b: int = 0
    duplicates: int = 0
    other_posts: int = 0
    idle_cpu: float = float("nan")
    idle_seconds: float = 0.0
    idle_posts: int = 0
    db_cpu: float | None = None
    rss_mb: float = float("nan")
    hwm_mb: float = float("nan")
    notes: list[str] = field(default_factory=list)


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_until(
    check: Callable[[], bool], until: float, process: asyncio.subprocess.Process, log: Path
) -> bool:
    while time.time() < until:
        if check():
            return True
        if process.returncode is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{_tail(log)}")
        await asyncio.sleep(0.05)
    return check()


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 20)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def measure(
    result: Result,
    command: list[str],
    env: dict[str, str],
    timeline: Timeline,
    arrivals: Arrivals,
    args: argparse.Namespace,
    workdir: Path,
    database: Database,
) -> None:
    """Start the process, wait for the probe and the bursts, then watch it idle."""
    log = workdir / f"{result.name.split()[0].lower()}-{database.backend}.log"
    arrivals.posts.clear()
    out = _open_log(log)
    spawned = time.time()
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        preexec_fn=_die_with_parent,
    )
    try:
        got_probe = await wait_until(
            lambda: any(channel == PROBE_CHANNEL for _, channel in arrivals.posts),
            spawned + args.lead + 120,
            process,
            log,
        )
        if got_probe:
            first = min(t for t, channel in arrivals.posts if channel == PROBE_CHANNEL)
            result.startup = first - spawned
            if first > timeline.burst_a:
                result.notes.append("start-up took longer than --lead: burst A includes it")
        else:
            result.notes.append("probe alert never posted")
        for name, at in (("A", timeline.burst_a), ("B", timeline.burst_b)):

            def burst_arrived(channel: str = "C" + name, burst: int = args.burst) -> bool:
                return len(arrivals.of(channel)) >= burst

            done = await wait_until(
                burst_arrived,
                at + args.burst_timeout,
                process,
                log,
            )
            if not done:
                result.notes.append(f"burst {name} incomplete after {args.burst_timeout:.0f} s")
        burst_a_end = max((t for t, c in arrivals.of("CA")), default=0.0)
        if burst_a_end > timeline.burst_b:
            result.notes.append("burst A was still running when burst B fell due (raise --gap)")
        # Settle: no post for 2 s (bounded), then watch it idle.
        settle_until = time.time() + 30
        while time.time() < settle_until:
            last = max((t for t, _ in arrivals.posts), default=0.0)
            if time.time() - last >= 2.0:
                break
            await asyncio.sleep(0.2)
        posts_before = len(arrivals.posts)
        pids: list[int] = []
        db_before: dict[int, float] = {}
        if database.backend == "postgresql":
            pids = await backend_pids(args, database.name)
            db_before = {pid: cpu_seconds(pid) or 0.0 for pid in pids}
        cpu_before = cpu_seconds(process.pid)
        started = time.monotonic()
        await asyncio.sleep(args.idle)
        elapsed = time.monotonic() - started
        cpu_after = cpu_seconds(process.pid)
        if process.returncode is not None or cpu_before is None or cpu_after is None:
            raise RuntimeError(f"process exited while idle:\n{_tail(log)}")
        result.idle_seconds = elapsed
        result.idle_cpu = (cpu_after - cpu_before) / elapsed * 100
        result.idle_posts = len(arrivals.posts) - posts_before
        if database.backend == "postgresql":
            now_pids = await backend_pids(args, database.name)
            used = 0.0
            for pid in set(pids) | set(now_pids):
                after = cpu_seconds(pid)
                if after is not None:
                    used += after - db_before.get(pid, 0.0)
            result.db_cpu = used / elapsed * 100
            result.notes.append(f"DB CPU watched {len(set(pids) | set(now_pids))} client backends")
        result.rss_mb, result.hwm_mb = memory_mb(process.pid)
    finally:
        await stop_process(process)
        out.close()
    # Lateness from what arrived.
    seen: dict[str, int] = defaultdict(int)
    by_channel: dict[str, list[float]] = defaultdict(list)
    for arrived, channel in arrivals.posts:
        group = group_of(channel)
        if group == "A":
            seen[channel] += 1
            if seen[channel] == 1:
                result.lateness_a.append(arrived - timeline.burst_a)
        elif group == "B":
            by_channel[channel].append(arrived)
        elif group == "":
            result.other_posts += 1
    result.duplicates = sum(n - 1 for n in seen.values())
    result.missing_a = args.burst - len(seen)
    count_b = 0
    for channel_posts in by_channel.values():
        kept = sorted(channel_posts)[: args.per_channel]
        result.duplicates += len(channel_posts) - len(kept)
        for index, arrived in enumerate(kept):
            late = arrived - timeline.burst_b
            result.lateness_b.append(late)
            result.beyond_b.append(late - index * PACING)
            count_b += 1
    result.missing_b = args.burst - count_b


# ======================================================================================
# Parley and APScheduler runs.
# ======================================================================================
def _child_env(extra: dict[str, str]) -> dict[str, str]:
    drop = ("DATABASE_URL", "SLACK_", "MICROSOFT_", "TEAMS_", "PUBLIC_URL", "LOG_", "ALERT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def next_timeline(args: argparse.Namespace) -> Timeline:
    start = time.time() + 1.0  # the rows go in first, then the process starts
    return Timeline(
        probe_due=time.time() - 1.0,
        burst_a=start + args.lead,
        burst_b=start + args.lead + args.gap,
    )


async def run_parley(
    backend: str, args: argparse.Namespace, api_url: str, arrivals: Arrivals, tmp: Path
) -> Result:
    from storage.db import run_migrations

    result = Result("Parley worker", backend)
    rng = random.Random(1)
    regular = plan_regular(args.deadlines - 1 - 2 * args.burst, time.time(), rng)
    async with scratch_database(backend, "parley", args, tmp) as database:
        began = time.perf_counter()
        await run_migrations(database.url)
        next_id = await seed_parley(database.url, regular, 1)
        if backend == "postgresql":
            await vacuum_analyze(args, database.name)
        result.setup_seconds = time.perf_counter() - began
        timeline = next_timeline(args)
        timed = plan_timed(args, timeline)
        await seed_parley(database.url, timed, next_id)
        result.pending = 5 * len(regular) + 3 * len(timed)
        env = _child_env(
            {
                "DATABASE_URL": database.url,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_API_URL": api_url,
                "TEAMS_ENABLED": "false",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(args.parley_root or ROOT),
            }
        )
        command = [sys.executable, "-m", "bot.main", "worker"]
        profile = None
        if args.profile:
            profile = _profile_path(args.profile, backend)
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command[1:]]
        await measure(result, command, env, timeline, arrivals, args, tmp, database)
    if profile is not None and profile.exists():
        print_profile(profile)
    return result


async def run_apscheduler(
    backend: str, args: argparse.Namespace, api_url: str, arrivals: Arrivals, tmp: Path
) -> Result:
    result = Result("APScheduler 3", backend)
    rng = random.Random(1)
    regular = plan_regular(args.deadlines - 1 - 2 * args.burst, time.time(), rng)
    async with scratch_database(backend, "apscheduler", args, tmp) as database:
        began = time.perf_counter()
        next_id = await asyncio.to_thread(seed_apscheduler, database.url, regular, 1)
        if backend == "postgresql":
            await vacuum_analyze(args, database.name)
        result.setup_seconds = time.perf_counter() - began
        timeline = next_timeline(args)
        timed = plan_timed(args, timeline)
        await asyncio.to_thread(seed_apscheduler, database.url, timed, next_id)
        result.pending = 5 * len(regular) + 3 * len(timed)
        env = _child_env(
            {"BENCH_SLACK_API_URL": api_url, "BENCH_SLACK_TOKEN": TOKEN, "PYTHONPATH": ""}
        )
        command = [sys.executable, str(THIS_FILE), "--apscheduler-child", database.url]
        await measure(result, command, env, timeline, arrivals, args, tmp, database)
    return result


def _profile_path(folder: str, backend: str) -> Path:
    path = Path(folder).resolve() / f"parley-worker-{backend}.pstats"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def print_profile(path: Path) -> None:
    import pstats

    print(f"\n--- cProfile of the Parley worker ({path}) ---")
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)


# ======================================================================================
# Report.
# ======================================================================================
def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


def ratio(parley: float | None, base: float | None) -> str:
    if parley is None or base is None or parley != parley or base != base or base == 0:
        return "-"
    return f"{parley / base:.2f}x"


def rows_of(result: Result | None) -> dict[str, float | None]:
    if result is None:
        return {}
    beyond = result.beyond_b if result.name.startswith("Parley") else []
    return {
        "pending alerts (jobs)": result.pending,
        "start-up to first post, s": result.startup,
        "burst A lateness p50, s": pct(result.lateness_a, 0.50),
        "burst A lateness p99, s": pct(result.lateness_a, 0.99),
        "burst A lateness max, s": max(result.lateness_a, default=float("nan")),
        "burst B lateness p50, s": pct(result.lateness_b, 0.50),
        "burst B lateness p99, s": pct(result.lateness_b, 0.99),
        "burst B lateness max, s": max(result.lateness_b, default=float("nan")),
        "burst B beyond pacing p50, s": pct(beyond, 0.50) if beyond else None,
        "burst B beyond pacing p99, s": pct(beyond, 0.99) if beyond else None,
        "burst B beyond pacing max, s": max(beyond) if beyond else None,
        "missing / duplicate posts": None,
        "idle CPU, % of a core": result.idle_cpu,
        "DB backends CPU idle, %": result.db_cpu,
        "VmRSS after idle, MB": result.rss_mb,
        "VmHWM (peak RSS), MB": result.hwm_mb,
        "setup (not measured), s": result.setup_seconds,
    }


def report(
    backend: str, parley: Result | None, base: Result | None, args: argparse.Namespace
) -> int:
    print()
    print(
        f"=== {backend}: {args.deadlines} deadlines, burst {args.burst} "
        f"(A: 1 a channel; B: {args.per_channel} a channel), idle {args.idle:.0f} s ==="
    )
    print(f"{'':<32} {'Parley':>14} {'APScheduler 3':>14} {'ratio':>8}")
    p_rows, b_rows = rows_of(parley), rows_of(base)
    for label in p_rows or b_rows:
        if label.startswith("missing"):
            cells = [
                f"{r.missing_a + r.missing_b}/{r.duplicates}" if r else "-" for r in (parley, base)
            ]
            print(f"{label:<32} {cells[0]:>14} {cells[1]:>14}")
            continue
        p, b = p_rows.get(label), b_rows.get(label)
        digits = 0 if label.startswith(("pending", "VmRSS", "VmHWM")) else 3
        if label.startswith(("idle", "DB")):
            digits = 3
        print(f"{label:<32} {fmt(p, digits):>14} {fmt(b, digits):>14} {ratio(p, b):>8}")
    print(
        "(APScheduler does not pace: its burst B row is raw lateness with 5 posts a channel "
        "in the same instant, which Slack would answer with 429.)"
    )
    for result in (parley, base):
        if result is not None:
            if result.idle_posts or result.other_posts:
                result.notes.append(
                    f"{result.idle_posts} posts while idle, {result.other_posts} outside the bursts"
                )
            for note in result.notes:
                print(f"note ({result.name}): {note}")
    if parley is None:
        return 0
    goals = [
        ("p99 lateness burst A < 0.5 s", pct(parley.lateness_a, 0.99) < 0.5),
        ("p99 lateness burst B beyond pacing < 0.5 s", pct(parley.beyond_b, 0.99) < 0.5),
        ("idle CPU < 0.5 % (worker)", parley.idle_cpu < 0.5),
        ("RSS < 200 MB (VmHWM)", parley.hwm_mb < 200),
        ("every alert posted once", parley.missing_a + parley.missing_b + parley.duplicates == 0),
    ]
    if parley.db_cpu is not None:
        goals.append(
            ("idle CPU < 0.5 % (worker + its DB backends)", parley.idle_cpu + parley.db_cpu < 0.5)
        )
    failed = 0
    for label, ok in goals:
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 1 if failed else 0


# ======================================================================================
async def bench(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.fakes.slack_api import FakeSlackApi

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    status = 0
    arrivals = Arrivals()
    async with FakeSlackApi() as fake:
        fake.answer("chat.postMessage", arrivals.answer)
        for backend in backends:
            parley = base = None
            with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp_name:
                tmp = Path(tmp_name)
                if args.only in ("both", "parley"):
                    print(f"[{backend}] Parley: seeding and running ...", flush=True)
                    parley = await asyncio.wait_for(
                        run_parley(backend, args, fake.api_url, arrivals, tmp), args.run_timeout
                    )
                    fake.calls.clear()
                if args.only in ("both", "apscheduler"):
                    problem = apscheduler_problem(backend)
                    if problem:
                        print(f"[{backend}] {problem}", flush=True)
                    else:
                        print(f"[{backend}] APScheduler 3: seeding and running ...", flush=True)
                        base = await asyncio.wait_for(
                            run_apscheduler(backend, args, fake.api_url, arrivals, tmp),
                            args.run_timeout,
                        )
                        fake.calls.clear()
            status |= report(backend, parley, base, args)
    return status


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--deadlines", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1000, help="alerts in each burst")
    parser.add_argument("--per-channel", type=int, default=5, help="burst B alerts a channel")
    parser.add_argument("--lead", type=float, default=10.0, help="s from start to burst A")
    parser.add_argument("--gap", type=float, default=30.0, help="s from burst A to burst B")
    parser.add_argument("--idle", type=float, default=60.0, help="idle seconds measured")
    parser.add_argument("--burst-timeout", type=float, default=120.0)
    parser.add_argument("--run-timeout", type=float, default=300.0, help="s per scheduler run")
    parser.add_argument("--only", choices=("parley", "apscheduler", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--profile", default=None, help="cProfile the Parley worker into DIR")
    parser.add_argument(
        "--parley-root", default=None, help="run the worker from this checkout (A/B a change)"
    )
    args = parser.parse_args(argv)
    if args.deadlines < 2 * args.burst + 2:
        parser.error("--deadlines must exceed twice --burst")
    return args


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--apscheduler-child":
        return apscheduler_child(sys.argv[2])
    args = parse_args()

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await bench(args)

    try:
        return asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; subprocesses stopped and scratch databases dropped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
