"""The aiohttp server: one application for Slack, Teams, calendar feeds, health and metrics.

``create_app(database=...)`` builds the application's base: request ids
(``adapters.logs``), ``GET /healthz`` and ``GET /readyz``. The composition
root (``bot.main.build_app``) mounts the rest onto it, each part with only
what it uses. ``serving`` runs the application; ``Server.until_stopped``
returns after SIGINT or SIGTERM, once the listening socket is closed.
Everything started while serving is stopped when the block ends
(``cleanup_ctx``).

Connections: an idle keep-alive connection is closed after ``KEEPALIVE_TIMEOUT``.
aiohttp has no timeout for reading a request's headers or body, so a client
that sends them slowly holds its connection: run Parley behind the proxy in
``infra/`` (nginx, or the Kubernetes ingress), which bounds both and the body
size (docs/security.md, "Transport and tokens").

Stopping (SIGTERM from Docker or Kubernetes): the listening socket closes at
once; the alert dispatcher finishes the send in progress and gives back its
other claims (up to 10 s); requests in progress finish (up to
``shutdown_timeout``); then the adapters drain their background tasks and
close. Give the process 45 s (terminationGracePeriodSeconds, stop_grace_period).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web

from adapters.feeds import RedactingAccessLogger
from adapters.logs import request_context
from bot.errors import ConfigurationError, MigrationNeeded, StorageUnavailable

log = logging.getLogger("parley.web")

READY_TIMEOUT = 2.0  # a hung database must not hang the readiness probe
SHUTDOWN_TIMEOUT = 20.0  # requests in progress may finish within this
# An idle keep-alive connection is closed after this (aiohttp's own default is an
# hour). Longer than nginx's upstream keepalive_timeout (60 s, infra/nginx.conf),
# so the proxy, not Parley, closes the connections it pools.
KEEPALIVE_TIMEOUT = 75.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Database(Protocol):
    async def ping(self) -> None:
        """Raise ``StorageUnavailable`` when the database cannot be reached
        (``MigrationNeeded`` when its schema is older than this Parley's)."""
        ...


def create_app(*, database: Database) -> web.Application:
    """The base application: request ids, liveness, and readiness (``database`` answers,
    and its schema is current)."""
    app = web.Application(client_max_size=1024 * 1024, middlewares=[request_context])

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await database.ping()
        except MigrationNeeded as error:
            body = {"status": "database not migrated", "reason": str(error)}
            return web.json_response(body, status=503)
        except (StorageUnavailable, TimeoutError):
            return web.json_response({"status": "database unreachable"}, status=503)
        return web.json_response({"status": "ready"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.on_startup.append(settle_heap)
    return app


async def settle_heap(app: web.Application) -> None:
    """Move everything loaded at start (SDKs, language data, templates: about
    130,000 objects) out of the garbage collector's sight. A full collection
    over them took 50 ms here and landed on whichever request was running,
    which set the p99 ack time; what requests allocate is still collected."""
    gc.collect()
    gc.freeze()


class Server:
    """A started application (see ``serving``)."""

    def __init__(self, runner: web.AppRunner, stop: asyncio.Event) -> None:
        self.runner = runner
        self._stop = stop

    async def until_stopped(self) -> None:
        """Wait for SIGINT or SIGTERM, then stop taking connections."""
        await self._stop.wait()
        log.info("Parley stopping: no new connections; finishing requests and alert sends")
        for listening in list(self.runner.sites):
            await listening.stop()


@contextlib.asynccontextmanager
async def serving(
    app: web.Application,
    *,
    host: str,
    port: int,
    listen: bool = True,
    keepalive_timeout: float = KEEPALIVE_TIMEOUT,
) -> AsyncIterator[Server]:
    """Start ``app`` (and listen on ``host:port``); stop it when the block ends.

    ``listen=False`` is the worker: the application starts (so every platform's
    client and gateway is up) but no HTTP port is opened.

    SIGINT and SIGTERM are taken over first: from the start line on (which tells an
    orchestrator the process runs), a signal stops it gracefully, never by default.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        started = _started(
            app, host=host, port=port, listen=listen, keepalive_timeout=keepalive_timeout
        )
        async with started as runner:
            yield Server(runner, stop)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


@contextlib.asynccontextmanager
async def _started(
    app: web.Application, *, host: str, port: int, listen: bool, keepalive_timeout: float
) -> AsyncIterator[web.AppRunner]:
    """The application set up (and listening), cleaned up when the block ends."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        access_log_class=RedactingAccessLogger,  # feed URLs carry secret tokens
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    if listen:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:  # in use, not allowed, no such address
            await runner.cleanup()
            why = os.strerror(error.errno) if error.errno else str(error)
            raise ConfigurationError(f"cannot listen on {host}:{port}: {why}") from None
        log.info("Parley listening on http://%s:%s", host, runner.addresses[0][1])
    try:
        yield runner
    finally:
        await runner.cleanup()
        log.info("Parley stopped")
