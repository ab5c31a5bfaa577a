"""The aiohttp application: one server for Slack, Teams, calendar feeds, health and metrics.

``create_app(runtime)`` builds it (tests call it too); ``serve`` runs it until
SIGINT/SIGTERM. Everything started here is stopped here (``cleanup_ctx``).

Stopping (SIGTERM from Docker or Kubernetes): the listening socket closes at
once; the alert dispatcher finishes the send in progress and gives back its
other claims (up to 10 s); requests in progress finish (up to
``shutdown_timeout``); then the adapters drain their background tasks and
close. Give the process 45 s (terminationGracePeriodSeconds, stop_grace_period).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from typing import TYPE_CHECKING

from aiohttp import web

from adapters import metrics
from adapters.feeds import RedactingAccessLogger
from adapters.feeds import mount as mount_feeds
from adapters.logs import request_context
from bot.errors import StorageUnavailable

if TYPE_CHECKING:
    from bot.main import Runtime

log = logging.getLogger("parley.web")

READY_TIMEOUT = 2.0  # a hung database must not hang the readiness probe

RUNTIME = web.AppKey("runtime", object)


def runtime_of(request: web.Request) -> Runtime:
    return request.app[RUNTIME]  # type: ignore[return-value]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await runtime_of(request).repository.ping()
    except (StorageUnavailable, TimeoutError):
        return web.json_response({"status": "database unreachable"}, status=503)
    return web.json_response({"status": "ready"})


def create_app(runtime: Runtime) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024, middlewares=[request_context])
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    metrics.install(app, runtime)
    mount_feeds(app, runtime.service.feeds)
    if runtime.settings.slack_enabled:
        from adapters.slack.app import mount as mount_slack

        mount_slack(app, runtime)
    if runtime.settings.teams_enabled:
        from adapters.teams.handler import mount as mount_teams

        mount_teams(app, runtime)
    app.on_startup.append(settle_heap)
    return app


async def settle_heap(app: web.Application) -> None:
    """Move everything loaded at start (SDKs, language data, templates: about
    130,000 objects) out of the garbage collector's sight. A full collection
    over them took 50 ms here and landed on whichever request was running,
    which set the p99 ack time; what requests allocate is still collected."""
    gc.collect()
    gc.freeze()


async def register_gateways(runtime: Runtime) -> None:
    """Give the alert engine a gateway for every platform that is configured."""
    if runtime.settings.teams_enabled:
        from adapters.teams.handler import register_gateway as register_teams

        register_teams(runtime)


async def serve(
    runtime: Runtime, *, host: str, port: int, scheduler: bool = True, listen: bool = True
) -> None:
    """Run until SIGINT or SIGTERM, then drain and stop.

    ``listen=False`` is the worker: the application starts (so every platform's
    client and gateway is up) but no HTTP port is opened.
    """
    from bot.main import running_dispatcher

    app = create_app(runtime)
    await register_gateways(runtime)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=20.0,
        access_log_class=RedactingAccessLogger,  # feed URLs carry secret tokens
    )
    await runner.setup()
    if listen:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("Parley listening on http://%s:%s", host, runner.addresses[0][1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def until_stopped() -> None:
        await stop.wait()
        log.info("Parley stopping: no new connections; finishing requests and alert sends")
        for listening in list(runner.sites):
            await listening.stop()

    try:
        if scheduler:
            async with running_dispatcher(runtime):
                await until_stopped()
        else:
            await until_stopped()
    finally:
        await runner.cleanup()
        log.info("Parley stopped")
