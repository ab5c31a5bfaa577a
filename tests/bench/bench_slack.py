"""Benchmark: Parley's slash commands against a bare slack-bolt AsyncApp, with wrk as the load.

Run on demand (not collected by pytest), on an otherwise idle machine::

    python tests/bench/bench_slack.py [--rounds 3] [--duration 8] [--warmup 2]
        [--connections 50] [--log-level INFO] [--no-postgres] [--many 100000]
        [--profile DIR] [--targets help,list,iso,natural,pg-list,pg-iso]

Everything stays on 127.0.0.1, and every server is a process of its own: a
plain aiohttp handler and a bare slack-bolt ``AsyncApp`` that only acks
(tests/bench/bench_servers.py), a real ``parley serve`` on a fresh SQLite
database, and another on a fresh PostgreSQL database (one replica; created on
127.0.0.1:5432, dropped at the end; ``BENCH_PG_URL`` names the server). Both
Parleys use the fake Slack Web API in this process as SLACK_API_URL and run
with their defaults otherwise (LOG_LEVEL=INFO: a command line and an access-log
line a request, to a file).
Each starts with 10 open deadlines in the list channel, added through signed
commands.

The load is wrk (``-t1 -c50``; installed with apt-get when missing), driven by
tests/bench/slack_load.lua. Every request is distinct: its own body (its own
trigger_id, and for adds its own title and due time) and its own Slack
signature, pre-generated into a file just before each run so every timestamp
is within Slack's five minutes. The script checks each reply: non-2xx, and 2xx
without the expected text (help, "Open deadlines (10)", ``in_channel`` for adds),
are counted apart; req/s counts correct replies only. Adds go to a workspace
and channels of their own, so the list stays at 10.

A round runs each target for ``--warmup`` seconds (not counted) and then
``--duration`` seconds: bare Bolt, the plain handler, ``/deadline help``,
``list``, ``add`` with an ISO 8601 time and with natural language ("Friday
17:00", "Fri 5pm ET", "tomorrow 9am", ... varied), PostgreSQL ``list`` and
``add``, and bare Bolt again. A target's ratio is its rate over the mean of its
round's two bare-Bolt runs; the summary takes the median over rounds and checks
it against the goals of issue 13. The plain handler is the ceiling of wrk plus
aiohttp on this machine: a round where it is under 3x bare Bolt reports no
ratios (the load generator would compress them toward 1x); a round where bare
Bolt moved by more than a quarter from its start to its end is flagged unsteady.
Each run also reads CPU time from /proc: the server's per request (it, and its
ratio to bare Bolt's, hold still when other load on the machine takes CPU from
the server), and how busy the server, wrk and everything else were (100%: one
core the whole run; a server under 100% was held back by something else).

Also reported: the time from starting ``parley serve`` to its first answered
command, and the servers' resident memory, both also on a database of
``--many`` deadlines (5 planned alerts each, 5,000 channels; seeded by
tests/bench/bench_alerts.py's bulk insert). ``--profile DIR`` then samples each
server with py-spy under the slowest paths, bare Bolt and PostgreSQL
(tests/bench/profile_stacks.py summarises the stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT)]

from aiohttp import ClientSession  # noqa: E402

from tests.bench.bench_processes import (  # noqa: E402
    Server,
    free_port,
    fresh_postgres,
    parley_argv,
    parley_env,
    post,
    probe_body,
    running,
)
from tests.bench.profile_stacks import summarise  # noqa: E402
from tests.fakes.signing import signed_headers, slash_command_body  # noqa: E402
from tests.fakes.slack_api import RESPONSE_URL, FakeSlackApi  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
LUA = HERE / "slack_load.lua"
SEEDED = 10
LIST_TEAM, LIST_CHANNEL = "T1", "CLIST"
ADD_TEAM, ADD_CHANNELS = "T2", 20
USERS = {"U1": "America/New_York", "U2": "Europe/London", "U3": "Asia/Tokyo", "U4": "UTC"}
CEILING_FACTOR = 3.0
DRIFT = 0.25  # bare Bolt's change over a round, beyond which the round is flagged
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Target:
    name: str
    server: str  # "plain", "bolt", "sqlite" or "postgres"
    kind: str  # what the command says: "list", "help", "iso" or "natural"
    expect: str  # text every reply body must contain ("" for bare Bolt's empty ack)
    goal: float | None = None  # x bare Bolt, median over rounds
    p99_goal_ms: float | None = None


BOLT = Target("bare slack-bolt AsyncApp (ack only)", "bolt", "list", "")
PLAIN = Target("plain aiohttp handler (ceiling)", "plain", "list", "ok")
HELP = Target("/deadline help", "sqlite", "help", "Deadlines", 0.85)
LIST = Target("/deadline list (10 open)", "sqlite", "list", f"Open deadlines ({SEEDED})", 0.6, 50)
ADD_ISO = Target("/deadline add (ISO 8601)", "sqlite", "iso", "in_channel", 0.45, 50)
ADD_NATURAL = Target(
    "/deadline add (natural language)", "sqlite", "natural", "in_channel", 0.35, 60
)
PG_LIST = Target("PostgreSQL /deadline list", "postgres", "list", LIST.expect, 0.45)
PG_ADD = Target("PostgreSQL /deadline add (ISO)", "postgres", "iso", "in_channel", 0.3)
ROUND = (BOLT, PLAIN, HELP, LIST, ADD_ISO, ADD_NATURAL, PG_LIST, PG_ADD, BOLT)
# ``--targets`` names: a quick run measures only these (bare Bolt and the ceiling always).
TARGET_KEYS = {
    "help": HELP,
    "list": LIST,
    "iso": ADD_ISO,
    "natural": ADD_NATURAL,
    "pg-list": PG_LIST,
    "pg-iso": PG_ADD,
}
PROFILED = (ADD_NATURAL, ADD_ISO, LIST, HELP, BOLT, PG_LIST, PG_ADD)

# Natural-language due times as people type them; the fields vary per request.
NATURAL_FORMS = (
    "{day} {hh}:{mm}",
    "{dy} {h12}{ampm} ET",
    "tomorrow {h12}{ampm}",
    "in {n} days",
    "next {day} {hh}:{mm}",
    "{day} {h12}:{mm}{ampm}",
    "{date} {hh}:{mm} {zone}",
    "{dy} {hh}:{mm} CET",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ZONES = ("America/New_York", "Europe/London", "Europe/Paris", "Asia/Tokyo")
ADDS = ("iso", "natural")
OFFSETS = ("-05:00", "+01:00", "Z", "+09:00", "-08:00", "+05:30")


# --- requests ---------------------------------------------------------------------------
def command_text(kind: str, n: int, rng: random.Random) -> str:
    if kind in ("list", "help"):
        return kind
    hour = rng.randrange(8, 19)
    date = f"{rng.randrange(2030, 2032)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    fields = {
        "hh": f"{hour:02d}",
        "mm": f"{rng.choice((0, 15, 30, 45)):02d}",
        "h12": str(hour if hour <= 12 else hour - 12),
        "ampm": "am" if hour < 12 else "pm",
        "day": rng.choice(DAYS),
        "dy": rng.choice(DAYS)[:3],
        "n": str(rng.randrange(2, 30)),
        "date": date,
        "zone": rng.choice(ZONES),
    }
    if kind == "iso":
        due = f"{fields['date']}T{fields['hh']}:{fields['mm']}{rng.choice(OFFSETS)}"
    else:
        due = NATURAL_FORMS[n % len(NATURAL_FORMS)].format(**fields)
    return f"add Bench {n} due {due}"


def write_requests(
    path: Path, target: Target, *, count: int, port: int, tag: str, response_url: str
) -> None:
    """``count`` distinct signed requests for ``target``, in slack_load.lua's file format."""
    rng = random.Random(tag)
    timestamp = int(time.time())
    users = list(USERS)
    adding = target.kind in ADDS
    with path.open("wb") as out:
        for n in range(count):
            body = slash_command_body(
                command="/deadline",
                text=command_text(target.kind, n, rng),
                team_id=ADD_TEAM if adding else LIST_TEAM,
                channel_id=f"CADD{n % ADD_CHANNELS}" if adding else LIST_CHANNEL,
                user_id=users[n % len(users)],
                response_url=response_url,
                trigger_id=f"{tag}.{n}.{rng.getrandbits(64):016x}",
            ).encode()
            headers = signed_headers(body.decode(), secret=SECRET, timestamp=timestamp)
            head = ["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            head += [f"Content-Length: {len(body)}", "", ""]
            raw = "\r\n".join(head).encode() + body
            out.write(b"%d\n" % len(raw) + raw)


# --- wrk --------------------------------------------------------------------------------
@dataclass
class WrkRun:
    target: Target
    data: dict[str, Any]
    sample: str = ""
    cpu: float = math.nan  # CPU seconds the server used during the run (all its threads)
    wrk_cpu: float = math.nan  # CPU seconds wrk used
    machine_cpu: float = math.nan  # CPU seconds every process on the machine used

    @property
    def seconds(self) -> float:
        return float(self.data["duration_us"]) / 1e6

    @property
    def errors(self) -> int:
        keys = ("non2xx", "mismatched", "connect_errors", "read_errors", "write_errors", "timeouts")
        return sum(int(self.data[key]) for key in keys)

    @property
    def rate(self) -> float:
        """Correct replies a second."""
        good = self.data["requests"] - self.data["non2xx"] - self.data["mismatched"]
        return float(good) / self.seconds

    @property
    def p99_ms(self) -> float:
        return float(self.data["p99_us"]) / 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return float(1000 * self.cpu / max(1, self.data["requests"]))

    @property
    def busy(self) -> float:
        """The server's CPU time over the run's wall time (1.0: one core the whole time)."""
        return self.cpu / self.seconds

    @property
    def others(self) -> float:
        """CPU time of everything but the server and wrk, over the run's wall time."""
        return (self.machine_cpu - self.cpu - self.wrk_cpu) / self.seconds


def machine_cpu_seconds() -> float:
    """CPU time all processors spent busy since boot (/proc/stat: all but idle and iowait)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(ticks[:8]) - ticks[3] - ticks[4]  # user..steal, less idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of the child processes waited for so far (wrk runs, py-spy)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing the Debian package", flush=True)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(install, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install wrk")
    return found


async def run_wrk(
    wrk: str, target: Target, url: str, requests: Path, *, seconds: int, connections: int
) -> WrkRun:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    argv += ["-s", str(LUA), url, "--", str(requests), target.expect]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(seconds + 60):
        out, err = await process.communicate()
    lines = out.decode(errors="replace").splitlines()
    result = [line.split(" ", 1)[1] for line in lines if line.startswith("WRK_RESULT ")]
    if process.returncode != 0 or not result:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.decode()[-2000:]}")
    sample = [line.split(" ", 1)[1] for line in lines if line.startswith("WRK_SAMPLE ")]
    return WrkRun(target, json.loads(result[0]), sample[0] if sample else "")


# --- seeding ------------------------------------------------------------------------------
async def seed(server: Server) -> None:
    """Add the list channel's open deadlines through signed commands, and check the list."""
    async with ClientSession() as session:

        async def say(text: str, n: int) -> str:
            body = probe_body(text, n, team=LIST_TEAM, channel=LIST_CHANNEL)
            status, answer = await post(session, server.url, secret=SECRET, body=body)
            return f"{status} {answer}"

        for n in range(SEEDED):
            answer = await say(f"add Bench deadline {n + 1} due in {n + 2} days", n)
            if not answer.startswith("200 ") or "in_channel" not in answer:
                raise RuntimeError(f"seeding {server.name} failed: {answer[:300]}")
        answer = await say("list", SEEDED)
        if LIST.expect not in answer:
            raise RuntimeError(f"{server.name} does not list {SEEDED}: {answer[:300]}")


# --- the run --------------------------------------------------------------------------------
@dataclass
class Bench:
    args: argparse.Namespace
    wrk: str
    tmp: Path
    response_url: str
    servers: dict[str, Server]
    rates: dict[str, float] = field(default_factory=dict)  # best rate yet, by target name
    runs: int = 0

    async def measure(self, target: Target, seconds: int, on: Server | None = None) -> WrkRun:
        server = on or self.servers[target.server]
        # Enough distinct requests for 1.5x the best rate seen, and at least 6,000 a second.
        per_second = max(6000.0, 1.5 * self.rates.get(target.name, 0.0))
        count = math.ceil(per_second * seconds)
        self.runs += 1
        path = self.tmp / "requests.bin"
        tag = f"r{self.runs}.{secrets.token_hex(3)}"
        write_requests(
            path, target, count=count, port=server.port, tag=tag, response_url=self.response_url
        )
        cpu, wrk_cpu, machine = server.cpu_seconds(), children_cpu_seconds(), machine_cpu_seconds()
        run = await run_wrk(
            self.wrk, target, server.url, path, seconds=seconds, connections=self.args.connections
        )
        run.cpu = server.cpu_seconds() - cpu
        run.wrk_cpu = children_cpu_seconds() - wrk_cpu
        run.machine_cpu = machine_cpu_seconds() - machine
        return run

    async def run(self, target: Target, on: Server | None = None) -> WrkRun:
        await self.measure(target, self.args.warmup, on)
        measured = await self.measure(target, self.args.duration, on)
        self.rates[target.name] = max(measured.rate, self.rates.get(target.name, 0.0))
        return measured


def print_run(run: WrkRun, base: float | None) -> None:
    ratio = f"{run.rate / base:5.2f}x" if base else "      "
    note = f"  wraps {run.data['wraps']}" if run.data["wraps"] and run.target is not PLAIN else ""
    p50 = run.data["p50_us"] / 1000
    print(
        f"  {run.target.name:<38} {run.rate:8.0f} req/s {ratio}  p50 {p50:6.1f} ms"
        f"  p99 {run.p99_ms:6.1f} ms  CPU {run.cpu_ms_per_request:5.2f} ms/req"
        f"  busy: server {100 * run.busy:3.0f}%, wrk {100 * run.wrk_cpu / run.seconds:3.0f}%,"
        f" others {100 * run.others:3.0f}%  errors {run.errors}{note}",
        flush=True,
    )
    if run.sample:
        print(f"    first wrong reply: {run.sample[:200]}", flush=True)


async def main(args: argparse.Namespace) -> int:
    wrk = ensure_wrk()
    load_before = os.getloadavg()
    rounds: list[list[WrkRun]] = []
    memory: dict[str, tuple[float, float]] = {}
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlackApi())
        for user, tz in USERS.items():
            fake.set_user(user, tz=tz)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-slack-")))
        servers: dict[str, Server] = {}

        async def start(key: str, name: str, argv: list[str], env: dict[str, str]) -> None:
            expect = {"plain": "ok", "bolt": ""}.get(key, HELP.expect)
            server = running(name, argv, env, tmp, expect=expect, secret=SECRET)
            servers[key] = await stack.enter_async_context(server)

        def env_for(database_url: str) -> dict[str, str]:
            return parley_env(
                database_url, api_url=fake.api_url, secret=SECRET, token=TOKEN,
                log_level=args.log_level,
            )  # fmt: skip

        reference, env = [sys.executable, str(HERE / "bench_servers.py")], dict(os.environ)
        await start("plain", "plain", [*reference, "plain", "--port", str(free_port())], env)
        bolt = [*reference, "bolt", "--port", str(free_port()), "--api-url", fake.api_url]
        await start("bolt", "bolt", [*bolt, "--secret", SECRET, "--token", TOKEN], env)
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await start("sqlite", "parley-sqlite", parley_argv(free_port()), env_for(sqlite_url))
        await seed(servers["sqlite"])
        targets = chosen_targets(args)
        if any(t.server == "postgres" for t in targets):
            pg_url = await stack.enter_async_context(fresh_postgres(args.pg_url))
            await start("postgres", "parley-postgres", parley_argv(free_port()), env_for(pg_url))
            await seed(servers["postgres"])
        for server in servers.values():
            memory[f"{server.name}, idle after start"] = server.memory_mib()
        bench = Bench(args, wrk, tmp, fake.response_url("late"), servers)
        startup = {s.name: s.startup for s in servers.values()}
        for number in range(1, args.rounds + 1):
            print(f"round {number}/{args.rounds}", flush=True)
            measured: list[WrkRun] = []
            for target in targets:
                measured.append(await bench.run(target))
                print_run(measured[-1], measured[0].rate if target is not BOLT else None)
            rounds.append(measured)
        for name in ("sqlite", "postgres"):
            if name in servers:
                memory[f"{servers[name].name}, end of rounds"] = servers[name].memory_mib()
        if args.profile:
            await profile(bench, Path(args.profile), targets)
        if args.many:
            many = await serve_many(bench, env_for(f"sqlite+aiosqlite:///{tmp}/many.db"))
            startup[many.name] = many.startup
            memory |= many.memory
        late = len(fake.calls_to(RESPONSE_URL))
        calls = Counter(call.method for call in fake.calls)
        print(f"\nSlack Web API calls the servers made: {dict(calls.most_common())}")
        adds = sum(r.data["requests"] for m in rounds for r in m if r.target.kind in ADDS)
    return report(args, rounds, startup, memory, late, adds, (load_before, os.getloadavg()))


def chosen_targets(args: argparse.Namespace) -> tuple[Target, ...]:
    """The round's targets: ``--targets`` (with bare Bolt and the ceiling), less PostgreSQL
    under ``--no-postgres``."""
    targets: tuple[Target, ...] = ROUND
    if args.targets:
        wanted = {TARGET_KEYS[key.strip()] for key in args.targets.split(",")}
        targets = tuple(t for t in ROUND if t in wanted or t in (BOLT, PLAIN))
    if args.no_postgres:
        targets = tuple(t for t in targets if t.server != "postgres")
    return targets


@dataclass
class Many:
    name: str
    startup: float
    memory: dict[str, tuple[float, float]]


async def serve_many(bench: Bench, env: dict[str, str]) -> Many:
    """``parley serve`` on ``--many`` deadlines (5 alerts each): start-up, memory, list and add."""
    from storage.db import run_migrations
    from tests.bench.bench_alerts import plan_regular, seed_parley

    count = bench.args.many
    print(f"\n{count:,} deadlines in 5,000 channels (SQLite):", flush=True)
    await run_migrations(env["DATABASE_URL"])
    plan = plan_regular(count, time.time(), random.Random(13))
    await seed_parley(env["DATABASE_URL"], plan, 1)
    name = f"parley-sqlite, {count:,} deadlines"
    argv = parley_argv(free_port())
    async with running(name, argv, env, bench.tmp, expect=HELP.expect, secret=SECRET) as server:
        memory = {f"{name}, idle after start": server.memory_mib()}
        await seed(server)
        for target in (LIST, ADD_ISO):
            print_run(await bench.run(target, server), None)
        memory[f"{name}, after list and add"] = server.memory_mib()
    return Many(name, server.startup, memory)


def stacks_file(folder: Path, target: Target) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{target.server}-{target.kind}.txt"


def read_stacks(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


async def profile(bench: Bench, folder: Path, targets: tuple[Target, ...]) -> None:
    """py-spy each profiled path's server for ``--duration`` seconds under its load."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    for target in PROFILED:
        if target not in targets or target.server not in bench.servers:
            continue
        pid = bench.servers[target.server].process.pid
        out = stacks_file(folder, target)
        # The previous run's last requests (up to one per connection) finish first.
        await asyncio.sleep(1)
        argv = [spy, "record", "--pid", str(pid), "--duration", str(bench.args.duration)]
        argv += ["--rate", "250", "--format", "raw", "--function", "--threads"]
        argv += ["--full-filenames", "--nonblocking", "-o", str(out)]
        spying = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        await bench.measure(target, bench.args.warmup)
        run = await bench.measure(target, bench.args.duration)
        async with asyncio.timeout(60):
            _, err = await spying.communicate()
        print(f"\nprofile of {target.name} ({run.rate:.0f} req/s under py-spy), {out}:")
        stacks = read_stacks(out)
        if spying.returncode != 0 or stacks is None:
            print(f"  py-spy failed: {err.decode()[-500:]}")
            continue
        print(summarise(stacks, root=ROOT, top=10))


def report(
    args: argparse.Namespace,
    rounds: list[list[WrkRun]],
    startup: dict[str, float],
    memory: dict[str, tuple[float, float]],
    late: int,
    adds: int,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> int:
    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    refused: list[int] = []
    for number, measured in enumerate(rounds, 1):
        bolt_cpu = statistics.mean(r.cpu_ms_per_request for r in measured if r.target is BOLT)
        for run in measured:
            cpu_ratios.setdefault(run.target.name, []).append(bolt_cpu / run.cpu_ms_per_request)
        first, last = (r.rate for r in measured if r.target is BOLT)
        base = (first + last) / 2
        ceiling = next(r.rate for r in measured if r.target is PLAIN) / base
        # Bare Bolt moving between the start and the end of a round means the machine's
        # other load changed during it: that round's ratios are rougher.
        drift = abs(last - first) / base
        print(
            f"round {number}: bare Bolt {first:,.0f} -> {last:,.0f} req/s"
            f"{' (unsteady)' if drift > DRIFT else ''}, ceiling {ceiling:.2f}x bare Bolt"
            f"{f', under {CEILING_FACTOR}x: no ratios' if ceiling < CEILING_FACTOR else ''}"
        )
        if ceiling < CEILING_FACTOR:
            refused.append(number)
            continue
        for run in measured:
            ratios.setdefault(run.target.name, []).append(run.rate / base)
    names = list(dict.fromkeys(r.target.name for r in rounds[0]))
    by_name = {r.target.name: r.target for r in rounds[0]}

    def runs_of(name: str) -> list[WrkRun]:
        return [r for measured in rounds for r in measured if r.target.name == name]

    print(
        f"\n## wrk -t1 -c{args.connections}, {args.duration} s a target after {args.warmup} s "
        f"warm-up, {len(rounds)} rounds, LOG_LEVEL={args.log_level}\n"
    )
    print("| target | req/s (median) | x bare Bolt, by round | x bare Bolt (median) "
          "| p99 ms (median) | non-2xx | wrong reply | goal | result "
          "| server CPU ms/req | x bare Bolt by CPU | other load (median) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts: list[bool] = []
    for name in names:
        target, runs = by_name[name], runs_of(name)
        rate = statistics.median(r.rate for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        got = ratios.get(name, [])
        by_round = " / ".join(f"{x:.2f}" for x in got) or "refused"
        median = statistics.median(got) if got else math.nan
        goal, verdict = "", ""
        if target.goal is not None:
            goal = f">= {target.goal}x" + (
                f", p99 < {target.p99_goal_ms:.0f} ms" if target.p99_goal_ms else ""
            )
            ok = bool(got) and median >= target.goal and sum(r.errors for r in runs) == 0
            ok = ok and (target.p99_goal_ms is None or p99 < target.p99_goal_ms)
            verdict = "PASS" if ok else "FAIL"
            verdicts.append(ok)
        non2xx = sum(r.data["non2xx"] for r in runs)
        wrong = sum(r.errors - r.data["non2xx"] for r in runs)
        cpu = statistics.median(r.cpu_ms_per_request for r in runs)
        print(f"| {name} | {rate:,.0f} | {by_round} | {median:.2f} | {p99:.1f} | {non2xx} | "
              f"{wrong} | {goal} | {verdict} | {cpu:.2f} | "
              f"{statistics.median(cpu_ratios[name]):.2f} | "
              f"{100 * statistics.median(r.others for r in runs):.0f}% |")  # fmt: skip
    print("\n| server | start to first answered command | RSS |")
    print("|---|---|---|")
    for name, seconds in startup.items():
        print(f"| {name} | {seconds:.2f} s | |")
    for label, (rss, peak) in memory.items():
        print(f"| {label} | | {rss:.0f} MiB (peak {peak:.0f} MiB) |")
    print(f"\ndeadlines added during the rounds (both databases): {adds:,}")
    print(f"replies that missed the ack budget (sent to the response URL): {late}")
    print(f"load average before {load[0][0]:.2f}, after {load[1][0]:.2f} (1 min)")
    if refused:
        print(f"rounds without ratios (ceiling under {CEILING_FACTOR}x bare Bolt): {refused}")
    if len(refused) == len(rounds):
        return 2
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="measured seconds a target")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before, not counted")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of parley serve")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--profile", metavar="DIR", help="py-spy the slowest paths into DIR")
    parser.add_argument(
        "--targets",
        metavar="KEYS",
        help=f"only these, comma-separated ({', '.join(TARGET_KEYS)}); bare Bolt and the "
        "ceiling always run",
    )
    parser.add_argument(
        "--many", type=int, default=100_000, help="deadlines for the memory check (0: skip)"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
