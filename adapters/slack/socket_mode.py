"""Slack through Socket Mode: the same listeners over a websocket, with no public URL.

With ``SLACK_APP_TOKEN`` (an app-level ``xapp-…`` token) set, ``parley serve``
does not mount ``POST /slack/events``: it asks Slack for a websocket URL
(``apps.connections.open``, with the app token) and connects to it through
slack-bolt's ``AsyncSocketModeHandler`` (the aiohttp flavour). Slack sends each
slash command, button click, form submission and event there as an envelope
and waits for an acknowledgement carrying its ``envelope_id``.

Each envelope goes the way an HTTP request goes in ``adapters.slack.app``
(no signature: the app token authenticated the socket itself):

- its payload's shape is checked (``parse.payload_problem``); a payload Parley
  cannot read is acknowledged, logged in one line, and not run;
- replay: an ``envelope_id`` seen within 5 minutes is acknowledged again and
  not run again (``adapters.replay``), and an Events API callback is also
  keyed by its ``event_id``, as over HTTP;
- a command of the grammar takes the fast path (``SlashCommands``): the ack
  carries the reply the HTTP response body would have carried;
- everything else is dispatched by bolt, to the very listeners HTTP mode uses;
  the listener's ``ack(...)`` (a form's errors included) travels back as the
  envelope's acknowledgement.

Only ``parley serve`` connects (``bot.main`` decides); ``parley worker`` posts
alerts through the Web API and receives nothing. Slack spreads envelopes over
every open connection of the app, so several replicas may each connect; the
replay keys in the database keep a redelivered envelope from running twice.

Connecting: at start the URL is asked for once; a token Slack refuses stops
``serve`` with one line (``ConfigurationError``), while Slack being
unreachable only delays the connection, which bolt's client keeps retrying
(and re-opens when Slack asks it to, or when pings go unanswered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from adapters.slack import parse
from adapters.slack.app import SlackApp
from adapters.slack.commands import is_command
from adapters.slack.render import JSON
from bot.errors import ConfigurationError

log = logging.getLogger("parley.slack")
# The Socket Mode client's own logger: only its warnings and errors are written (``bot.logs``).
SOCKET_LOG = logging.getLogger("slack_sdk.socket_mode")

PING_SECONDS = 10.0  # bolt's default: a ping every 10 s, a new connection after 4 unanswered
# What Slack answers apps.connections.open with when the token cannot open a socket.
REFUSED = frozenset(
    {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "account_inactive"}
)


class SocketMode(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, with Parley's checks and fast path in front of bolt."""

    def __init__(self, slack: SlackApp, *, app_token: str, ping_interval: float) -> None:
        super().__init__(
            slack.bolt,
            app_token=app_token,
            logger=SOCKET_LOG,
            web_client=slack.client,
            ping_interval=ping_interval,
        )
        self.slack = slack
        self.client.message_listeners.append(self._on_message)

    async def _on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        if message.get("type") == "hello":  # Slack greets every new connection
            log.info("Slack Socket Mode: connected")

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        # Run in the adapter's task set: kept referenced, and drained at shutdown.
        await self.slack.tasks.spawn(self._handle(client, req), name="slack-envelope")

    async def _handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        payload = req.payload
        problem = parse.payload_problem(payload)
        if problem is not None:
            log.warning("acknowledged a Slack envelope without running it: %s", problem)
            await _ack(client, req.envelope_id)
            return
        if not await self._first_time(req, payload):
            log.info("a Slack envelope was sent again; it was already handled")
            await _ack(client, req.envelope_id)
            return
        if is_command(payload):
            ack = await self.slack.commands.acknowledge(payload)
            if ack is not None:  # None: it failed before the core ran (logged); Slack says so
                await _ack(client, req.envelope_id, {"text": ack} if isinstance(ack, str) else ack)
            return
        started = asyncio.get_running_loop().time()
        response = await run_async_bolt_app(self.slack.bolt, req)
        await send_async_response(client, req, response, started)

    async def _first_time(self, req: SocketModeRequest, payload: dict[str, Any]) -> bool:
        replay = self.slack.replay
        if not await replay.first_time("slack-envelope", req.envelope_id):
            return False
        if payload.get("type") == "event_callback" and payload.get("event_id"):
            return await replay.first_time("slack-event", str(payload["event_id"]))
        return True

    async def connect(self) -> None:
        """Connect (and keep connecting until it works, or until ``close``)."""
        await self.connect_async()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Close the connection and the client's HTTP session."""
        await self.close_async()  # type: ignore[no-untyped-call]

    async def open_url(self) -> None:
        """Ask Slack for the websocket URL once; a refused token is a configuration error."""
        try:
            self.client.wss_uri = await self.client.issue_new_wss_url()
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code in REFUSED:
                raise ConfigurationError(
                    f"SLACK_APP_TOKEN: Slack refused it for Socket Mode ({code}); use the "
                    "app-level token (xapp-…) with the connections:write scope"
                ) from None
            log.warning("Slack Socket Mode: apps.connections.open failed (%s); retrying", code)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("Slack Socket Mode: Slack unreachable (%r); retrying", error)


async def _ack(
    client: AsyncBaseSocketModeClient, envelope_id: str, payload: JSON | None = None
) -> None:
    """Acknowledge an envelope, carrying what an HTTP ack's body would have carried."""
    response = SocketModeResponse(envelope_id=envelope_id, payload=payload or None)
    await client.send_socket_mode_response(response)


def connect(
    app: web.Application, slack: SlackApp, *, app_token: str, ping_interval: float = PING_SECONDS
) -> None:
    """Connect to Slack through Socket Mode while ``app`` runs (after the adapter's own
    start, and closed before it drains its tasks)."""

    async def running(_app: web.Application) -> AsyncIterator[None]:
        handler = SocketMode(slack, app_token=app_token, ping_interval=ping_interval)
        try:
            await handler.open_url()
        except ConfigurationError:
            await handler.close()
            raise
        connecting = asyncio.create_task(handler.connect(), name="slack-socket-connect")
        log.info("Slack Socket Mode: connecting (no public URL needed)")
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await handler.close()
            log.info("Slack Socket Mode: disconnected")

    app.cleanup_ctx.append(running)
