"""Prometheus metrics at ``GET /metrics``, one registry per application.

``install(app, runtime)`` (called by ``create_app``) adds:

- a middleware counting requests by route and status, with their duration.
  The route is the matched resource's canonical path (``/calendar/{token}.ics``),
  never the raw URL: that holds feed tokens, and would make one series per URL.
  Calendar feed requests and their 304s are the series of the feed route;
- command handling time by command (``deadline add``, ``position record``,
  ...) and the count of commands by outcome (``ok``, ``user_error``,
  ``database_unavailable``, ``error``), whichever adapter the command came
  through: ``command_timer`` wraps the service's ``handle`` once and calls
  every registered observer (see below);
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
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from adapters.logs import route_of
from bot.domain import Context
from bot.errors import StorageUnavailable, UserError
from bot.logs import current_fields
from bot.messages import Message

if TYPE_CHECKING:
    from bot.main import Runtime
    from bot.scheduler import Dispatcher

log = logging.getLogger("parley.command")

METRICS_PATH = "/metrics"
SCRAPE_QUERY_SECONDS = 2.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_DEADLINE_VERBS = frozenset(
    {"add", "list", "show", "extend", "done", "cancel", "remind", "feed", "help"}
)
_POSITION_VERBS = frozenset({"list", "ask", "help"})

CommandObserver = Callable[[str, str, float], None]  # (command, outcome, seconds)


def command_label(command: str, text: str) -> str:
    """A bounded label for a command: its word and verb, never its free text."""
    name = command.strip().lstrip("/").lower()
    words = text.split(maxsplit=2)
    verb = words[0].lower() if words else "help"
    if name == "deadline":
        return f"deadline {verb}" if verb in _DEADLINE_VERBS else "deadline other"
    if name == "position":
        if verb in _POSITION_VERBS:
            return f"position {verb}"
        return "position record" if len(words) > 1 else "position form"
    return "other"


# --- the command hook ----------------------------------------------------------
_outcome: ContextVar[list[str] | None] = ContextVar("parley_command_outcome", default=None)


class CommandTimer:
    """Stands in for one service's ``handle``: times it, classifies the outcome,
    logs one line per command and tells the observers.

    The outcome comes from the service's ``execute`` (also wrapped here), which
    raises what ``handle`` turns into a reply: ``UserError`` is ``user_error``,
    ``StorageUnavailable`` is ``database_unavailable``. A command that does not
    parse never reaches ``execute``: that is a ``user_error`` too.
    """

    def __init__(self, service: Any) -> None:
        self._handle = service.handle
        self._execute = service.execute
        self.observers: list[CommandObserver] = []

    async def __call__(self, *, ctx: Context, command: str, text: str) -> list[Message]:
        label = command_label(command, text)
        fields = current_fields()
        if fields is not None:
            fields.workspace, fields.command = ctx.workspace_id, label
        seen: list[str] = []
        token = _outcome.set(seen)
        started = time.perf_counter()
        outcome = "error"
        try:
            messages: list[Message] = await self._handle(ctx=ctx, command=command, text=text)
            outcome = seen[-1] if seen else "user_error"
            return messages
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            _outcome.reset(token)
            elapsed = time.perf_counter() - started
            if fields is not None:
                fields.outcome = outcome
            for observe in self.observers:
                observe(label, outcome, elapsed)
            log.info(
                "/%s: %s in %.1f ms", label, outcome, elapsed * 1000,
                extra={"workspace": ctx.workspace_id, "command": label, "outcome": outcome},
            )  # fmt: skip

    async def execute(self, **kwargs: Any) -> list[Message]:
        seen = _outcome.get()
        try:
            messages: list[Message] = await self._execute(**kwargs)
        except UserError:
            if seen is not None:
                seen.append("user_error")
            raise
        except StorageUnavailable:
            if seen is not None:
                seen.append("database_unavailable")
            raise
        if seen is not None:
            seen.append("ok")
        return messages


def command_timer(service: Any) -> CommandTimer:
    """The service's ``CommandTimer``, installed on first use (once per service)."""
    existing = service.__dict__.get("handle")
    if isinstance(existing, CommandTimer):
        return existing
    timer = CommandTimer(service)
    # Instance attributes shadow the methods for every caller (Slack, Teams, ...),
    # including ``handle``'s own call to ``self.execute``.
    service.handle = timer
    service.execute = timer.execute
    return timer


# --- the registry --------------------------------------------------------------
class _DispatcherCollector(Collector):
    """The dispatchers' own counters, read when scraped."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        dispatchers = list(self.runtime.dispatchers)
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
    """One application's metrics."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
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
        registry.register(_DispatcherCollector(runtime))
        self._lateness_seen: weakref.WeakKeyDictionary[Dispatcher, int] = (
            weakref.WeakKeyDictionary()
        )

    # --- feeding ---------------------------------------------------------------
    def observe_command(self, command: str, outcome: str, seconds: float) -> None:
        self.command_seconds.labels(command).observe(seconds)
        self.commands.labels(command, outcome).inc()

    async def refresh(self) -> None:
        """What is read at scrape time: lateness samples, due alerts, the database."""
        for dispatcher in list(self.runtime.dispatchers):
            samples, total = dispatcher.stats.lateness, dispatcher.stats.lateness_count
            new = min(total - self._lateness_seen.get(dispatcher, 0), len(samples))
            for value in list(samples)[len(samples) - new :]:
                self.lateness.observe(value)
            self._lateness_seen[dispatcher] = total
        try:
            async with asyncio.timeout(SCRAPE_QUERY_SECONDS):
                due = await self.runtime.repository.count_due_alerts(now=self.runtime.clock.now())
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
            self.requests.labels(route, method, str(status)).inc()
            self.request_seconds.labels(route).observe(time.perf_counter() - started)

    async def handle(self, request: web.Request) -> web.Response:
        """The text format (0.0.4 unless the scraper asks for another, e.g. OpenMetrics)."""
        await self.refresh()
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self.registry), headers={"Content-Type": content_type})


METRICS = web.AppKey("parley_metrics", Metrics)


def install(app: web.Application, runtime: Runtime) -> Metrics:
    """Add the middleware, ``GET /metrics`` and the command observer to ``app``."""
    metrics = Metrics(runtime)
    app[METRICS] = metrics
    app.middlewares.append(metrics.middleware)
    app.router.add_get(METRICS_PATH, metrics.handle)
    timer = command_timer(runtime.service)
    timer.observers.append(metrics.observe_command)

    async def detach(_app: web.Application) -> None:
        with contextlib.suppress(ValueError):
            timer.observers.remove(metrics.observe_command)

    app.on_cleanup.append(detach)
    return metrics
