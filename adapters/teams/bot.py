"""Parley in Microsoft Teams: the Bot Framework wiring and the adapter's only I/O.

``TeamsConnection`` holds botbuilder's ``CloudAdapter`` and the activity
handler. ``handle`` is the ``POST /api/messages`` endpoint: it authenticates
the activity first (any failure is a 401 and nothing runs), then lets the
adapter run the turn. ``post`` sends proactively (alerts, nudges) through
``continue_conversation`` on a stored conversation reference.

Where replies go (Teams has no ephemeral messages):

- ``CHANNEL`` messages are replies in the thread the command was typed in.
- ``EPHEMERAL`` messages (help, errors, lists, the position form) are replies
  in the thread that start with an @mention of the person who typed; in a
  personal chat they are plain replies. The calendar feed answer carries a
  secret URL, so it always goes to the person's 1:1 chat with Parley.
- ``DIRECT`` messages go to the person's 1:1 chat, created (or found again:
  Teams answers with the existing one) with their AAD object id in the tenant.

Conversation references (tenant and serviceUrl included) are stored in
Parley's database on installation and refreshed on every activity; removing
the app deletes those of the team or chat it was removed from.

Auth: with MICROSOFT_APP_ID set, botbuilder validates the Bot Framework JWT;
its key refresh is replaced by ``SigningKeys``, which fetches the OpenID
metadata with aiohttp instead of blocking the event loop with ``requests``,
and token fetches for outgoing calls (MSAL, blocking too) run in a thread.
Without an app id (the Bot Framework Emulator) only requests from this
machine naming a loopback serviceUrl are served: botbuilder would otherwise
post replies to whatever serviceUrl an anonymous caller names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
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
from botframework.connector.auth import (
    AuthenticationConstants,
    GovernmentConstants,
    JwtTokenExtractor,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from jwt.algorithms import RSAAlgorithm

from adapters.teams import parse, render
from adapters.teams.gateway import TeamsGateway
from bot.errors import FormError, GrammarError, ParleyError, StorageUnavailable
from bot.grammar import FeedRequest, parse_command
from bot.messages import Audience, Message, Role, Text

log = logging.getLogger("parley.teams")

RAW_ACTIVITY = "parley.raw_activity"  # turn_state key: the activity JSON as received
KEYS_MAX_AGE = 24 * 3600.0  # botbuilder's own refresh period
UNKNOWN_KEY_REFRESH = 300.0  # an unknown key id refreshes the keys at most this often
NAMES_MAX = 10_000

WELCOME = Message(
    fallback="Parley is here: negotiation deadlines and positions. Type @Parley deadline help.",
    blocks=(
        Text("Parley is here", Role.HEADING),
        Text(
            "I keep this conversation's negotiation deadlines and everyone's positions, "
            "and post countdown alerts before each deadline."
        ),
        Text(
            "Type *@Parley deadline add <title> due <when>* to start, or "
            "*@Parley deadline help* and *@Parley position help* for every command. "
            "In a personal chat with me, leave out the @Parley."
        ),
    ),
    audience=Audience.CHANNEL,
)


# --- signing keys ------------------------------------------------------------------


class KeysUnavailable(Exception):
    """The Bot Framework signing keys could not be fetched."""


class _Key:
    """What botbuilder's ``JwtTokenExtractor`` reads from its metadata: a key and its channels."""

    def __init__(self, public_key: Any, endorsements: list[str]) -> None:
        self.public_key = public_key
        self.endorsements = endorsements


class SigningKeys:
    """Drop-in for botbuilder's OpenID metadata cache, fetching with aiohttp.

    Keys are refreshed once a day, and when a token names an unknown key id
    (at most every few minutes). ``seed`` sets the keys without fetching them.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.keys: list[dict[str, Any]] = []
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    def seed(self, keys: list[dict[str, Any]]) -> None:
        self.keys = list(keys)
        self._fetched_at = time.monotonic()

    async def get(self, key_id: str | None) -> _Key:
        if time.monotonic() - self._fetched_at > KEYS_MAX_AGE:
            await self._refresh()
        key = self._find(key_id)
        if key is None and time.monotonic() - self._fetched_at > UNKNOWN_KEY_REFRESH:
            await self._refresh()
            key = self._find(key_id)
        if key is None:
            raise PermissionError(f"unknown signing key {key_id!r}")
        return key

    def _find(self, key_id: str | None) -> _Key | None:
        for jwk in self.keys:
            if jwk.get("kid") == key_id:
                public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
                return _Key(public_key, list(jwk.get("endorsements") or []))
        return None

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1.0:
                return  # another request refreshed them while this one waited
            timeout = aiohttp.ClientTimeout(total=10)
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    async with session.get(self.url) as response:
                        response.raise_for_status()
                        jwks_uri = (await response.json(content_type=None))["jwks_uri"]
                    async with session.get(jwks_uri) as response:
                        response.raise_for_status()
                        keys = (await response.json(content_type=None))["keys"]
            except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as error:
                raise KeysUnavailable(f"{self.url}: {error}") from error
            self.seed(keys)


_METADATA_URLS = (
    AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
    GovernmentConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    GovernmentConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
)


def signing_keys(
    url: str = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
) -> SigningKeys:
    """The key cache botbuilder uses for ``url`` (installed on first use)."""
    cache: dict[str, Any] = JwtTokenExtractor.metadataCache
    current = cache.get(url)
    if not isinstance(current, SigningKeys):
        current = SigningKeys(url)
        cache[url] = current
    return current


def install_signing_keys() -> None:
    for url in _METADATA_URLS:
        signing_keys(url)


# --- outgoing credentials ----------------------------------------------------------


class _Config:
    """The configuration object botbuilder's factories read."""

    def __init__(self, *, app_id: str, password: str, app_type: str, tenant_id: str) -> None:
        self.APP_ID = app_id
        self.APP_PASSWORD = password
        self.APP_TYPE = app_type
        self.APP_TENANTID = tenant_id


class _CredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """botbuilder's factory, made to keep its credentials (and so MSAL's token cache)
    between requests and to fetch tokens in a thread: MSAL's HTTP calls block."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._made: dict[tuple[str, str, str], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        key = (app_id or "", oauth_scope or "", login_endpoint or "")
        credentials = self._made.get(key)
        if credentials is None:
            credentials = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            self._made[key] = credentials
        if isinstance(credentials, MicrosoftAppCredentials) and credentials.microsoft_app_id:
            # Fills MSAL's cache off the event loop; the connector's own (synchronous)
            # call then reads the cached token.
            await asyncio.to_thread(credentials.get_access_token)
        return credentials


# --- names ---------------------------------------------------------------------------


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


# --- the connection ------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _connector(turn_context: Any) -> Any:
    return turn_context.turn_state.get(turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY)


def _no_http_retries(connector: Any) -> None:
    """Proactive sends are retried by Parley's dispatcher, which honours Retry-After;
    the connector's own urllib3 retries would sleep in a thread and hide the status."""
    policy = connector.config.retry_policy
    policy.retries = 0
    policy.policy.status_forcelist = []


class TeamsConnection:
    """The Bot Framework adapter, Parley's activity handler and the proactive sender."""

    def __init__(self, runtime: Any) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.app_id: str = settings.microsoft_app_id
        self.names = Directory()
        config = _Config(
            app_id=settings.microsoft_app_id,
            password=settings.microsoft_app_password,
            app_type=settings.microsoft_app_type,
            tenant_id=settings.microsoft_app_tenant_id,
        )
        self.authentication = ConfigurationBotFrameworkAuthentication(
            config,
            credentials_factory=_CredentialsFactory(
                ConfigurationServiceClientCredentialFactory(config)
            ),
        )
        self.adapter = CloudAdapter(self.authentication)
        self.adapter.on_turn_error = self._on_turn_error
        self.bot = ParleyTeamsBot(self)
        install_signing_keys()
        if not self.app_id:
            log.warning(
                "MICROSOFT_APP_ID is not set: /api/messages serves only unauthenticated local "
                "requests (Bot Framework Emulator)"
            )

    @property
    def authenticated(self) -> bool:
        return bool(self.app_id)

    # --- inbound --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        """``POST /api/messages``."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.Response(status=415, text="expected application/json")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid JSON")
        if not isinstance(body, dict) or not body.get("type"):
            return web.Response(status=400, text="not an activity")
        activity = Activity().deserialize(body)
        if not self.authenticated and not (
            _is_loopback(request.remote)
            and _is_loopback(urlparse(activity.service_url or "").hostname)
        ):
            log.warning("refused an unauthenticated activity from %s", request.remote)
            return web.Response(status=401, text="unauthenticated mode serves this machine only")
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

        async def logic(turn_context: Any) -> None:
            turn_context.turn_state[RAW_ACTIVITY] = body
            await self.bot.on_turn(turn_context)

        invoke: InvokeResponse | None = await self.adapter.process_activity(auth, activity, logic)
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=200)

    async def _on_turn_error(self, turn_context: Any, error: Exception) -> None:
        log.exception("Teams turn failed", exc_info=error)
        try:
            await turn_context.send_activity(
                "Sorry, Parley hit an error. Nothing more was changed."
            )
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
            message, now=self.runtime.clock.now(), names=self.names, errors=errors or {}
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
                connector = _connector(turn_context)
                _no_http_retries(connector)
                if direct_to:
                    sent = await send_direct(
                        connector,
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
                    response = await connector.conversations.send_to_conversation(
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
    connector: Any, source: Any, *, tenant: str, user_id: str, activity: Any
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
    created = await connector.conversations.create_conversation(parameters)
    conversation = ConversationAccount(id=created.id, tenant_id=tenant)
    activity.recipient = ChannelAccount(id=user_id)
    response = await connector.conversations.send_to_conversation(
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


# --- the activity handler ---------------------------------------------------------------


class ParleyTeamsBot(ActivityHandler):  # type: ignore[misc]
    """Runs each Teams activity against the core and delivers what it answers."""

    def __init__(self, connection: TeamsConnection) -> None:
        super().__init__()
        self.connection = connection
        self.runtime = connection.runtime

    @property
    def service(self) -> Any:
        return self.runtime.service

    @property
    def repository(self) -> Any:
        return self.runtime.repository

    async def on_turn(self, turn_context: Any) -> None:
        raw = _raw(turn_context)
        change = parse.membership(raw)
        workspace = parse.workspace_id(raw)
        if change == "removed":
            removed = await self.repository.delete_conversation_references(
                workspace_id=workspace, group_id=parse.group_id(raw)
            )
            log.info("Parley removed from %s (%s references dropped)", parse.group_id(raw), removed)
            return
        if change == "channel_deleted":
            await self.repository.delete_conversation_references(
                workspace_id=workspace, conversation_id=parse.deleted_channel_id(raw)
            )
            return
        if parse.conversation_id(raw) and raw.get("serviceUrl"):
            try:
                await self.repository.save_conversation_reference(
                    workspace_id=workspace,
                    conversation_id=parse.conversation_id(raw),
                    group_id=parse.group_id(raw),
                    reference=json.dumps(parse.conversation_reference(raw), sort_keys=True),
                    updated_at=self.runtime.clock.now(),
                )
            except StorageUnavailable:
                # The command itself tells the user the database is away; the
                # reference is saved again with the next activity.
                log.warning("conversation reference not saved: database unavailable")
        sender = raw.get("from") or {}
        self.connection.names.learn(parse.account_user_id(sender), str(sender.get("name") or ""))
        await super().on_turn(turn_context)

    # --- installation ------------------------------------------------------------------
    async def on_conversation_update_activity(self, turn_context: Any) -> None:
        if parse.membership(_raw(turn_context)) == "added":
            await turn_context.send_activity(self.connection.activity(WELCOME))

    # --- commands and clicks ---------------------------------------------------------------
    async def on_message_activity(self, turn_context: Any) -> None:
        raw = _raw(turn_context)
        action = parse.card_action(raw)
        if isinstance(action, parse.Press):
            messages = await self.service.press(
                ctx=action.ctx, action_id=action.action_id, value=action.value
            )
            await self._deliver(turn_context, raw, messages)
            return
        if isinstance(action, parse.Submission):
            card = await self._submit(turn_context, raw, action)
            if card is not None and raw.get("replyToId"):
                update = self.connection.activity(card[0], errors=card[1])
                update.id = raw["replyToId"]
                await turn_context.update_activity(update)
            elif card is not None:
                await self._deliver(turn_context, raw, [card[0]])
            return
        aad_ids = await self._resolve_mentions(turn_context, raw)
        typed = parse.typed(raw, aad_ids)
        messages = await self.service.handle(ctx=typed.ctx, command=typed.command, text=typed.text)
        await self._deliver(turn_context, raw, messages, private=_is_feed(typed))

    async def on_invoke_activity(self, turn_context: Any) -> Any:
        raw = _raw(turn_context)
        action = parse.card_action(raw)
        if action is None:
            return await super().on_invoke_activity(turn_context)
        if isinstance(action, parse.Press):
            messages = await self.service.press(
                ctx=action.ctx, action_id=action.action_id, value=action.value
            )
            await self._deliver(turn_context, raw, messages)
            return InvokeResponse(status=200, body=_invoke_message("Done"))
        card = await self._submit(turn_context, raw, action)
        if card is None:
            body = _invoke_message("Recorded")
        else:
            rendered = render.render_card(
                card[0], now=self.runtime.clock.now(), names=self.connection.names, errors=card[1]
            )
            body = {"statusCode": 200, "type": render.CARD_CONTENT_TYPE, "value": rendered}
        return InvokeResponse(status=200, body=body)

    async def _submit(
        self, turn_context: Any, raw: Mapping[str, Any], submission: parse.Submission
    ) -> tuple[Message, dict[str, str]] | None:
        """Record a submitted form; return what the form's card becomes (and its errors),
        or None when the card stays as it is. Other answers are delivered here."""
        try:
            messages = await self.service.submit_form(
                ctx=submission.ctx,
                form_id=submission.form_id,
                value=submission.value,
                fields=submission.fields,
            )
        except FormError as error:
            try:
                form = await self.service.position_form(
                    ctx=submission.ctx, deadline_id=submission.value
                )
            except (ParleyError, ValueError):
                # The deadline is gone, or the card's value is not an id: say why plainly.
                await self._deliver(turn_context, raw, [_note(str(error))])
                return None
            return form, dict(error.errors)
        # The form's card becomes the announcement; anything else is delivered as usual.
        announcement = next((m for m in messages if m.audience is Audience.CHANNEL), None)
        rest = [m for m in messages if m is not announcement]
        if rest:
            await self._deliver(turn_context, raw, rest)
        return (announcement, {}) if announcement is not None else None

    async def _resolve_mentions(self, turn_context: Any, raw: Mapping[str, Any]) -> dict[str, str]:
        """AAD object ids of people mentioned without one (asked through the connector)."""
        found: dict[str, str] = {}
        for member_id in parse.unresolved_mentions(raw):
            try:
                member = await _connector(turn_context).conversations.get_conversation_member(
                    parse.conversation_id(raw), member_id
                )
            except Exception as error:
                log.info("could not look up mentioned member %s: %s", member_id, error)
                continue
            aad = getattr(member, "aad_object_id", None)
            if aad:
                found[member_id] = aad
                self.connection.names.learn(aad, getattr(member, "name", "") or "")
        for entity in raw.get("entities") or ():
            who = entity.get("mentioned") if isinstance(entity, dict) else None
            if entity.get("type") == "mention" and isinstance(who, dict):
                key = who.get("aadObjectId") or found.get(str(who.get("id")))
                if key:
                    self.connection.names.learn(str(key), str(who.get("name") or ""))
        return found

    # --- delivery ----------------------------------------------------------------------
    async def _deliver(
        self,
        turn_context: Any,
        raw: Mapping[str, Any],
        messages: list[Message],
        *,
        private: bool = False,
    ) -> None:
        sender = raw.get("from") or {}
        personal = parse.is_personal(raw)
        for message in messages:
            match message.audience:
                case Audience.CHANNEL:
                    await turn_context.send_activity(self.connection.activity(message))
                case Audience.EPHEMERAL if personal:
                    await turn_context.send_activity(self.connection.activity(message))
                case Audience.EPHEMERAL if private:
                    sent = await self._direct(turn_context, str(sender.get("id") or ""), message)
                    if sent:
                        note = "I sent you the details in our personal chat."
                    else:
                        note = (
                            "I couldn't message you privately. Open a chat with Parley "
                            "and type deadline feed there."
                        )
                    await self._reply_to_sender(turn_context, sender, _note(note))
                case Audience.EPHEMERAL:
                    await self._reply_to_sender(turn_context, sender, message)
                case Audience.DIRECT:
                    target = message.user_id or ""
                    if not await self._direct(turn_context, target, message):
                        name = render.mention_name(target, self.connection.names)
                        missed = (
                            f"I couldn't message @{name} directly; they may need to install "
                            "Parley for themselves first."
                        )
                        await self._reply_to_sender(turn_context, sender, _note(missed))

    async def _reply_to_sender(
        self, turn_context: Any, sender: Mapping[str, Any], message: Message
    ) -> None:
        address = (str(sender.get("id") or ""), str(sender.get("name") or ""))
        await turn_context.send_activity(self.connection.activity(message, address=address))

    async def _direct(self, turn_context: Any, user_id: str, message: Message) -> bool:
        if not user_id:
            return False
        try:
            await send_direct(
                _connector(turn_context),
                turn_context.activity,
                tenant=parse.tenant_of(_raw(turn_context)),
                user_id=user_id,
                activity=self.connection.activity(message),
            )
        except Exception as error:
            log.info("could not open a 1:1 chat with %s: %s", user_id, error)
            return False
        return True


def _raw(turn_context: Any) -> Mapping[str, Any]:
    raw = turn_context.turn_state.get(RAW_ACTIVITY)
    return raw if isinstance(raw, Mapping) else turn_context.activity.serialize()


def _is_feed(typed: parse.Typed) -> bool:
    """The feed answer carries a secret URL: it must not be posted in a shared conversation."""
    try:
        return isinstance(parse_command(typed.command, typed.text), FeedRequest)
    except GrammarError:
        return False


def _invoke_message(text: str) -> dict[str, Any]:
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}


def _note(text: str) -> Message:
    return Message(fallback=text, blocks=(Text(text),))


def register_gateway(runtime: Any) -> TeamsGateway:
    """The runtime's Teams gateway (created on first use): it holds the connection
    that ``POST /api/messages`` shares, so alerts and replies use one adapter."""
    gateway = runtime.gateways.get(parse.PLATFORM)
    if not isinstance(gateway, TeamsGateway):
        gateway = TeamsGateway(connection=TeamsConnection(runtime), repository=runtime.repository)
        runtime.gateways[parse.PLATFORM] = gateway
    return gateway


def mount(app: web.Application, runtime: Any) -> None:
    """Serve ``POST /api/messages`` on ``app``."""
    app.router.add_post("/api/messages", register_gateway(runtime).connection.handle)
