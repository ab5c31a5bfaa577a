"""Slash commands, answered without bolt's dispatch.

A slash command is the request Parley answers most, and bolt's dispatch cost
more CPU than Parley's own work on ``/deadline help``: a request object that
parses the body again, a new Web API client, a context, the middleware chain,
the listener runner and its keyword injection (measured with py-spy under wrk,
see README "Performance"). By the time a command reaches ``SlashCommands``,
``handle_events`` has checked its signature, its shape and replay; of what bolt
did next, Parley needs two things, done here as bolt does them:

- authorization: with ``SLACK_BOT_TOKEN``, one ``auth.test`` (on the first
  command; a failure is tried again on the next) proves the token; with
  OAuth, the workspace's installation is found by bolt's own authorize (cached
  in memory). A workspace that is not authorized gets bolt's words for it, in
  the ack or, when the command has one, through its response URL;
- the listener: the core runs for up to ``ACK_BUDGET`` seconds; when it is done
  in time the first reply for the conversation is the ack body (``ephemeral``
  or ``in_channel``), otherwise the ack says "Working on it…" and the reply
  follows through the response URL. Further replies go out after the ack.

Buttons, forms and events (``url_verification`` included) still go through bolt.
``acknowledge`` gives what the ack carries, for HTTP (``answer``) and for Socket
Mode (``adapters.slack.socket_mode``) alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_bolt.middleware.authorization.internals import (
    _build_user_facing_authorize_error_message as authorize_error_message,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import parse
from adapters.slack.delivery import Origin, SlackDelivery, ack_body
from adapters.slack.render import JSON
from adapters.slack.tasks import TaskSet
from adapters.slack.timezones import TimeZones, needs_timezone
from bot import views
from bot.errors import StorageUnavailable, UserError, chat_text
from bot.grammar import COMMAND_WORDS
from bot.messages import Message
from bot.ports import Clock
from bot.service import Parley

log = logging.getLogger("parley.slack")

COMMANDS = frozenset(f"/{word}" for word in COMMAND_WORDS)
# A command's ack: a message (JSON; ``{}`` for an empty ack), plain text, or None
# when it failed before the core ran it (HTTP 500; no ack through Socket Mode).
Ack = JSON | str | None
ACK_BUDGET = 2.0  # seconds the core may take before the ack says "Working on it…"
WORKING = "Working on it…"


def failure_text(error: BaseException, doing: str) -> str:
    """What the user is told about ``error``; one that is not theirs is logged."""
    if not isinstance(error, UserError | StorageUnavailable):
        log.error("%s failed", doing, exc_info=error)
    return chat_text(error)


def is_command(payload: Mapping[str, Any]) -> bool:
    """A command of the grammar (bolt's own ``ssl_check`` pings excepted)."""
    return payload.get("command") in COMMANDS and payload.get("ssl_check") != "1"


def json_response(body: JSON) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/json")


class Authorize(Protocol):
    """The bot token for a command's workspace, or None when it has no installation.
    Raises ``SlackApiError`` when Slack refuses the token."""

    async def __call__(self, payload: Mapping[str, Any]) -> str | None: ...


class SingleWorkspace:
    """``SLACK_BOT_TOKEN``: proven once with ``auth.test``, as bolt's single-team mode does."""

    def __init__(self, client: AsyncWebClient, token: str) -> None:
        self.client = client
        self.token = token
        self._proven = False

    async def __call__(self, payload: Mapping[str, Any]) -> str | None:
        if not self._proven:
            await self.client.auth_test()
            self._proven = True
        return self.token


class SlashCommands:
    """Runs a signed, fresh slash command through the core and builds its ack."""

    def __init__(
        self,
        *,
        service: Parley,
        clock: Clock,
        client: AsyncWebClient,
        authorize: Authorize,
        delivery: SlackDelivery,
        timezones: TimeZones,
        tasks: TaskSet,
    ) -> None:
        self.service = service
        self.clock = clock
        self.client = client  # carries SLACK_BOT_TOKEN in single-workspace mode
        self.authorize = authorize
        self.delivery = delivery
        self.timezones = timezones
        self.tasks = tasks
        self.ack_budget = ACK_BUDGET

    async def answer(self, payload: Mapping[str, Any]) -> web.Response:
        """The HTTP answer to a slash command (its ack)."""
        ack = await self.acknowledge(payload)
        if ack is None:
            return web.Response(status=500)
        if isinstance(ack, str):
            return web.Response(text=ack)
        return web.Response(text="") if not ack else json_response(ack)

    async def acknowledge(self, payload: Mapping[str, Any]) -> Ack:
        """Run a slash command; what its ack carries: a message (JSON), plain text, an
        empty ack (``{}``), or None when it failed before the core ran it (no ack)."""
        try:
            token = await self.authorize(payload)
        except SlackApiError as error:
            log.error("Slack refused the bot token: %s", error)
            return str(authorize_error_message())
        if token is None:
            log.error(
                "a command from workspace %s, which has no installation", payload.get("team_id")
            )
            return await self._not_installed(payload)
        client = self.client if token == self.client.token else self._client_for(token)
        try:
            body = await self._run(payload, client)
        except Exception:
            log.exception("a Slack command failed before the core ran it")
            return None
        return {} if body is None else body

    def _client_for(self, token: str) -> AsyncWebClient:
        shared = self.client
        return AsyncWebClient(
            token=token,
            base_url=shared.base_url,
            timeout=shared.timeout,
            session=shared.session,
            retry_handlers=shared.retry_handlers,
        )

    async def _not_installed(self, payload: Mapping[str, Any]) -> Ack:
        message = str(authorize_error_message())
        response_url = payload.get("response_url")
        if not response_url:
            return message
        webhook = AsyncWebhookClient(response_url, session=self.client.session)
        try:
            await webhook.send(text=message)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not tell a workspace without an installation: %r", error)
        return {}

    async def _run(self, body: Mapping[str, Any], client: AsyncWebClient) -> JSON | None:
        """Run the command; the ack body (None: an empty ack)."""
        command = body["command"].lstrip("/").lower()
        tz = "UTC"
        if needs_timezone(command, parse.command_text(body.get("text", ""))):
            tz = await self.timezones.get(client, team_id=body["team_id"], user_id=body["user_id"])
        slash = parse.slash_command(body, tz=tz)
        origin = Origin(
            team_id=body["team_id"],
            user_id=slash.ctx.user_id,
            channel_id=slash.ctx.channel_id,
            announce_channel=slash.ctx.channel_id,
            response_url=slash.response_url,
            trigger_id=slash.trigger_id,
        )
        work = self.tasks.spawn(
            self.service.handle(ctx=slash.ctx, command=slash.command, text=slash.text),
            name=f"slack-command-{slash.command}",
        )
        done, _ = await asyncio.wait({work}, timeout=self.ack_budget)
        if not done:
            self.tasks.spawn(self._deliver_later(client, work, origin), name="slack-late-reply")
            return {"response_type": "ephemeral", "text": WORKING}
        error = work.exception()
        if error is not None:
            # The command's name only: what was typed after it may be a red line.
            return {"response_type": "ephemeral", "text": failure_text(error, f"/{slash.command}")}
        now = self.clock.now()
        body_for_ack: JSON | None = None
        rest: list[Message] = []
        for message in work.result():
            candidate = ack_body(message, origin=origin, now=now) if body_for_ack is None else None
            if candidate is not None:
                body_for_ack = candidate
            else:
                rest.append(message)
        if rest:
            self.tasks.spawn(self.delivery.deliver(client, rest, origin), name="slack-replies")
        return body_for_ack

    async def _deliver_later(
        self, client: AsyncWebClient, work: Awaitable[list[Message]], origin: Origin
    ) -> None:
        try:
            messages = await work
        except Exception as error:
            text = failure_text(error, "a slow command")
            messages = [views.error_message(text, user_id=origin.user_id)]
        await self.delivery.deliver(client, messages, origin)
