"""``SlackGateway``: the ``bot.ports.ChatGateway`` that posts alerts and nudges to Slack.

It renders with ``adapters.slack.render`` and posts with the shared
``AsyncWebClient`` (whose retry handlers already wait out one 429 and one 5xx);
what still fails is translated into Parley's error tree:

- HTTP 429 -> ``RateLimited(retry_after=<Retry-After>)``
- HTTP 5xx, Slack's ``internal_error``/``fatal_error``/..., timeouts, connection
  errors -> ``TransientDelivery``
- anything else Slack refuses (``channel_not_found``, ``not_in_channel``,
  ``is_archived``, ``account_inactive``, ``invalid_auth``, ``token_revoked``,
  ``invalid_blocks`` ...) and a workspace with no installation ->
  ``PermanentDelivery``: retrying the same request cannot succeed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, assert_never

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.parse import team_id_of
from adapters.slack.render import render_message
from bot.errors import DeliveryError, PermanentDelivery, RateLimited, TransientDelivery
from bot.messages import Audience, Message
from bot.ports import Clock

TokenSource = Callable[[str], Awaitable[str | None]]  # team id -> bot token

TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "team_added_to_org",
    }
)


def delivery_error(error: SlackApiError) -> DeliveryError:
    """The Parley error for a failed Web API call."""
    response = error.response
    status = getattr(response, "status_code", 200)
    data: Any = getattr(response, "data", None)
    code = data.get("error", "") if isinstance(data, dict) else ""
    if status == 429:
        headers = getattr(response, "headers", {}) or {}
        retry_after = _retry_after(headers)
        return RateLimited(f"Slack rate limit ({code or 429})", retry_after=retry_after)
    if status >= 500 or code in TRANSIENT_ERRORS:
        return TransientDelivery(f"Slack failed: {code or status}")
    return PermanentDelivery(f"Slack refused: {code or status}")


def _retry_after(headers: Any) -> float:
    for name, value in dict(headers).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except ValueError:
                break
    return 1.0


class SlackGateway:
    """Posts Parley messages to Slack outside a request (alerts, nudges, catch-ups)."""

    def __init__(self, *, client: AsyncWebClient, tokens: TokenSource, clock: Clock) -> None:
        self.client = client
        self.tokens = tokens
        self.clock = clock

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        team_id = team_id_of(workspace_id)
        token = await self.tokens(team_id)
        if not token:
            raise PermanentDelivery(f"Parley is not installed in Slack workspace {team_id}")
        payload = render_message(message, now=self.clock.now())
        target = message.channel_id or channel_id
        if message.thread_id:
            payload["thread_ts"] = message.thread_id
        try:
            match message.audience:
                case Audience.DIRECT:
                    if not message.user_id:
                        raise PermanentDelivery("a direct message needs a user id")
                    # Posting to a user id opens (or reuses) the app's DM with them.
                    response = await self.client.chat_postMessage(
                        token=token, channel=message.user_id, **payload
                    )
                    return str(response.get("ts") or "") or None
                case Audience.EPHEMERAL:
                    if not message.user_id:
                        raise PermanentDelivery("an ephemeral message needs a user id")
                    response = await self.client.chat_postEphemeral(
                        token=token, channel=target, user=message.user_id, **payload
                    )
                    return str(response.get("message_ts") or "") or None
                case Audience.CHANNEL:
                    response = await self.client.chat_postMessage(
                        token=token, channel=target, **payload
                    )
                    return str(response.get("ts") or "") or None
                case _:
                    assert_never(message.audience)
        except SlackApiError as error:
            raise delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransientDelivery(f"Slack unreachable: {error!r}") from error
