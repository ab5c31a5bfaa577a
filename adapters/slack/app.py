"""The Slack app: slack-bolt ``AsyncApp`` listeners on Parley's aiohttp server (the adapter's I/O).

``mount(app, runtime)`` adds ``POST /slack/events`` (and, with OAuth configured,
``GET /slack/install`` and ``GET /slack/oauth_redirect``) to Parley's aiohttp
application and registers start/stop with ``cleanup_ctx``.

How a request flows:

- Bolt verifies the signature (forged, missing or older than 5 minutes: 401,
  no listener runs) and authorizes (``SLACK_BOT_TOKEN``, or the installation
  store in OAuth mode, both cached in memory).
- The app runs with ``process_before_response=True``: the HTTP response leaves
  when the listener returns, so a listener never blocks past its own budget.
  A slash command runs the core for up to ``ACK_BUDGET`` seconds; when it is
  done in time the first reply for the conversation is the ack body
  (``ephemeral`` or ``in_channel``), otherwise the ack says "Working on it…"
  and the reply follows through the response URL.
- Everything after the ack (DMs, further replies, modals, App Home) runs in
  background tasks this module keeps references to and drains on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, assert_never
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_cacheable_installation_store import (
    AsyncCacheableInstallationStore,
)
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack import parse
from adapters.slack.gateway import SlackGateway
from adapters.slack.render import (
    JSON,
    find_form,
    form_errors,
    home_view,
    render_message,
    render_modal,
)
from bot import views
from bot.domain import DeadlineStatus
from bot.errors import ConfigurationError, FormError, StorageUnavailable, UserError
from bot.main import Runtime
from bot.messages import Audience, Message
from bot.service import DATABASE_DOWN

log = logging.getLogger("parley.slack")

ACK_BUDGET = 2.0  # seconds the core may take before the ack says "Working on it…"
TZ_BUDGET = 0.3  # seconds a users.info lookup may hold up a command before UTC is used
TZ_TTL = 6 * 3600.0
TZ_RETRY = 60.0  # a failed lookup reads as UTC for this long before it is tried again
DRAIN_SECONDS = 10.0
HOME_SCAN = 500  # open deadlines looked at for the App Home
WORKING = "Working on it…"
FAILED = "Something went wrong inside Parley; the error is logged. Please try again."
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write", "users:read")

_T = TypeVar("_T")


def retry_handlers() -> list[AsyncRetryHandler]:
    """One retry on 429 (after Retry-After), on 500/503 and on a dropped connection."""
    return [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=1),
        AsyncServerErrorRetryHandler(max_retry_count=1),
    ]


class TaskSet:
    """Background tasks with kept references; ``drain`` waits for them at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, _T], name: str) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, within: float) -> None:
        """Let running tasks finish for up to ``within`` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


class TimeZones:
    """Each user's IANA zone from users.info, cached per (team, user) for ``TZ_TTL``.

    A command never waits more than ``TZ_BUDGET`` for it: a slow lookup goes on in
    the background (filling the cache) while this command reads as UTC.
    """

    def __init__(self, tasks: TaskSet, *, default: str = "UTC") -> None:
        self.tasks = tasks
        self.default = default
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[str]] = {}

    async def get(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> str:
        key = (team_id, user_id)
        hit = self._cache.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        task = self._pending.get(key)
        if task is None:
            task = self.tasks.spawn(self._fetch(client, key), name=f"slack-tz-{user_id}")
            self._pending[key] = task
        try:
            return await asyncio.wait_for(asyncio.shield(task), TZ_BUDGET)
        except TimeoutError:
            return self.default

    async def _fetch(self, client: AsyncWebClient, key: tuple[str, str]) -> str:
        tz, ttl = self.default, TZ_RETRY
        try:
            response = await client.users_info(user=key[1])
            name = str((response.get("user") or {}).get("tz") or "")
            ZoneInfo(name)
            tz, ttl = name, TZ_TTL
        except (SlackApiError, aiohttp.ClientError, TimeoutError, ValueError) as error:
            # Natural-language times fall back to UTC; the reply says which zone it read.
            log.warning("users.info for %s failed (%r); using %s", key[1], error, tz)
        except ZoneInfoNotFoundError:
            log.warning("users.info for %s gave an unknown zone; using %s", key[1], tz)
        finally:
            self._pending.pop(key, None)
        self._cache[key] = (tz, time.monotonic() + ttl)
        return tz

    async def settled(self) -> None:
        """Wait for the lookups in flight (each ends with a zone or UTC; none raises)."""
        await asyncio.gather(*list(self._pending.values()))

    def forget_team(self, team_id: str) -> None:
        for key in [k for k in self._cache if k[0] == team_id]:
            del self._cache[key]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, and so where its replies go."""

    team_id: str
    user_id: str
    channel_id: str  # the conversation the user acted in ("" from the App Home)
    announce_channel: str  # where channel messages without their own channel go
    response_url: str = ""
    trigger_id: str = ""


def needs_timezone(command: str, text: str) -> bool:
    """``/deadline add``, ``extend`` and ``move`` read their time in the user's zone."""
    return command == "deadline" and text.split(maxsplit=1)[:1] in (["add"], ["extend"], ["move"])


def ack_body(message: Message, *, origin: Origin, now: datetime) -> JSON | None:
    """The slash-command ack body for ``message``, or None if it must go another way."""
    if find_form(message) is not None:
        return None
    if message.channel_id not in (None, origin.channel_id):
        return None
    if message.audience is Audience.EPHEMERAL and message.user_id in (None, origin.user_id):
        return {"response_type": "ephemeral", **render_message(message, now=now)}
    if message.audience is Audience.CHANNEL:
        return {"response_type": "in_channel", **render_message(message, now=now)}
    return None


class SlackAdapter:
    """The bolt app, its Web API client and the listeners that call Parley's core."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        if not settings.slack_bot_token and not settings.slack_oauth:
            raise ConfigurationError(
                "SLACK_SIGNING_SECRET is set but neither SLACK_BOT_TOKEN nor "
                "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: Slack needs one of them"
            )
        self.runtime = runtime
        self.service = runtime.service
        self.repository = runtime.repository
        self.clock = runtime.clock
        self.tasks = TaskSet()
        self.timezones = TimeZones(self.tasks)
        # The aiohttp session is opened at startup (it needs the running loop);
        # bolt reads ``client.session`` on every request, so setting it then is enough.
        self.client = AsyncWebClient(
            token=None if settings.slack_oauth else settings.slack_bot_token,
            base_url=settings.slack_api_url,
            retry_handlers=retry_handlers(),
            timeout=10,
        )
        self.session: aiohttp.ClientSession | None = None
        self.engine: AsyncEngine | None = None
        self.installations: AsyncCacheableInstallationStore | None = None
        self._sql_installations: AsyncSQLAlchemyInstallationStore | None = None
        self._state_store: AsyncSQLAlchemyOAuthStateStore | None = None
        self.ack_budget = ACK_BUDGET
        if settings.slack_oauth:
            self.bolt = self._oauth_app()
        else:
            self.bolt = AsyncApp(
                signing_secret=settings.slack_signing_secret,
                client=self.client,  # carries SLACK_BOT_TOKEN
                process_before_response=True,
                logger=log,
            )
        self._register()
        self.gateway = SlackGateway(client=self.client, tokens=self.bot_token, clock=self.clock)

    # --- construction ------------------------------------------------------
    def _oauth_app(self) -> AsyncApp:
        from storage.db import make_engine

        settings = self.runtime.settings
        self.engine = make_engine(settings.database_url)
        self._sql_installations = AsyncSQLAlchemyInstallationStore(
            client_id=settings.slack_client_id, engine=self.engine, logger=log
        )
        self.installations = AsyncCacheableInstallationStore(self._sql_installations)
        self._state_store = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=self.engine, logger=log
        )
        oauth_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=settings.public_url.rstrip("/") + REDIRECT_PATH,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=self.installations,
            installation_store_bot_only=True,
            state_store=self._state_store,
            logger=log,
        )
        # Bolt's default authorize calls auth.test on every request; this one caches it.
        authorize = AsyncInstallationStoreAuthorize(
            logger=log,
            installation_store=self.installations,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            bot_only=True,
            cache_enabled=True,
            client=self.client,
        )
        return AsyncApp(
            signing_secret=settings.slack_signing_secret,
            client=self.client,
            # Bolt accepts an AsyncAuthorize instance here (its annotation says callable).
            authorize=authorize,  # type: ignore[arg-type]
            installation_store=self.installations,
            installation_store_bot_only=True,
            oauth_settings=oauth_settings,
            process_before_response=True,
            logger=log,
        )

    def _register(self) -> None:
        bolt = self.bolt
        bolt.command("/deadline")(self.on_command)
        bolt.command("/position")(self.on_command)
        bolt.action(re.compile(".*"))(self.on_action)
        bolt.view_submission(views.FORM_POSITION)(self.on_submission)
        bolt.event("app_home_opened")(self.on_home_opened)
        bolt.event("app_uninstalled")(self.on_app_uninstalled)
        bolt.event("tokens_revoked")(self.on_tokens_revoked)

    async def bot_token(self, team_id: str) -> str | None:
        """The bot token for a workspace (the gateway's token source)."""
        if self.installations is None:
            return self.runtime.settings.slack_bot_token or None
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot is not None else None

    # --- lifecycle -----------------------------------------------------------
    async def running(self, app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: open the HTTP session and stores; on the way out, drain and close."""
        self.session = aiohttp.ClientSession()
        self.client.session = self.session
        if self._sql_installations is not None and self._state_store is not None:
            # Idempotent (CREATE TABLE IF NOT EXISTS); see docs/slack.md on migrations.
            await self._sql_installations.create_tables()  # type: ignore[no-untyped-call]
            await self._state_store.create_tables()  # type: ignore[no-untyped-call]
        self.runtime.gateways["slack"] = self.gateway
        try:
            yield
        finally:
            self.runtime.gateways.pop("slack", None)
            await self.tasks.drain(DRAIN_SECONDS)
            await self.session.close()
            if self.engine is not None:
                await self.engine.dispose()

    # --- HTTP endpoints --------------------------------------------------------
    async def handle_events(self, request: web.Request) -> web.Response:
        response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

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

    # --- listeners ---------------------------------------------------------------
    async def on_command(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
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
            await ack({"response_type": "ephemeral", "text": WORKING})
            self.tasks.spawn(self._deliver_later(client, work, origin), name="slack-late-reply")
            return
        if work.exception() is not None:
            log.error("/%s %r failed", slash.command, slash.text, exc_info=work.exception())
            await ack({"response_type": "ephemeral", "text": FAILED})
            return
        messages = work.result()
        now = self.clock.now()
        body_for_ack: JSON | None = None
        rest: list[Message] = []
        for message in messages:
            candidate = ack_body(message, origin=origin, now=now) if body_for_ack is None else None
            if candidate is not None:
                body_for_ack = candidate
            else:
                rest.append(message)
        if body_for_ack is None:
            await ack()
        else:
            await ack(body_for_ack)
        if rest:
            self.tasks.spawn(self.deliver(client, rest, origin), name="slack-replies")

    async def _deliver_later(
        self, client: AsyncWebClient, work: Awaitable[list[Message]], origin: Origin
    ) -> None:
        try:
            messages = await work
        except Exception:
            log.exception("a slow command failed")
            messages = [views.error_message(FAILED, user_id=origin.user_id)]
        await self.deliver(client, messages, origin)

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
        await self.deliver(client, messages, origin)
        if not ctx.channel_id and press.action_id == views.ACTION_STANCE:
            await self.publish_home(client, team_id=team_id, user_id=ctx.user_id)

    async def _deadline_channel(self, workspace_id: str, value: str) -> str | None:
        try:
            deadline_id = int(parse.deadline_id_of(value))
            deadline = await self.repository.get_deadline_by_id(
                workspace_id=workspace_id, deadline_id=deadline_id
            )
        except (ValueError, StorageUnavailable):
            return None  # the core reports the stale button or the database itself
        return deadline.channel_id if deadline is not None else None

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
        self.tasks.spawn(self.deliver(client, work.result(), origin), name="slack-submitted")

    @staticmethod
    def _form_errors(block_ids: Sequence[str], error: BaseException) -> dict[str, str]:
        match error:
            case FormError(errors=errors):
                return form_errors(block_ids, errors)
            case UserError():
                return form_errors(block_ids, {"": str(error)})
            case StorageUnavailable():
                return form_errors(block_ids, {"": DATABASE_DOWN})
            case _:
                log.error("a position form failed", exc_info=error)
                return form_errors(block_ids, {"": FAILED})

    async def _submission_later(
        self, client: AsyncWebClient, work: Awaitable[list[Message]], origin: Origin
    ) -> None:
        try:
            messages = await work
        except UserError as error:
            messages = [views.error_message(str(error), user_id=origin.user_id)]
        except StorageUnavailable:
            messages = [views.error_message(DATABASE_DOWN, user_id=origin.user_id)]
        except Exception:
            log.exception("a slow position form failed")
            messages = [views.error_message(FAILED, user_id=origin.user_id)]
        await self.deliver(client, messages, origin)

    async def on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") != "home" or context.team_id is None or context.client is None:
            return
        self.tasks.spawn(
            self.publish_home(context.client, team_id=context.team_id, user_id=event["user"]),
            name="slack-home",
        )

    async def on_app_uninstalled(self, context: AsyncBoltContext) -> None:
        team_id = context.team_id or ""
        self.timezones.forget_team(team_id)
        if self.installations is None:
            log.warning("Parley was uninstalled from %s; remove SLACK_BOT_TOKEN too", team_id)
            return
        await AsyncTokenRevocationListeners(self.installations).handle_app_uninstalled_events(
            context
        )
        log.info("Parley was uninstalled from %s; its installation is deleted", team_id)

    async def on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if self.installations is None:
            log.warning("Slack revoked tokens of %s: %s", context.team_id, event.get("tokens"))
            return
        await AsyncTokenRevocationListeners(self.installations).handle_tokens_revoked_events(
            event, context
        )

    # --- App Home ----------------------------------------------------------------
    async def publish_home(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> None:
        workspace = parse.workspace_id(team_id)
        deadlines = await self.repository.list_deadlines(
            workspace_id=workspace, statuses=frozenset({DeadlineStatus.OPEN}), limit=HOME_SCAN
        )
        owned = [d for d in deadlines if d.owner_id == user_id]
        states = await self.repository.load_deadline_states(
            workspace_id=workspace, deadline_ids=[d.id for d in deadlines]
        )
        waiting = {
            state.deadline.id
            for state in states
            if any(r.user_id == user_id and r.answered_at is None for r in state.requests)
        }
        asked = [d for d in deadlines if d.id in waiting]
        view = home_view(owned=owned, asked=asked, now=self.clock.now())
        await client.views_publish(user_id=user_id, view=view)

    # --- delivery ----------------------------------------------------------------
    async def deliver(
        self, client: AsyncWebClient, messages: Sequence[Message], origin: Origin
    ) -> None:
        """Send replies after the ack; one failure does not stop the others."""
        for message in messages:
            try:
                await self._deliver_one(client, message, origin)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
                log.warning("could not deliver a %s message: %r", message.audience, error)
                if message.audience is Audience.DIRECT and message.user_id != origin.user_id:
                    note = views.error_message(
                        f"I could not send a direct message to <@{message.user_id}>.",
                        user_id=origin.user_id,
                    )
                    await self._deliver_quietly(client, note, origin)

    async def _deliver_quietly(
        self, client: AsyncWebClient, message: Message, origin: Origin
    ) -> None:
        try:
            await self._deliver_one(client, message, origin)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not deliver a notice either: %r", error)

    async def _deliver_one(self, client: AsyncWebClient, message: Message, origin: Origin) -> None:
        has_form = find_form(message) is not None and bool(origin.trigger_id)
        if has_form and await self._open_modal(client, message, origin):
            return
        payload = render_message(message, now=self.clock.now())
        match message.audience:
            case Audience.DIRECT:
                await client.chat_postMessage(channel=message.user_id or origin.user_id, **payload)
            case Audience.EPHEMERAL:
                user = message.user_id or origin.user_id
                if origin.response_url and user == origin.user_id:
                    await self._respond(origin.response_url, payload, "ephemeral")
                elif origin.channel_id:
                    await client.chat_postEphemeral(channel=origin.channel_id, user=user, **payload)
                else:
                    await client.chat_postMessage(channel=user, **payload)
            case Audience.CHANNEL:
                await self._post_to_channel(client, message, payload, origin)
            case _:
                assert_never(message.audience)

    async def _post_to_channel(
        self, client: AsyncWebClient, message: Message, payload: JSON, origin: Origin
    ) -> None:
        target = message.channel_id or origin.announce_channel
        if origin.response_url and target == origin.channel_id:
            # A response URL can post in channels the bot has not joined.
            await self._respond(origin.response_url, payload, "in_channel")
            return
        if not target:
            await client.chat_postMessage(channel=origin.user_id, **payload)
            return
        try:
            await client.chat_postMessage(channel=target, **payload)
        except SlackApiError as error:
            if error.response.get("error") not in NOT_IN_CHANNEL:
                raise
            hint = f"I could not post in <#{target}>; invite me with `/invite @Parley`. "
            await client.chat_postMessage(
                channel=origin.user_id, **{**payload, "text": hint + payload["text"]}
            )
            return
        if origin.response_url and origin.channel_id:
            # Pressed in a DM: confirm there too, so the user sees it went through.
            await self._respond(origin.response_url, payload, "in_channel")

    async def _open_modal(self, client: AsyncWebClient, message: Message, origin: Origin) -> bool:
        form = find_form(message)
        assert form is not None
        same_channel = origin.announce_channel == origin.channel_id
        state = parse.ModalState(
            value=form.value,
            channel_id=origin.announce_channel,
            response_url=origin.response_url if same_channel else "",
        )
        view = render_modal(message, private_metadata=state.encode(), now=self.clock.now())
        try:
            await client.views_open(trigger_id=origin.trigger_id, view=view)
        except SlackApiError as error:
            # Usually an expired trigger (a slow reply): the form then comes as a button.
            log.info("views.open failed (%s); sending the form as a button", error)
            return False
        return True

    async def _respond(self, url: str, payload: JSON, response_type: str) -> None:
        webhook = AsyncWebhookClient(url, session=self.session, retry_handlers=retry_handlers())
        response = await webhook.send_dict(
            {**payload, "response_type": response_type, "replace_original": False}
        )
        if response.status_code != 200:
            log.warning("response_url answered %s: %s", response.status_code, response.body)


SLACK = web.AppKey("parley_slack", SlackAdapter)


def mount(app: web.Application, runtime: Runtime) -> SlackAdapter:
    """Add the Slack endpoints to Parley's aiohttp app; start and stop with it."""
    adapter = SlackAdapter(runtime)
    app[SLACK] = adapter
    app.router.add_post(EVENTS_PATH, adapter.handle_events)
    if adapter.bolt.oauth_flow is not None:
        app.router.add_get(INSTALL_PATH, adapter.handle_install)
        app.router.add_get(REDIRECT_PATH, adapter.handle_oauth_redirect)
    app.cleanup_ctx.append(adapter.running)
    return adapter
