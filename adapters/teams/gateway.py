"""The alert engine's way into Teams: ``TeamsGateway`` implements ``bot.ports.ChatGateway``.

A channel message goes to the conversation whose reference Parley stored when
it was installed there or last heard from it; a direct message (nudges, the
notice to a deadline's owner) goes to the person's 1:1 chat, opened through
any stored conversation of the same tenant. The dispatcher paces posts
(``DEFAULT_PACING["teams"]``: seven a second per conversation) and retries;
this module only says which failures are worth retrying (``delivery_error``):

- 429 -> ``RateLimited`` (``Retry-After`` honoured, else one second);
- 412, 500, 502, 503, 504, timeouts and connection errors -> ``TransientDelivery``;
- 403 (MessageWritesBlocked, bot removed or blocked), 404 (conversation gone),
  other 4xx and a missing conversation reference -> ``PermanentDelivery``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from adapters.teams import parse
from adapters.teams.connection import TeamsConnection
from bot.errors import DeliveryError, PermanentDelivery, RateLimited, TransientDelivery
from bot.messages import Audience, Message

log = logging.getLogger("parley.teams")

RETRY_STATUSES = frozenset({412, 500, 502, 503, 504})
DEFAULT_RETRY_AFTER = 1.0


class ReferenceReads(Protocol):
    """Where Parley may post: the conversation references stored by ``handler``."""

    async def get_conversation_reference(
        self, *, workspace_id: str, conversation_id: str
    ) -> str | None: ...

    async def latest_conversation_reference(self, *, workspace_id: str) -> str | None: ...


def _error_code(response: Any) -> str:
    try:
        body = json.loads(response.text or "{}")
    except (ValueError, AttributeError, TypeError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def classify(status: int, *, retry_after: str | None = None, code: str = "") -> DeliveryError:
    """The Parley error for a Bot Connector HTTP failure."""
    what = f"Bot Connector answered {status}" + (f" ({code})" if code else "")
    if status == 429:
        try:
            wait = float(retry_after) if retry_after else DEFAULT_RETRY_AFTER
        except ValueError:
            wait = DEFAULT_RETRY_AFTER
        return RateLimited(what, retry_after=max(wait, 0.0))
    if status in RETRY_STATUSES:
        return TransientDelivery(what)
    if status == 403:
        return PermanentDelivery(f"{what}: Parley may not post there (removed or blocked)")
    if status == 404:
        return PermanentDelivery(f"{what}: the conversation no longer exists")
    if status >= 500:
        return TransientDelivery(what)
    return PermanentDelivery(what)


def delivery_error(error: BaseException) -> DeliveryError:
    """Translate whatever botbuilder's connector raised into the error tree."""
    if isinstance(error, DeliveryError):
        return error
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        headers = getattr(response, "headers", None) or {}
        return classify(status, retry_after=headers.get("Retry-After"), code=_error_code(response))
    # No HTTP answer: a timeout, a refused connection or DNS; worth another try.
    return TransientDelivery(f"Bot Connector unreachable: {type(error).__name__}: {error}")


class TeamsGateway:
    """Posts alerts and direct messages to Teams through stored conversation references."""

    def __init__(self, *, connection: TeamsConnection, references: ReferenceReads) -> None:
        self.connection = connection
        self.references = references

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        if not workspace_id.startswith(parse.PREFIX):
            raise PermanentDelivery(f"{workspace_id} is not a Teams workspace")
        target = message.channel_id or channel_id
        reference = await self._reference(workspace_id, target)
        direct_to: str | None = None
        if message.audience is not Audience.CHANNEL and message.user_id:
            direct_to = message.user_id
            if not parse.is_user_id(direct_to):
                raise PermanentDelivery(f"a direct message needs a person's id, not {direct_to}")
        if reference is None and direct_to:
            reference = await self._any_reference(workspace_id)
        if reference is None:
            raise PermanentDelivery(
                f"Parley has no conversation reference for {target} in {workspace_id}: "
                "it was removed, or never installed there"
            )
        activity = self.connection.activity(message)
        try:
            return await self.connection.post(reference, activity, direct_to=direct_to)
        except Exception as error:
            translated = delivery_error(error)
            if isinstance(translated, TransientDelivery) and not hasattr(error, "response"):
                log.warning("Teams delivery failed", exc_info=error)
            raise translated from error

    async def _reference(self, workspace_id: str, conversation_id: str) -> Mapping[str, Any] | None:
        stored = await self.references.get_conversation_reference(
            workspace_id=workspace_id, conversation_id=conversation_id
        )
        return json.loads(stored) if stored else None

    async def _any_reference(self, workspace_id: str) -> Mapping[str, Any] | None:
        stored = await self.references.latest_conversation_reference(workspace_id=workspace_id)
        return json.loads(stored) if stored else None
