"""Parley's Teams activity handler: each activity against the core, and its answers delivered.

Where replies go (Teams has no ephemeral messages):

- ``CHANNEL`` messages are replies in the thread the command was typed in; one
  that belongs to another conversation (``Message.channel_id``: a deadline's
  channel, answered from a personal chat) is posted there through its stored
  conversation reference, and shown to the person who acted as well.
- ``EPHEMERAL`` messages (help, errors, lists, the position form) are replies
  in the thread that start with an @mention of the person who typed; in a
  personal chat they are plain replies. A ``sensitive`` message (the calendar
  feed answer carries a secret URL; a vague time's choices act for one person;
  ``home`` lists deadlines of other conversations) always goes to the person's
  1:1 chat with Parley, and the thread hears only "I sent you … in our personal
  chat". A choice clicked there runs its command in the conversation where it
  was typed, and announces there.
- ``DIRECT`` messages go to the person's 1:1 chat, created (or found again:
  Teams answers with the existing one) with their AAD object id in the tenant.

Conversation references (tenant and serviceUrl included) are stored in
Parley's database on installation and refreshed on every activity; removing
the app deletes those of the team or chat it was removed from.

``mount`` serves ``POST /api/messages`` with this handler on one
``TeamsConnection`` and returns the ``TeamsGateway`` that shares it, so alerts
and replies go through one adapter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse

from adapters.replay import ReplayGuard
from adapters.teams import parse, render
from adapters.teams.connection import RAW_ACTIVITY, TeamsConnection, connector, send_direct
from adapters.teams.gateway import ReferenceReads, TeamsGateway
from bot.config import Settings
from bot.errors import (
    DeliveryError,
    FormError,
    ParleyError,
    StorageUnavailable,
    UserError,
    chat_text,
)
from bot.messages import Actions, Audience, Message, Role, Text
from bot.ports import Clock
from bot.service import Parley

log = logging.getLogger("parley.teams")

MESSAGES_PATH = "/api/messages"

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


class ConversationStore(ReferenceReads, Protocol):
    """The conversation references: stored and dropped here, read by the gateway."""

    async def save_conversation_reference(
        self,
        *,
        workspace_id: str,
        conversation_id: str,
        group_id: str,
        reference: str,
        updated_at: datetime,
    ) -> None: ...

    async def delete_conversation_references(
        self, *, workspace_id: str, group_id: str | None = None, conversation_id: str | None = None
    ) -> int: ...


class ParleyTeamsBot(ActivityHandler):  # type: ignore[misc]
    """Runs each Teams activity against the core and delivers what it answers."""

    def __init__(
        self,
        *,
        connection: TeamsConnection,
        service: Parley,
        clock: Clock,
        conversations: ConversationStore,
    ) -> None:
        super().__init__()
        self.connection = connection
        self.service = service
        self.clock = clock
        self.conversations = conversations
        self.elsewhere = TeamsGateway(connection=connection, references=conversations)

    async def on_turn(self, turn_context: Any) -> None:
        raw = _raw(turn_context)
        change = parse.membership(raw)
        workspace = parse.workspace_id(raw)
        if change == "removed":
            removed = await self.conversations.delete_conversation_references(
                workspace_id=workspace, group_id=parse.group_id(raw)
            )
            log.info("Parley removed from %s (%s references dropped)", parse.group_id(raw), removed)
            return
        if change == "channel_deleted":
            await self.conversations.delete_conversation_references(
                workspace_id=workspace, conversation_id=parse.deleted_channel_id(raw)
            )
            return
        if parse.conversation_id(raw) and raw.get("serviceUrl"):
            try:
                await self.conversations.save_conversation_reference(
                    workspace_id=workspace,
                    conversation_id=parse.conversation_id(raw),
                    group_id=parse.group_id(raw),
                    reference=json.dumps(parse.conversation_reference(raw), sort_keys=True),
                    updated_at=self.clock.now(),
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
        await self._deliver(turn_context, raw, messages)

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
                card[0], now=self.clock.now(), names=self.connection.names, errors=card[1]
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
        except UserError as error:
            # Refused (out of reach, closed, not theirs): the card says why, as a form error would.
            return _note(chat_text(error)), {}
        # The form's card becomes the announcement; anything else is delivered as usual.
        announcement = next((m for m in messages if m.audience is Audience.CHANNEL), None)
        rest = [m for m in messages if m is not announcement]
        if rest:
            await self._deliver(turn_context, raw, rest)
        if announcement is not None and _elsewhere(raw, announcement):
            await self._post_elsewhere(turn_context, raw, announcement)
        return (announcement, {}) if announcement is not None else None

    async def _post_elsewhere(
        self, turn_context: Any, raw: Mapping[str, Any], message: Message
    ) -> None:
        """Post ``message`` in its own conversation (a deadline's channel)."""
        try:
            await self.elsewhere.send(
                workspace_id=parse.workspace_id(raw),
                channel_id=message.channel_id or "",
                message=message,
            )
        except DeliveryError as error:
            log.info("could not post in the deadline's conversation: %s", error)
            note = "I could not post this in the deadline's channel; is Parley still installed?"
            await self._reply_to_sender(turn_context, raw.get("from") or {}, _note(note))

    async def _resolve_mentions(self, turn_context: Any, raw: Mapping[str, Any]) -> dict[str, str]:
        """AAD object ids of people mentioned without one (asked through the connector)."""
        found: dict[str, str] = {}
        for member_id in parse.unresolved_mentions(raw):
            try:
                member = await connector(turn_context).conversations.get_conversation_member(
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
    ) -> None:
        sender = raw.get("from") or {}
        personal = parse.is_personal(raw)
        for message in messages:
            if _elsewhere(raw, message):
                await self._post_elsewhere(turn_context, raw, message)
                message = replace(message, audience=Audience.EPHEMERAL, channel_id=None)
            match message.audience:
                case Audience.CHANNEL | Audience.EPHEMERAL if personal:
                    await turn_context.send_activity(self.connection.activity(message))
                case Audience.CHANNEL | Audience.EPHEMERAL if message.sensitive:
                    sent = await self._direct(turn_context, str(sender.get("id") or ""), message)
                    choices = any(isinstance(block, Actions) for block in message.blocks)
                    if sent:
                        what = "the choices" if choices else "the details"
                        note = f"I sent you {what} in our personal chat."
                    elif choices:
                        # Buttons that act for one person: shown here, addressed to them,
                        # they still work for them alone (signed, ``bot.usecases.choices``).
                        await self._reply_to_sender(turn_context, sender, message)
                        continue
                    else:
                        note = (
                            "I couldn't message you privately. Open a chat with Parley "
                            "and type the command there."
                        )
                    await self._reply_to_sender(turn_context, sender, _note(note))
                case Audience.CHANNEL:
                    await turn_context.send_activity(self.connection.activity(message))
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
        if not parse.is_user_id(user_id):
            return False
        try:
            await send_direct(
                connector(turn_context),
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


def _elsewhere(raw: Mapping[str, Any], message: Message) -> bool:
    """A channel message for another conversation than the one the activity came from."""
    return message.audience is Audience.CHANNEL and message.channel_id not in (
        None,
        parse.conversation_id(raw),
    )


def _invoke_message(text: str) -> dict[str, Any]:
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}


def _note(text: str) -> Message:
    return Message(fallback=text, blocks=(Text(text),))


def mount(
    app: web.Application,
    *,
    service: Parley,
    clock: Clock,
    settings: Settings,
    conversations: ConversationStore,
    replay: ReplayGuard,
) -> TeamsGateway:
    """Serve ``POST /api/messages`` on ``app``; return the gateway that posts alerts."""
    connection = TeamsConnection(settings=settings, clock=clock, replay=replay)
    handler = ParleyTeamsBot(
        connection=connection, service=service, clock=clock, conversations=conversations
    )

    async def messages(request: web.Request) -> web.Response:
        return await connection.handle(request, handler)

    app.router.add_post(MESSAGES_PATH, messages)
    return TeamsGateway(connection=connection, references=conversations)
