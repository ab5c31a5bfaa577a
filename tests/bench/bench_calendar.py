"""Calendar feed benchmark (on demand, not collected by pytest).

    python tests/bench/bench_calendar.py [--deadlines 10000]

Builds a SQLite database with N deadlines in one channel, serves the feed from
the real aiohttp app on 127.0.0.1, and compares, in the same run:

- building the same calendar from scratch with icalendar (one ``Calendar`` with
  every event, one ``to_ical()``), and Parley's own uncached build; the faster
  of the two is the baseline;
- the feed served from its cache (HTTP GET of the whole body, including the
  token lookup and the fingerprint query on every request);
- the feed rebuilt after one deadline changed (all rows loaded, one event rendered);
- a conditional GET answered 304;
- how long /healthz waits while a cold feed is being built (the event loop stays free).

Targets: served from cache >= 50x faster than from scratch; 304 under 5 ms.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiohttp import ClientSession, web
from icalendar import Alarm, Calendar, Event
from sqlalchemy import insert

from bot.calendar import build_calendar, describe, dtstart, event_uid
from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import DEFAULT_OFFSETS, Context, DeadlineState, EventKind, format_offset
from bot.domain import Event as HistoryEvent
from bot.feeds import Feeds
from bot.main import build_app, open_runtime
from bot.runtime import Runtime
from storage.repository import SqlRepository
from storage.rows import C, D, P, offsets_to_text

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "UTC")
WORKSPACE, CHANNEL = "bench:W1", "C-bench"


async def fill(runtime: Runtime, count: int) -> None:
    """Insert ``count`` deadlines (a tenth with two positions) in one transaction."""
    offsets = offsets_to_text(DEFAULT_OFFSETS)
    rows = [
        {
            "workspace_id": WORKSPACE,
            "number": n,
            "channel_id": CHANNEL,
            "platform": "slack",
            "title": f"Deadline number {n} for the usage agreement",
            "title_key": f"deadline number {n} for the usage agreement",
            "due_at": NOW + timedelta(hours=n),
            "tz": ZONES[n % len(ZONES)],
            "owner_id": f"U{n % 17}",
            "status": "open",
            "reminder_offsets": offsets,
            "created_at": NOW - timedelta(days=1),
            "updated_at": NOW - timedelta(days=1),
            "sequence": 0,
            "uid": secrets.token_hex(16),
        }
        for n in range(1, count + 1)
    ]
    positions = [
        {
            "deadline_id": n,
            "stakeholder": f"party:{side}",
            "workspace_id": WORKSPACE,
            "label": side,
            "stance": stance,
            "terms": "No mass surveillance; a human in every final targeting decision",
            "recorded_by": "U1",
            "recorded_at": NOW - timedelta(hours=1),
        }
        for n in range(1, count + 1, 10)
        for side, stance in (("Anthropic", "oppose"), ("Department of Defense", "support"))
    ]
    repository = runtime.repository
    assert isinstance(repository, SqlRepository)
    engine = repository._db.engine  # setup only: bulk rows straight into the tables
    async with engine.begin() as conn:
        await conn.execute(insert(D), rows)
        await conn.execute(insert(P), positions)
        await conn.execute(insert(C), [{"workspace_id": WORKSPACE, "last_number": count}])


def from_scratch_tree(items: list[DeadlineState]) -> bytes:
    """The same calendar built the plain way: one icalendar tree with every event
    (same fields), icalendar's own VTIMEZONEs, one ``to_ical()``."""
    cal = Calendar()
    cal.add("prodid", "-//Parley//bench//EN")
    cal.add("version", "2.0")
    for item in items:
        deadline = item.deadline
        event = Event()
        event.add("uid", event_uid(deadline))
        event.add("dtstamp", item.modified_at)
        event.add("last-modified", item.modified_at)
        event.add("sequence", deadline.sequence)
        event.add("summary", f"{deadline.ref} {deadline.title}")
        event.add("dtstart", dtstart(deadline))
        event.add("duration", timedelta(minutes=15))
        event.add("status", "CONFIRMED")
        event.add("description", describe(item))
        for offset in deadline.reminder_offsets:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"due in {format_offset(offset)}")
            alarm.add("trigger", -offset)
            event.add_component(alarm)
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


async def atimed(work: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def main(count: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder}/bench.db")
        async with open_runtime(settings, clock=ManualClock(NOW)) as runtime:
            return await bench(runtime, count)


async def bench(runtime: Runtime, count: int) -> int:
    await fill(runtime, count)
    feeds = runtime.service.feeds
    assert isinstance(feeds, Feeds)
    ctx = Context(workspace_id=WORKSPACE, channel_id=CHANNEL, user_id="U1", platform="slack")
    path = "/calendar/" + (await feeds.feed_url(ctx=ctx, scope="channel")).rsplit("/", 1)[1]
    scope = await feeds.scope_for(path.rsplit("/", 1)[1].removesuffix(".ics"))
    assert scope is not None
    since = NOW - timedelta(days=30)
    load = await atimed(
        lambda: runtime.repository.list_feed_items(scope=scope, cancelled_since=since)
    )
    items = await runtime.repository.list_feed_items(scope=scope, cancelled_since=since)
    assert len(items) == count

    scratch_tree = min(timed(lambda: from_scratch_tree(items)) for _ in range(2))
    scratch_parley = min(
        timed(lambda: build_calendar(items, name="n", description="d")) for _ in range(2)
    )
    scratch = min(scratch_tree, scratch_parley)

    app = build_app(runtime)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    try:
        async with ClientSession(base) as http:
            stalls: list[float] = []
            done = asyncio.Event()

            async def probe() -> None:
                while not done.is_set():
                    stalls.append(await atimed(lambda: http.get("/healthz")))
                    await asyncio.sleep(0.005)

            prober = asyncio.create_task(probe())
            cold_started = time.perf_counter()
            async with http.get(path) as response:
                body = await response.read()
                etag = response.headers["ETag"]
            cold = time.perf_counter() - cold_started
            done.set()
            await prober

            async def get_full() -> None:
                async with http.get(path) as response:
                    assert response.status == 200
                    await response.read()

            warm = [await atimed(get_full) for _ in range(20)]

            async def get_304() -> None:
                async with http.get(path, headers={"If-None-Match": etag}) as response:
                    assert response.status == 304

            for _ in range(20):
                await get_304()
            not_modified = [await atimed(get_304) for _ in range(300)]

            rebuilds = []
            for step in range(5):  # extend one deadline, then fetch the whole feed
                changed = items[count // 2 + step].deadline
                runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
                await runtime.repository.update_deadline(
                    deadline=replace(
                        changed,
                        due_at=changed.due_at + timedelta(days=1),
                        updated_at=runtime.clock.now(),
                    ),
                    event=HistoryEvent(
                        deadline_id=changed.id, kind=EventKind.EXTENDED, at=NOW, actor_id="U1"
                    ),
                    alerts=None,
                )
                rebuilds.append(await atimed(get_full))
            rebuilt = statistics.median(rebuilds)
    finally:
        await runner.cleanup()

    served = statistics.median(warm)
    p304 = statistics.median(not_modified)
    p304_95 = statistics.quantiles(not_modified, n=20)[18]
    ratio = scratch / served
    print(f"deadlines in the feed:              {count:>10,}   ({len(body) / 1e6:.1f} MB)")
    print(f"load the rows (list_feed_items):    {load * 1e3:>10.1f} ms")
    print(f"from scratch, icalendar tree:       {scratch_tree * 1e3:>10.1f} ms")
    print(f"from scratch, Parley uncached:      {scratch_parley * 1e3:>10.1f} ms")
    print(f"first GET (cold, builds the feed):  {cold * 1e3:>10.1f} ms")
    print(
        f"  /healthz wait during it, max:     {max(stalls, default=0) * 1e3:>10.1f} ms"
        f"   ({len(stalls)} probes)"
    )
    print(f"GET served from cache, median:      {served * 1e3:>10.2f} ms")
    print(
        f"GET after one deadline changed:     {rebuilt * 1e3:>10.1f} ms"
        f"   ({scratch / rebuilt:.0f}x faster than from scratch)"
    )
    print(f"304 Not Modified, median / p95:     {p304 * 1e3:>10.2f} ms / {p304_95 * 1e3:.2f} ms")
    print(f"cached vs from scratch:             {ratio:>10.0f}x   (target >= 50x)")
    ok = ratio >= 50 and p304 < 0.005
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadlines", type=int, default=10_000)
    sys.exit(asyncio.run(main(parser.parse_args().deadlines)))
