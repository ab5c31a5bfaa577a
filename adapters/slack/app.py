"""The Slack app: slack-bolt ``AsyncApp`` listeners on Parley's aiohttp server.

``mount(app, service=..., clock=..., settings=..., deadlines=..., installations=...)`` adds
``POST /slack/events`` (and, with OAuth configured, ``GET /slack/install`` and
``GET /slack/oauth_redirect``, see ``oauth``) to Parley's aiohttp application,
registers start/stop with ``cleanup_ctx`` and returns the ``SlackGateway``
the alert dispatcher posts through. With ``SLACK_APP_TOKEN`` the same requests
arrive through Socket Mode instead of ``POST /slack/events`` (``socket_mode``).

How a request flows:

- ``handle_events`` checks the signature itself before anything reads the body
  (forged, missing or older than 5 minutes: 401, and nothing is logged but one
  line), then the payload's shape (not what Slack sends: 400), then replay
  (seen within 5 minutes: 200 and nothing runs, see ``adapters.replay``).
- A ``/deadline`` or ``/position`` command then runs without bolt's dispatch
  (``commands``): authorized as bolt would, the core has ``ACK_BUDGET``
  seconds for the ack to carry its reply.
- Everything else goes to bolt: it verifies the signature again and
  authorizes (``SLACK_BOT_TOKEN``, or the installation store in OAuth mode,
  both cached in memory). Bolt logs through the ``slack_bolt`` logger, of which
  only warnings and errors are written (``bot.logs``). The app runs with
  ``process_before_response=True``: the HTTP response leaves when the listener
  returns, so a listener never blocks past its own budget; a form submission
  has ``ACK_BUDGET`` too.
- Everything after the ack (DMs, further replies, modals, App Home) runs in
  background tasks (``tasks``) drained on shutdown, and goes out through the
  audience router in ``delivery``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.replay import ReplayGuard
from adapters.slack import parse
from adapters.slack.commands import SingleWorkspace, SlashCommands, failure_text, is_command
from adapters.slack.delivery import Origin, SlackDelivery, retry_handlers
from adapters.slack.gateway import SlackGateway
from adapters.slack.home import AppHome, DeadlineReads
from adapters.slack.oauth import INSTALL_PATH, REDIRECT_PATH, SlackOAuth
from adapters.slack.render import form_errors
from adapters.slack.tasks import TaskSet
from adapters.slack.timezones import TimeZones
from bot import once, views
from bot.config import Settings
from bot.errors import ConfigurationError, FormError, StorageUnavailable
from bot.messages import Message
from bot.ports import Clock, Installations
from bot.service import Parley
from bot.usecases import access

log = logging.getLogger("parley.slack")
# Bolt's own logger: it logs whole request bodies below WARNING (see ``bot.logs``).
BOLT_LOG = logging.getLogger("slack_bolt")

DRAIN_SECONDS = 10.0
EVENTS_PATH = "/slack/events"
ID_MAX = 2**31 - 1  # deadline ids fit every database's integer column


class SlackApp:
    """The bolt app, its Web API client and the listeners that call Parley's core."""

    def __init__(
        self,
        *,
        service: Parley,
        clock: Clock,
        settings: Settings,
        deadlines: DeadlineReads,
        replay: ReplayGuard,
        installations: Installations,
    ) -> None:
        if not settings.slack_bot_token and not settings.slack_oauth:
            raise ConfigurationError(
                "SLACK_SIGNING_SECRET is set but neither SLACK_BOT_TOKEN nor "
                "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: Slack needs one of them"
            )
        self.service = service
        self.clock = clock
        self.deadlines = deadlines
        self.replay = replay
        # None in Socket Mode without a signing secret: POST /slack/events is not served then.
        secret = settings.slack_signing_secret
        self.verifier = SignatureVerifier(secret) if secret else None
        self.single_workspace_token = "" if settings.slack_oauth else settings.slack_bot_token
        self.tasks = TaskSet()
        self.timezones = TimeZones(self.tasks)
        # The aiohttp session is opened at startup (it needs the running loop);
        # bolt reads ``client.session`` on every request, so setting it then is enough.
        self.client = AsyncWebClient(
            token=self.single_workspace_token or None,
            base_url=settings.slack_api_url,
            retry_handlers=retry_handlers(),
            timeout=10,
        )
        self.session: aiohttp.ClientSession | None = None
        self.oauth = (
            SlackOAuth(settings, client=self.client, installations=installations, clock=clock)
            if settings.slack_oauth
            else None
        )
        if self.oauth is not None:
            self.bolt = self.oauth.bolt_app(
                signing_secret=settings.slack_signing_secret, client=self.client
            )
        else:
            self.bolt = AsyncApp(
                signing_secret=settings.slack_signing_secret,
                request_verification_enabled=bool(settings.slack_signing_secret),
                client=self.client,  # carries SLACK_BOT_TOKEN
                process_before_response=True,
                logger=BOLT_LOG,
                name=BOLT_LOG.name,
            )
        self._register()
        self.delivery = SlackDelivery(client=self.client, clock=clock)
        self.commands = SlashCommands(
            service=service,
            clock=clock,
            client=self.client,
            authorize=(
                self.oauth.command_token
                if self.oauth is not None
                else SingleWorkspace(self.client, self.single_workspace_token)
            ),
            delivery=self.delivery,
            timezones=self.timezones,
            tasks=self.tasks,
        )
        self.home = AppHome(deadlines=deadlines, clock=clock)
        self.gateway = SlackGateway(delivery=self.delivery, tokens=self.bot_token)

    def _register(self) -> None:
        bolt = self.bolt
        bolt.action(re.compile(".*"))(self.on_action)
        bolt.view_submission(views.FORM_POSITION)(self.on_submission)
        bolt.event("app_home_opened")(self.on_home_opened)
        bolt.event("app_uninstalled")(self.on_app_uninstalled)
        bolt.event("tokens_revoked")(self.on_tokens_revoked)

    @property
    def ack_budget(self) -> float:
        """Seconds the core may take on a command or a form before the ack goes without it."""
        return self.commands.ack_budget

    @ack_budget.setter
    def ack_budget(self, seconds: float) -> None:
        self.commands.ack_budget = seconds

    async def bot_token(self, team_id: str) -> str | None:
        """The bot token for a workspace (the gateway's token source)."""
        if self.oauth is None:
            return self.single_workspace_token or None
        return await self.oauth.bot_token(team_id)

    # --- lifecycle -----------------------------------------------------------
    async def running(self, app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: open the HTTP session; on the way out, drain and close it."""
        self.session = aiohttp.ClientSession()
        self.client.session = self.session
        try:
            yield
        finally:
            await self.tasks.drain(DRAIN_SECONDS)
            await self.session.close()

    # --- HTTP endpoints --------------------------------------------------------
    async def handle_events(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: signature, shape and replay first (see the module
        docstring), then bolt."""
        try:
            text = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="the body is not UTF-8")
        signature = request.headers.get("X-Slack-Signature", "")
        if not self._signed(text, request.headers.get("X-Slack-Request-Timestamp"), signature):
            log.info("refused a Slack request without a valid signature from %s", request.remote)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            payload = parse.request_payload(text, request.content_type)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return web.Response(status=400, text="the payload is not valid JSON")
        problem = parse.payload_problem(payload)
        if problem is not None:
            log.warning("refused a signed Slack request: %s", problem)
            return web.Response(status=400, text=problem)
        key: once.Key | None = None
        if payload.get("type") == "event_callback":
            first = await self.replay.first_time("slack-event", payload["event_id"])
        else:
            # A command, button or form: its key is claimed with the command's writes.
            key = await self.replay.request_key("slack-signature", signature)
            first = key is not None
        if not first:
            log.info("a Slack request was sent again; it was already handled")
            return web.Response(status=200)
        with once.request(key):  # the tasks it starts carry the key on
            if is_command(payload):
                return await self.commands.answer(payload)
            try:
                bolt_request = AsyncBoltRequest(
                    body=text, query=request.query_string, headers=dict(request.headers)
                )
            except (TypeError, ValueError, AttributeError, KeyError):
                return web.Response(status=400, text="the payload is not what Slack sends")
            response = await self.bolt.async_dispatch(bolt_request)
        if payload.get("type") == "event_callback" and response.status >= 500:
            # An event whose listener failed (bolt's 500): Slack's retry must run it.
            await self.replay.give_back("slack-event", payload["event_id"])
        return await to_aiohttp_response(response)

    def _signed(self, body: str, timestamp: str | None, signature: str) -> bool:
        if not timestamp or not timestamp.isdigit() or not signature or self.verifier is None:
            return False
        return self.verifier.is_valid(body, timestamp, signature)

    async def handle_install(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        assert flow is not None
        response = await flow.handle_installation(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def handle_oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        assert flow is not None
        response = await flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    # --- buttons -----------------------------------------------------------------------
    async def on_action(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = parse.press(body)
        if press.action_id in views.CORE_ACTIONS:
            self.tasks.spawn(self._press(client, press), name="slack-press")
        # Other actions (the calendar link button) only need the ack.

    async def _press(self, client: AsyncWebClient, press: parse.Press) -> None:
        ctx = press.ctx
        team_id = parse.team_id_of(ctx.workspace_id)
        announce = ctx.channel_id
        if press.in_direct_message:
            # A button in a DM or the App Home: the answer belongs in the deadline's channel.
            announce = await self._deadline_channel(ctx.workspace_id, press.value) or announce
        origin = Origin(
            team_id=team_id,
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            announce_channel=announce,
            response_url=press.response_url,
            trigger_id=press.trigger_id,
        )
        messages = await self.service.press(ctx=ctx, action_id=press.action_id, value=press.value)
        await self.delivery.deliver(client, messages, origin)
        if not ctx.channel_id and press.action_id == views.ACTION_STANCE:
            await self.home.publish(client, team_id=team_id, user_id=ctx.user_id)

    async def _deadline_channel(self, workspace_id: str, value: str) -> str | None:
        try:
            deadline_id = access.deadline_id(parse.deadline_id_of(value))
            deadline = await self.deadlines.get_deadline_by_id(
                workspace_id=workspace_id, deadline_id=deadline_id
            )
        except (ValueError, StorageUnavailable):
            return None  # the core reports the stale button or the database itself
        return deadline.channel_id if deadline is not None else None

    # --- the position form ---------------------------------------------------------------
    async def on_submission(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        submission = parse.submission(body)
        blocks = body["view"].get("blocks") or []
        block_ids = [b["block_id"] for b in blocks if b.get("type") == "input" and "block_id" in b]
        origin = Origin(
            team_id=parse.team_id_of(submission.ctx.workspace_id),
            user_id=submission.ctx.user_id,
            channel_id=submission.state.channel_id,
            announce_channel=submission.state.channel_id,
            response_url=submission.state.response_url,
        )
        work = self.tasks.spawn(
            self.service.submit_form(
                ctx=submission.ctx,
                form_id=submission.form_id,
                value=submission.state.value,
                fields=submission.fields,
            ),
            name="slack-submission",
        )
        done, _ = await asyncio.wait({work}, timeout=self.ack_budget)
        if not done:
            await ack()  # close the modal; the result is posted when it comes
            self.tasks.spawn(self._submission_later(client, work, origin), name="slack-submit")
            return
        error = work.exception()
        if error is not None:
            await ack(response_action="errors", errors=self._form_errors(block_ids, error))
            return
        await ack()
        self.tasks.spawn(
            self.delivery.deliver(client, work.result(), origin), name="slack-submitted"
        )

    @staticmethod
    def _form_errors(block_ids: Sequence[str], error: BaseException) -> dict[str, str]:
        if isinstance(error, FormError):
            return form_errors(block_ids, error.errors)
        return form_errors(block_ids, {"": failure_text(error, "a position form")})

    async def _submission_later(
        self, client: AsyncWebClient, work: Awaitable[list[Message]], origin: Origin
    ) -> None:
        try:
            messages = await work
        except Exception as error:
            text = failure_text(error, "a slow position form")
            messages = [views.error_message(text, user_id=origin.user_id)]
        await self.delivery.deliver(client, messages, origin)

    # --- events --------------------------------------------------------------------------
    async def on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") != "home" or context.team_id is None or context.client is None:
            return
        self.tasks.spawn(
            self.home.publish(context.client, team_id=context.team_id, user_id=event["user"]),
            name="slack-home",
        )

    async def on_app_uninstalled(self, context: AsyncBoltContext) -> None:
        team_id = context.team_id or ""
        self.timezones.forget_team(team_id)
        if self.oauth is None:
            log.warning("Parley was uninstalled from %s; remove SLACK_BOT_TOKEN too", team_id)
            return
        await self.oauth.uninstalled(context)
        log.info("Parley was uninstalled from %s; its installation is deleted", team_id)

    async def on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if self.oauth is None:
            log.warning("Slack revoked tokens of %s: %s", context.team_id, event.get("tokens"))
            return
        await self.oauth.tokens_revoked(event, context)


SLACK = web.AppKey("parley_slack", SlackApp)


def mount(
    app: web.Application,
    *,
    service: Parley,
    clock: Clock,
    settings: Settings,
    deadlines: DeadlineReads,
    replay: ReplayGuard,
    installations: Installations,
) -> SlackGateway:
    """Add the Slack endpoints to Parley's aiohttp app, start and stop with it, and
    return the gateway that posts alerts to Slack. ``installations`` keeps the
    workspaces of the OAuth install (unused with a single ``SLACK_BOT_TOKEN``).

    With ``SLACK_APP_TOKEN``, ``POST /slack/events`` is not mounted: Slack's requests
    arrive through Socket Mode (``adapters.slack.socket_mode.connect``), which the
    composition root connects for ``parley serve`` only."""
    slack = SlackApp(
        service=service,
        clock=clock,
        settings=settings,
        deadlines=deadlines,
        replay=replay,
        installations=installations,
    )
    app[SLACK] = slack
    if not settings.slack_socket_mode:
        app.router.add_post(EVENTS_PATH, slack.handle_events)
    if slack.bolt.oauth_flow is not None:
        app.router.add_get(INSTALL_PATH, slack.handle_install)
        app.router.add_get(REDIRECT_PATH, slack.handle_oauth_redirect)
    app.cleanup_ctx.append(slack.running)
    return slack.gateway
