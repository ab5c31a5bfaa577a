"""Where a Slack message goes: one router by audience, for replies and for alerts alike.

``SlackDelivery.send`` takes a message and its ``Origin`` (who acted, where,
and with what a reply can be sent back: a response URL, a trigger id). A
request's replies have an origin with a person in it; an alert's origin
names only its channel (and the gateway passes the workspace's token).

- ``DIRECT``: a post to the person (Slack opens the app's DM with them).
- ``EPHEMERAL``: through the response URL when it is for the person who
  acted, else ``chat.postEphemeral`` in the conversation, else (from the App
  Home, which has none) a DM.
- ``CHANNEL``: through the response URL when it is for the conversation the
  person acted in (it can post where the bot has not joined), else
  ``chat.postMessage``. A channel that will not take the post (not joined,
  archived) turns into a DM to the person, with a hint to invite Parley; an
  alert has nobody to tell, so the error goes up to the dispatcher.
- A message with a form, when there is a trigger id, opens as a modal.

``ack_body`` picks the reply that can ride in a slash command's ack, and
``deliver`` sends a request's other replies, one failure not stopping the rest.
``retry_handlers`` gives the Slack clients their own retries (``RetryPolicy``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import parse
from adapters.slack.render import JSON, find_form, render_message, render_modal
from bot import views
from bot.errors import PermanentDelivery
from bot.messages import Audience, Message
from bot.ports import Clock

log = logging.getLogger("parley.slack")

NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the Slack clients retry on their own, before Parley's dispatcher does: once
    on a 429, once on a 500 or 503, once on a dropped connection. They wait the 429's
    Retry-After, else slack_sdk's backoff; ``waits=False`` retries at once (tests)."""

    waits: bool = True


class _RateLimitRetryAtOnce(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry without its sleep for Retry-After."""

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        state.increment_current_attempt()


def retry_handlers(policy: RetryPolicy = RetryPolicy()) -> list[AsyncRetryHandler]:
    """slack_sdk's retry handlers for ``policy``."""
    rate_limit: AsyncRetryHandler
    backoff: RetryIntervalCalculator
    if policy.waits:
        rate_limit = AsyncRateLimitErrorRetryHandler(max_retry_count=1)
        backoff = default_interval_calculator
    else:
        rate_limit = _RateLimitRetryAtOnce(max_retry_count=1)
        backoff = FixedValueRetryIntervalCalculator(0)
    return [
        AsyncConnectionErrorRetryHandler(interval_calculator=backoff),
        rate_limit,
        AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=backoff),
    ]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, and so where its replies go."""

    team_id: str
    user_id: str  # who acted ("" for an alert: nobody to tell)
    channel_id: str  # the conversation the user acted in ("" from the App Home)
    announce_channel: str  # where channel messages without their own channel go
    response_url: str = ""
    trigger_id: str = ""

    @classmethod
    def alert(cls, *, team_id: str, channel_id: str) -> Origin:
        """An alert's origin: its channel, and nobody who acted."""
        return cls(team_id=team_id, user_id="", channel_id=channel_id, announce_channel=channel_id)


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


def error_code(error: SlackApiError) -> str:
    """Slack's error code (``not_in_channel``); "" when the answer was not Slack's JSON."""
    data: Any = getattr(error.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _ts(response: Any, key: str = "ts") -> str | None:
    return str(response.get(key) or "") or None


class SlackDelivery:
    """Sends messages to Slack by audience (see the module docstring)."""

    def __init__(
        self, *, client: AsyncWebClient, clock: Clock, retries: RetryPolicy = RetryPolicy()
    ) -> None:
        self.client = client  # its aiohttp session also carries the response URL posts
        self.clock = clock
        self.retries = retries  # for the response URL posts (``client`` has its own)

    async def send(
        self,
        message: Message,
        origin: Origin,
        *,
        client: AsyncWebClient | None = None,
        token: str | None = None,
    ) -> str | None:
        """Deliver ``message``; Slack's id of the post, when there is one.

        ``client`` is the request's (bolt's, holding the workspace's token), else
        the shared client with ``token``. Raises slack_sdk's and aiohttp's errors,
        and ``PermanentDelivery`` for a message with nowhere to go.
        """
        client = client or self.client
        has_form = bool(origin.trigger_id) and find_form(message) is not None
        if has_form and await self._open_modal(client, message, origin):
            return None
        payload = render_message(message, now=self.clock.now())
        if message.thread_id:
            payload["thread_ts"] = message.thread_id
        call = {**payload, "token": token} if token else payload  # never to a response URL
        match message.audience:
            case Audience.DIRECT:
                user = message.user_id or origin.user_id
                if not parse.is_user_id(user):
                    # Posting to a channel id would post in that channel.
                    raise PermanentDelivery(f"a direct message needs a user id, not {user!r}")
                # Posting to a user id opens (or reuses) the app's DM with them.
                return _ts(await client.chat_postMessage(channel=user, **call))
            case Audience.EPHEMERAL:
                return await self._ephemeral(client, message, origin, payload, call)
            case Audience.CHANNEL:
                return await self._to_channel(client, message, origin, payload, call)
            case _:
                assert_never(message.audience)

    async def _ephemeral(
        self, client: AsyncWebClient, message: Message, origin: Origin, payload: JSON, call: JSON
    ) -> str | None:
        user = message.user_id or origin.user_id
        if not user:
            raise PermanentDelivery("an ephemeral message needs a user id")
        if origin.response_url and user == origin.user_id:
            await self._respond(origin.response_url, payload, "ephemeral")
            return None
        channel = message.channel_id or origin.channel_id
        if channel:
            posted = await client.chat_postEphemeral(channel=channel, user=user, **call)
            return _ts(posted, "message_ts")
        return _ts(await client.chat_postMessage(channel=user, **call))

    async def _to_channel(
        self, client: AsyncWebClient, message: Message, origin: Origin, payload: JSON, call: JSON
    ) -> str | None:
        target = message.channel_id or origin.announce_channel
        if origin.response_url and target == origin.channel_id:
            # A response URL can post in channels the bot has not joined.
            await self._respond(origin.response_url, payload, "in_channel")
            return None
        if not target:
            if not origin.user_id:
                raise PermanentDelivery("a channel message needs a channel")
            return _ts(await client.chat_postMessage(channel=origin.user_id, **call))
        try:
            posted = await client.chat_postMessage(channel=target, **call)
        except SlackApiError as error:
            if error_code(error) not in NOT_IN_CHANNEL or not origin.user_id:
                raise
            hint = f"I could not post in <#{target}>; invite me with `/invite @Parley`. "
            await client.chat_postMessage(
                channel=origin.user_id, **{**call, "text": hint + payload["text"]}
            )
            return None
        if origin.response_url and origin.channel_id:
            # Acted in a DM: confirm there too, to this person only (a DM between
            # people has others in it who need not see the deadline's channel).
            await self._respond(origin.response_url, payload, "ephemeral")
        return _ts(posted)

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
        webhook = AsyncWebhookClient(
            url, session=self.client.session, retry_handlers=retry_handlers(self.retries)
        )
        response = await webhook.send_dict(
            {**payload, "response_type": response_type, "replace_original": False}
        )
        if response.status_code != 200:
            log.warning("response_url answered %s: %s", response.status_code, response.body)

    # --- a request's replies ---------------------------------------------------------
    async def deliver(
        self, client: AsyncWebClient, messages: Sequence[Message], origin: Origin
    ) -> None:
        """Send a request's replies after the ack; one failure does not stop the others."""
        for message in messages:
            try:
                await self.send(message, origin, client=client)
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
            await self.send(message, origin, client=client)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not deliver a notice either: %r", error)
