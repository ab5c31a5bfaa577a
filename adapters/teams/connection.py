"""Parley's connection to the Bot Framework: botbuilder's ``CloudAdapter``, the adapter's I/O.

``TeamsConnection.handle`` serves ``POST /api/messages``: it checks the
activity's shape (400) and its serviceUrl (400: see
``auth.service_url_problem``), authenticates it (any failure is a 401 and
nothing runs; see ``auth``), answers a replay "already handled" (see
``adapters.replay``), and only then lets the adapter run the turn with the
given activity handler.
``post`` sends proactively (alerts, nudges) through ``continue_conversation``
on a stored conversation reference; ``send_direct`` opens (or finds again:
Teams answers with the existing one) a person's 1:1 chat in a tenant and
posts there. ``activity`` renders a ``Message`` as a Teams activity.

This module and ``auth`` are the only ones that know botbuilder's adapter.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from aiohttp import web
from botbuilder.core import InvokeResponse
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    Mention,
)

from adapters.replay import ReplayGuard
from adapters.teams import parse, render
from adapters.teams.auth import (
    KeysUnavailable,
    bot_framework_authentication,
    service_url_problem,
)
from bot import once
from bot.config import Settings
from bot.errors import chat_text
from bot.messages import Message
from bot.ports import Clock

log = logging.getLogger("parley.teams")

RAW_ACTIVITY = "parley.raw_activity"  # turn_state key: the activity JSON as received
NAMES_MAX = 10_000
# Activities that run a command of the core (typed, or a card's button or form).
COMMAND_ACTIVITIES = frozenset({"message", "invoke"})


class TurnHandler(Protocol):
    """What runs a turn: botbuilder's ``ActivityHandler`` (see ``handler``)."""

    async def on_turn(self, turn_context: Any) -> None: ...


class Directory(Mapping[str, str]):
    """Display names of the people this process has seen, for ``@Name`` in cards."""

    def __init__(self, limit: int = NAMES_MAX) -> None:
        self._names: OrderedDict[str, str] = OrderedDict()
        self._limit = limit

    def learn(self, user_id: str, name: str) -> None:
        if not user_id or not name:
            return
        self._names[user_id] = name
        self._names.move_to_end(user_id)
        while len(self._names) > self._limit:
            self._names.popitem(last=False)

    def __getitem__(self, user_id: str) -> str:
        return self._names[user_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _from_this_machine(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def connector(turn_context: Any) -> Any:
    """The Bot Connector client of a turn."""
    return turn_context.turn_state.get(turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY)


def _no_http_retries(client: Any) -> None:
    """Proactive sends are retried by Parley's dispatcher, which honours Retry-After;
    the connector's own urllib3 retries would sleep in a thread and hide the status."""
    policy = client.config.retry_policy
    policy.retries = 0
    policy.policy.status_forcelist = []


class TeamsConnection:
    """The Bot Framework adapter: incoming activities and every message Parley sends."""

    def __init__(self, *, settings: Settings, clock: Clock, replay: ReplayGuard) -> None:
        self.app_id: str = settings.microsoft_app_id
        self.clock = clock
        self.replay = replay
        self.names = Directory()
        self.authentication = bot_framework_authentication(settings)
        self.adapter = CloudAdapter(self.authentication)
        self.adapter.on_turn_error = self._on_turn_error
        if not self.app_id:
            log.warning(
                "TEAMS_ALLOW_ANONYMOUS is set and MICROSOFT_APP_ID is not: /api/messages serves "
                "only unauthenticated requests from this machine (Bot Framework Emulator)"
            )

    @property
    def authenticated(self) -> bool:
        return bool(self.app_id)

    # --- inbound --------------------------------------------------------------------
    async def handle(self, request: web.Request, bot: TurnHandler) -> web.Response:
        """``POST /api/messages``: authenticate the activity, then run ``bot`` on it."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.Response(status=415, text="expected application/json")
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return web.Response(status=400, text="invalid JSON")
        service_url = body.get("serviceUrl") if isinstance(body, dict) else None
        problem = parse.activity_problem(body) or service_url_problem(
            service_url, loopback_only=False
        )
        if problem is not None:
            log.warning("refused an activity from %s: %s", request.remote, problem)
            return web.Response(status=400, text=problem)
        if not self.authenticated and (
            not _from_this_machine(request.remote)
            or service_url_problem(service_url, loopback_only=True)
        ):
            log.warning("refused an unauthenticated activity from %s", request.remote)
            return web.Response(status=401, text="unauthenticated mode serves this machine only")
        try:
            activity = Activity().deserialize(body)
        except Exception as error:  # msrest's errors share no base class worth naming
            log.warning("refused an activity that does not deserialize: %s", error)
            return web.Response(status=400, text="not an activity")
        try:
            auth = await self.authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except KeysUnavailable as error:
            log.error("cannot check Bot Framework tokens: %s", error)
            return web.Response(status=503, text="signing keys unavailable")
        except Exception as error:
            log.info("refused an activity: %s", error)
            return web.Response(status=401)

        key: once.Key | None = None
        if body.get("id"):
            replay_id = f"{parse.tenant_of(body)}\n{parse.conversation_id(body)}\n{body['id']}"
            if body.get("type") in COMMAND_ACTIVITIES:
                # Its key is claimed with the command's writes (``adapters.replay``).
                key = await self.replay.request_key("teams-activity", replay_id)
                first = key is not None
            else:
                first = await self.replay.first_time("teams-activity", replay_id)
            if not first:
                log.info("a Teams activity was sent again; it was already handled")
                return web.Response(status=200)

        async def logic(turn_context: Any) -> None:
            turn_context.turn_state[RAW_ACTIVITY] = body
            await bot.on_turn(turn_context)

        with once.request(key):
            invoke: InvokeResponse | None = await self.adapter.process_activity(
                auth, activity, logic
            )
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=200)

    async def _on_turn_error(self, turn_context: Any, error: Exception) -> None:
        log.exception("Teams turn failed", exc_info=error)
        try:
            await turn_context.send_activity(chat_text(error))
        except Exception:
            log.warning("could not tell the user about the failed turn")

    # --- outbound -------------------------------------------------------------------
    def activity(
        self,
        message: Message,
        *,
        errors: Mapping[str, str] | None = None,
        address: tuple[str, str] | None = None,
    ) -> Any:
        """``message`` as a Teams activity: its card, notification summary and, when
        ``address`` (id, name) is given, an @mention of that person above the card."""
        card = render.render_card(
            message, now=self.clock.now(), names=self.names, errors=errors or {}
        )
        activity = Activity(
            type=ActivityTypes.message,
            summary=render.plain(message.fallback, self.names)[:250],
            attachments=[Attachment(content_type=render.CARD_CONTENT_TYPE, content=card)],
        )
        if address is not None:
            user_id, name = address
            tag = f"<at>{name or 'there'}</at>"
            activity.text = tag
            activity.entities = [
                Mention(mentioned=ChannelAccount(id=user_id, name=name), text=tag, type="mention")
            ]
        return activity

    async def post(
        self, reference: Mapping[str, Any], activity: Any, *, direct_to: str | None = None
    ) -> str | None:
        """Send ``activity`` into the referenced conversation, or to ``direct_to``'s 1:1
        chat in the same tenant. Raises the connector's errors (see ``gateway``)."""
        result: list[str | None] = []
        failure: list[BaseException] = []
        tenant = str((reference.get("conversation") or {}).get("tenantId") or "")

        async def callback(turn_context: Any) -> None:
            # Errors are carried out by hand: the adapter would hand them to on_turn_error.
            try:
                client = connector(turn_context)
                _no_http_retries(client)
                if direct_to:
                    sent = await send_direct(
                        client,
                        turn_context.activity,
                        tenant=tenant,
                        user_id=direct_to,
                        activity=activity,
                    )
                    result.append(sent)
                else:
                    # A new post in the conversation: the continuation activity's id
                    # is made up, so ``send_activity`` would "reply" to nothing.
                    source = turn_context.activity
                    response = await client.conversations.send_to_conversation(
                        source.conversation.id, _addressed(activity, source, source.conversation)
                    )
                    result.append(getattr(response, "id", None))
            except BaseException as error:
                failure.append(error)

        conversation_reference = ConversationReference().deserialize(dict(reference))
        await self.adapter.continue_conversation(
            conversation_reference, callback, bot_app_id=self.app_id or None
        )
        if failure:
            raise failure[0]
        return result[0] if result else None


async def send_direct(
    client: Any, source: Any, *, tenant: str, user_id: str, activity: Any
) -> str | None:
    """Open (or find) the 1:1 chat with ``user_id`` in ``tenant`` and post there;
    ``source`` is an activity of the same bot and service (for the addresses)."""
    parameters = ConversationParameters(
        is_group=False,
        bot=source.recipient,
        members=[ChannelAccount(id=user_id)],
        tenant_id=tenant,
        channel_data={"tenant": {"id": tenant}},
    )
    created = await client.conversations.create_conversation(parameters)
    conversation = ConversationAccount(id=created.id, tenant_id=tenant)
    activity.recipient = ChannelAccount(id=user_id)
    response = await client.conversations.send_to_conversation(
        created.id, _addressed(activity, source, conversation)
    )
    return getattr(response, "id", None)


def _addressed(activity: Any, source: Any, conversation: Any) -> Any:
    """``activity`` posted by the bot of ``source`` into ``conversation``."""
    activity.conversation = conversation
    activity.from_property = source.recipient
    activity.service_url = source.service_url
    activity.channel_id = source.channel_id
    return activity
