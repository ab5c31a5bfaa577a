"""``SlackGateway``: the ``bot.ports.ChatGateway`` that posts alerts and nudges to Slack.

It routes with ``adapters.slack.delivery`` (the router a request's replies use
too) and posts with the shared ``AsyncWebClient`` and the workspace's token
(the client's retry handlers already wait out one 429 and one 5xx); what
still fails is translated into Parley's error tree:

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
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from adapters.slack.delivery import Origin, SlackDelivery, error_code
from adapters.slack.parse import team_id_of
from bot.errors import DeliveryError, PermanentDelivery, RateLimited, TransientDelivery
from bot.messages import Message

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
    code = error_code(error)
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

    def __init__(self, *, delivery: SlackDelivery, tokens: TokenSource) -> None:
        self.delivery = delivery
        self.tokens = tokens

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        team_id = team_id_of(workspace_id)
        token = await self.tokens(team_id)
        if not token:
            raise PermanentDelivery(f"Parley is not installed in Slack workspace {team_id}")
        origin = Origin.alert(team_id=team_id, channel_id=channel_id)
        try:
            return await self.delivery.send(message, origin, token=token)
        except SlackApiError as error:
            raise delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransientDelivery(f"Slack unreachable: {error!r}") from error
