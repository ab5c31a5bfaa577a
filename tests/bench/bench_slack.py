"""Benchmark: Parley's Slack endpoint against a bare slack-bolt AsyncApp, in one run.

Run on demand (not collected by pytest), on an otherwise idle machine::

    python tests/bench/bench_slack.py [--rounds 3] [--duration 4] [--concurrency 50]

Everything stays on 127.0.0.1. The servers run in this process (a plain aiohttp
handler, the bare bolt app with default settings and with
``process_before_response``, and Parley's whole app on a fresh SQLite database
with the local fake Slack Web API); the load comes from one separate process,
an aiohttp client with ``--concurrency`` keep-alive connections. Every request
is a slash command signed with Slack's algorithm. A request counts when its
reply is complete: the reply is the ack body (checked for the expected text),
so the client's round trip is the ack latency; a reply that misses Parley's
ack budget goes to the fake's response URL and counts as an error.

Each round measures every target for a warm-up second and ``--duration``
seconds, bare bolt first and last; a target's ratio is its rate over the mean
of that round's two bare runs, and the table shows the median over rounds
(this cancels drift from other load on the machine). Targets: the plain
handler (the load generator's ceiling), Parley ``/deadline help`` (the
adapter's own cost, no database), ``/deadline list`` with 10 open deadlines,
``/deadline add`` with an ISO 8601 due time and with a natural-language one.
Goals: list >= 0.5x bare, add (ISO) >= 0.3x, p99 ack < 100 ms.

``--profile`` runs cProfile on the server during the Parley targets of the
last round (the main thread only: aiosqlite's threads do not show).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import multiprocessing
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# tests/ goes last: its folders must not shadow standard modules (tests/calendar).
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))

from aiohttp import ClientSession, TCPConnector, web  # noqa: E402
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request  # noqa: E402
from slack_bolt.async_app import AsyncAck, AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from adapters.slack.app import ACK_BUDGET  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.domain import Context  # noqa: E402
from bot.main import build_app, open_runtime  # noqa: E402
from bot.when import warm_up  # noqa: E402
from tests.fakes.signing import signed_headers, slash_command_body  # noqa: E402
from tests.fakes.slack_api import RESPONSE_URL, FakeSlackApi  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
LIST_CHANNEL = "CLIST"
ADD_CHANNEL = "CADD"


@dataclass(frozen=True)
class Target:
    name: str
    server: str  # "plain", "bare", "bare-pbr" or "parley"
    text: str
    channel: str
    expect: str  # text every reply must contain
    team: str = "T1"


BARE = Target("bare bolt", "bare", "list", LIST_CHANNEL, "")
TARGETS = (
    BARE,
    Target("plain aiohttp handler", "plain", "list", LIST_CHANNEL, "ok"),
    Target("bare bolt (pbr)", "bare-pbr", "list", LIST_CHANNEL, ""),
    Target("parley help (no database)", "parley", "help", LIST_CHANNEL, "Deadlines"),
    Target("parley list (10 open)", "parley", "list", LIST_CHANNEL, "Open deadlines (10)"),
    Target(
        "parley add (ISO 8601)",
        "parley",
        "add Bench add due 2030-01-04T17:00-05:00",
        ADD_CHANNEL,
        '"in_channel"',
        # Another workspace: the deadlines added must not grow what list reads.
        team="T2",
    ),
    Target(
        "parley add (natural language)",
        "parley",
        "add Bench add due Friday 17:00",
        ADD_CHANNEL,
        '"in_channel"',
        # Another workspace: the deadlines added must not grow what list reads.
        team="T2",
    ),
    BARE,
)


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --- the load generator (its own process) --------------------------------------------
def load_process(jobs: Any) -> None:
    """Run load jobs received on ``jobs`` until it sends None."""
    while (job := jobs.recv()) is not None:
        jobs.send(asyncio.run(_load(**job)))


async def _load(
    url: str,
    body: str,
    headers: dict[str, str],
    expect: str,
    concurrency: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration
    payload = body.encode()
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal errors
            while (start := time.perf_counter()) < stop_at:
                try:
                    async with session.post(url, data=payload, headers=headers) as response:
                        text = await response.text()
                    ok = response.status == 200 and expect in text
                except Exception:
                    ok = False
                done = time.perf_counter()
                if start >= measure_from and done <= stop_at:
                    if ok:
                        latencies.append(done - start)
                    else:
                        errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"latencies": latencies, "errors": errors, "seconds": duration}


# --- servers ----------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


def plain_aiohttp() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"text": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    return app


def bare_bolt(api_url: str, *, process_before_response: bool) -> web.Application:
    bolt = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=api_url),
        process_before_response=process_before_response,
    )

    @bolt.command("/deadline")
    async def command(ack: AsyncAck) -> None:
        await ack()

    async def handler(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    return app


async def main(args: argparse.Namespace) -> int:
    warm_up()
    context = multiprocessing.get_context("spawn")
    jobs, child_end = context.Pipe()
    loader = context.Process(target=load_process, args=(child_end,), daemon=True)
    loader.start()
    loop = asyncio.get_running_loop()
    rounds: list[dict[str, list[Result]]] = []
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlackApi())
        fake.set_user("U1", tz="America/New_York")
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            slack_signing_secret=SECRET,
            slack_bot_token=TOKEN,
            slack_api_url=fake.api_url,
            slack_client_id="",
            slack_client_secret="",
        )
        runtime = await stack.enter_async_context(open_runtime(settings))
        ctx = Context(
            workspace_id="slack:T1",
            channel_id=LIST_CHANNEL,
            user_id="U1",
            tz="America/New_York",
            platform="slack",
        )
        for n in range(10):
            text = f"add Bench deadline {n} due in {n + 2} days"
            await runtime.service.handle(ctx=ctx, command="deadline", text=text)
        urls = {
            "plain": await stack.enter_async_context(serving(plain_aiohttp())),
            "bare": await stack.enter_async_context(
                serving(bare_bolt(fake.api_url, process_before_response=False))
            ),
            "bare-pbr": await stack.enter_async_context(
                serving(bare_bolt(fake.api_url, process_before_response=True))
            ),
            "parley": await stack.enter_async_context(serving(build_app(runtime))),
        }
        for number in range(1, args.rounds + 1):
            print(f"round {number}/{args.rounds}", flush=True)
            measured: dict[str, list[Result]] = {}
            profiler = cProfile.Profile() if args.profile and number == args.rounds else None
            for target in TARGETS:
                body = slash_command_body(
                    command="/deadline",
                    text=target.text,
                    channel_id=target.channel,
                    team_id=target.team,
                    response_url=fake.response_url("late"),
                )
                job = {
                    "url": urls[target.server],
                    "body": body,
                    "headers": signed_headers(body, secret=SECRET),
                    "expect": target.expect,
                    "concurrency": args.concurrency,
                    "warmup": 1.0,
                    "duration": args.duration,
                }
                if profiler is not None and target.server == "parley":
                    profiler.enable()
                jobs.send(job)
                data = await loop.run_in_executor(None, jobs.recv)
                if profiler is not None:
                    profiler.disable()
                result = Result(
                    target.name,
                    len(data["latencies"]),
                    data["errors"],
                    data["seconds"],
                    data["latencies"],
                )
                measured.setdefault(target.name, []).append(result)
                print(
                    f"  {target.name:<30} {result.rate:7.0f} req/s  "
                    f"p50 {result.percentile(0.5):6.1f} ms  p99 {result.percentile(0.99):6.1f} ms"
                    f"  errors {result.errors}",
                    flush=True,
                )
            rounds.append(measured)
            if profiler is not None:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
        late = len(fake.calls_to(RESPONSE_URL))
    jobs.send(None)
    loader.join(timeout=10)
    return report(rounds, late)


def report(rounds: list[dict[str, list[Result]]], late: int) -> int:
    names = list(dict.fromkeys(t.name for t in TARGETS))
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for measured in rounds:
        base = statistics.mean(r.rate for r in measured[BARE.name])
        for name in names:
            ratios[name].extend(r.rate / base for r in measured[name])

    def all_of(name: str) -> list[Result]:
        return [r for measured in rounds for r in measured[name]]

    def p99(name: str) -> float:
        return statistics.median(r.percentile(0.99) for r in all_of(name))

    print()
    print(
        f"{'target (median over rounds)':<32} {'req/s':>7} {'x bare':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6}"
    )
    for name in names:
        results = all_of(name)
        print(
            f"{name:<32} {statistics.median(r.rate for r in results):7.0f} "
            f"{statistics.median(ratios[name]):7.2f} "
            f"{statistics.median(r.percentile(0.5) for r in results):7.1f} {p99(name):7.1f} "
            f"{sum(r.errors for r in results):6d}"
        )
    print(f"\nreplies that missed the {ACK_BUDGET:.0f} s ack budget: {late}")
    goals = [
        ("list >= 0.5x bare", statistics.median(ratios["parley list (10 open)"]) >= 0.5),
        ("add (ISO) >= 0.3x bare", statistics.median(ratios["parley add (ISO 8601)"]) >= 0.3),
        ("p99 ack < 100 ms, list", p99("parley list (10 open)") < 100),
        ("p99 ack < 100 ms, add (ISO)", p99("parley add (ISO 8601)") < 100),
    ]
    print()
    for label, ok in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds a target")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the last round")
    parser.add_argument("--sort", default="tottime", help="pstats sort key for --profile")
    sys.exit(asyncio.run(main(parser.parse_args())))
