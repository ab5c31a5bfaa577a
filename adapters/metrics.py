"""Prometheus metrics at ``GET /metrics``, one registry per application.

``install(app, dispatchers=..., alerts=..., clock=...)`` adds to an aiohttp app:

- a middleware counting requests by route and status, with their duration.
  The route is the matched resource's canonical path (``/calendar/{token}.ics``),
  never the raw URL: that holds feed tokens, and would make one series per URL.
  Calendar feed requests and their 304s are the series of the feed route;
- command handling time by command (``deadline add``, ``position record``,
  ...) and the count of commands by outcome (``ok``, ``user_error``,
  ``database_unavailable``, ``error``), whichever adapter the command came
  through: ``Metrics`` is a ``bot.observe.CommandObserver``, which the
  composition root adds to the service's observers for the app's lifetime;
- at scrape time: the alert dispatchers' counters (sent, failed, retried,
  collapsed) and new lateness samples, the number of alerts due and not yet
  sent (one indexed ``count(*)``, bounded by a timeout), whether the database
  answers, and whether the dispatcher is paused.

Each app gets its own ``CollectorRegistry`` (not prometheus-client's global
one), so tests and benchmarks can build several apps in one process.

| metric | type | labels |
|---|---|---|
| parley_http_requests_total | counter | route, method, status |
| parley_http_request_duration_seconds | histogram | route |
| parley_command_duration_seconds | histogram | command |
| parley_commands_total | counter | command, outcome |
| parley_alerts_sent_total, _failed_total, _retried_total, _collapsed_total | counter | |
| parley_alert_lateness_seconds | histogram | |
| parley_alerts_due_pending | gauge | |
| parley_database_up | gauge | |
| parley_dispatcher_paused | gauge | |
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from adapters.logs import route_of
from bot.domain import Context
from bot.errors import StorageUnavailable
from bot.observe import Outcome
from bot.ports import Clock
from bot.scheduler import Dispatcher

METRICS_PATH = "/metrics"
SCRAPE_QUERY_SECONDS = 2.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class DueAlerts(Protocol):
    """The one storage read the metrics make (at scrape time)."""

    async def count_due_alerts(self, *, now: datetime) -> int: ...


# --- the registry --------------------------------------------------------------
class _DispatcherCollector(Collector):
    """The dispatchers' own counters, read when scraped."""

    def __init__(self, dispatchers: Sequence[Dispatcher]) -> None:
        self.dispatchers = dispatchers

    def collect(self) -> Iterator[Metric]:
        dispatchers = list(self.dispatchers)
        for name, doc in (
            ("sent", "Alerts posted."),
            ("failed", "Alerts given up on (permanent errors, too many attempts)."),
            ("retried", "Alert sends put back for a retry (rate limits, server errors)."),
            ("collapsed", "Missed alerts folded into a catch-up message."),
        ):
            total = sum(getattr(d.stats, name) for d in dispatchers)
            yield CounterMetricFamily(f"parley_alerts_{name}", doc, value=total)
        yield GaugeMetricFamily(
            "parley_dispatcher_paused",
            "1 while the alert dispatcher waits for the database to come back.",
            value=float(any(d.paused for d in dispatchers)),
        )


class Metrics:
    """One application's metrics; ``dispatchers`` is the live list of running ones."""

    def __init__(
        self, *, dispatchers: Sequence[Dispatcher], alerts: DueAlerts, clock: Clock
    ) -> None:
        self.dispatchers = dispatchers
        self.alerts = alerts
        self.clock = clock
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "parley_http_requests",
            "HTTP requests by route (canonical path), method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "parley_http_request_duration_seconds",
            "Time to answer HTTP requests, by route.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
            registry=registry,
        )
        self.command_seconds = Histogram(
            "parley_command_duration_seconds",
            "Time the core took to handle a command, by command.",
            ["command"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0),
            registry=registry,
        )
        self.commands = Counter(
            "parley_commands",
            "Commands handled, by command and outcome.",
            ["command", "outcome"],
            registry=registry,
        )
        self.lateness = Histogram(
            "parley_alert_lateness_seconds",
            "How long after its due time each alert was posted.",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=registry,
        )
        self.pending_due = Gauge(
            "parley_alerts_due_pending",
            "Alerts due now or earlier and not yet sent (NaN when the database is away).",
            registry=registry,
        )
        self.database_up = Gauge(
            "parley_database_up", "1 when the database answered the last scrape.", registry=registry
        )
        registry.register(_DispatcherCollector(dispatchers))
        self._lateness_seen: weakref.WeakKeyDictionary[Dispatcher, int] = (
            weakref.WeakKeyDictionary()
        )
        # Each label set's children, looked up once (see command_finished, middleware).
        self._per_command: dict[tuple[str, str], tuple[Histogram, Counter]] = {}
        self._per_request: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    # --- feeding ---------------------------------------------------------------
    def command_started(self, *, ctx: Context, name: str) -> None:
        pass  # counted when it finishes, with its outcome

    def command_finished(
        self, *, ctx: Context, name: str, outcome: Outcome, seconds: float
    ) -> None:
        key = (name, str(outcome))
        children = self._per_command.get(key)
        if children is None:  # labels() takes a lock and builds its key: once per set
            children = (self.command_seconds.labels(name), self.commands.labels(*key))
            self._per_command[key] = children
        children[0].observe(seconds)
        children[1].inc()

    async def refresh(self) -> None:
        """What is read at scrape time: lateness samples, due alerts, the database."""
        for dispatcher in list(self.dispatchers):
            samples, total = dispatcher.stats.lateness, dispatcher.stats.lateness_count
            new = min(total - self._lateness_seen.get(dispatcher, 0), len(samples))
            for value in list(samples)[len(samples) - new :]:
                self.lateness.observe(value)
            self._lateness_seen[dispatcher] = total
        try:
            async with asyncio.timeout(SCRAPE_QUERY_SECONDS):
                due = await self.alerts.count_due_alerts(now=self.clock.now())
        except (StorageUnavailable, TimeoutError):
            self.database_up.set(0)
            self.pending_due.set(float("nan"))
        else:
            self.database_up.set(1)
            self.pending_due.set(due)

    # --- HTTP ------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (nginx's convention)
            raise
        finally:
            route = route_of(request)
            method = request.method if request.method in _METHODS else "OTHER"
            key = (route, method, status)
            children = self._per_request.get(key)
            if children is None:  # a handful of routes, methods and statuses
                children = (
                    self.requests.labels(route, method, str(status)),
                    self.request_seconds.labels(route),
                )
                self._per_request[key] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - started)

    async def handle(self, request: web.Request) -> web.Response:
        """The text format (0.0.4 unless the scraper asks for another, e.g. OpenMetrics)."""
        await self.refresh()
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self.registry), headers={"Content-Type": content_type})


METRICS = web.AppKey("parley_metrics", Metrics)


def install(
    app: web.Application, *, dispatchers: Sequence[Dispatcher], alerts: DueAlerts, clock: Clock
) -> Metrics:
    """Add the middleware and ``GET /metrics`` to ``app``; the caller feeds it commands."""
    metrics = Metrics(dispatchers=dispatchers, alerts=alerts, clock=clock)
    app[METRICS] = metrics
    app.middlewares.append(metrics.middleware)
    app.router.add_get(METRICS_PATH, metrics.handle)
    return metrics
