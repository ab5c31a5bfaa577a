"""Turn Bot Framework activities (their JSON) into the core's inputs (pure functions, no I/O).

- Workspace: ``teams:<tenant id>`` (``channelData.tenant.id``, else
  ``conversation.tenantId``; the Bot Framework Emulator sends neither and gets
  ``teams:emulator``).
- Channel: the conversation id without Teams' ``;messageid=…`` thread suffix,
  so a command typed in a reply thread belongs to its channel.
- User: ``from.aadObjectId`` (stable across conversations, accepted by Teams
  for 1:1 messages), else ``from.id``. Mentions of other people become
  ``<@id>`` by the same rule; the bot's own ``<at>Parley</at>`` is removed.
- Time zone: ``localTimezone``, else the ``clientInfo`` entity's ``timezone``,
  else ``UTC`` (an unknown name is ignored).
- People: only mentions Teams sent as entities, with an AAD object id (given,
  or looked up by the handler), count as people (``Context.mentioned``); a
  personal chat is ``Context.direct``.

Card clicks arrive as a message whose ``value`` is the ``Action.Submit`` data,
or as an ``adaptiveCard/action`` invoke carrying it in ``value.action.data``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.teams.render import ACTION_KEY, FORM_KEY, VALUE_KEY
from bot.domain import Context

JSON = Mapping[str, Any]

PLATFORM = "teams"
PREFIX = "teams:"
EMULATOR_TENANT = "emulator"
NO_IDS: Mapping[str, str] = MappingProxyType({})

_AT = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\u00a0]+")
_HOLD = "\x00"
_HELD = re.compile(r"\x00(\d+)\x00")


def _dict(value: Any) -> JSON:
    return value if isinstance(value, Mapping) else {}


def tenant_of(activity: JSON) -> str:
    tenant = _dict(_dict(activity.get("channelData")).get("tenant")).get("id")
    return str(tenant or _dict(activity.get("conversation")).get("tenantId") or EMULATOR_TENANT)


def workspace_id(activity: JSON) -> str:
    return f"{PREFIX}{tenant_of(activity)}"


def tenant_id_of(workspace: str) -> str:
    """``teams:<tenant>`` -> ``<tenant>``; ``ValueError`` for another platform's workspace."""
    if not workspace.startswith(PREFIX):
        raise ValueError(f"not a Teams workspace id: {workspace!r}")
    return workspace[len(PREFIX) :]


def base_conversation_id(conversation_id: str) -> str:
    """``19:abc@thread.tacv2;messageid=123`` -> ``19:abc@thread.tacv2``."""
    return conversation_id.split(";", 1)[0]


def conversation_id(activity: JSON) -> str:
    return base_conversation_id(str(_dict(activity.get("conversation")).get("id") or ""))


def is_personal(activity: JSON) -> bool:
    return _dict(activity.get("conversation")).get("conversationType") == "personal"


def group_id(activity: JSON) -> str:
    """What one installation covers: the team, or else the chat itself."""
    team = _dict(_dict(activity.get("channelData")).get("team")).get("id")
    return str(team or conversation_id(activity))


def conversation_names(activity: JSON) -> dict[str, str]:
    """The conversation names an activity carries: its channel's (``channelData.channel``,
    on channel events and some messages) and a named group chat's (``conversation.name``)."""
    found: dict[str, str] = {}
    channel = _dict(_dict(activity.get("channelData")).get("channel"))
    if channel.get("id") and isinstance(channel.get("name"), str):
        found[base_conversation_id(str(channel["id"]))] = channel["name"]
    conversation = _dict(activity.get("conversation"))
    if conversation.get("name") and isinstance(conversation.get("name"), str):
        found.setdefault(conversation_id(activity), conversation["name"])
    return found


def channel_team(activity: JSON) -> str | None:
    """The team a channel conversation belongs to (whose channels the connector lists)."""
    if _dict(activity.get("conversation")).get("conversationType") != "channel":
        return None
    team = _dict(_dict(activity.get("channelData")).get("team")).get("id")
    return str(team) if team else None


def account_user_id(account: JSON) -> str:
    return str(account.get("aadObjectId") or account.get("id") or "")


def _valid_zone(name: Any) -> str | None:
    if not isinstance(name, str) or ("/" not in name and name != "UTC"):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def timezone_of(activity: JSON) -> str:
    zone = _valid_zone(activity.get("localTimezone"))
    if zone:
        return zone
    for entity in activity.get("entities") or ():
        if _dict(entity).get("type") == "clientInfo":
            zone = _valid_zone(entity.get("timezone"))
            if zone:
                return zone
    return "UTC"


def is_user_id(value: str) -> bool:
    """Whether ``value`` may be a person's id, not a conversation's (``19:…@thread…``,
    ``a:…`` personal chats): a direct message goes only to the former."""
    return bool(value) and not value.startswith(("19:", "a:")) and "@thread" not in value


def context(activity: JSON, mentioned: frozenset[str] = frozenset()) -> Context:
    sender = _dict(activity.get("from"))
    return Context(
        workspace_id=workspace_id(activity),
        channel_id=conversation_id(activity),
        user_id=account_user_id(sender),
        user_name=str(sender.get("name") or ""),
        tz=timezone_of(activity),
        platform=PLATFORM,
        direct=is_personal(activity),
        mentioned=mentioned,
    )


# --- commands ----------------------------------------------------------------


def _mentions(activity: JSON) -> list[JSON]:
    return [
        _dict(e)
        for e in activity.get("entities") or ()
        if _dict(e).get("type") == "mention" and _dict(_dict(e).get("mentioned"))
    ]


def unresolved_mentions(activity: JSON) -> list[str]:
    """Ids (``29:…``) of people mentioned without an ``aadObjectId`` (the bot excluded)."""
    bot_id = _dict(activity.get("recipient")).get("id")
    return [
        str(m["mentioned"]["id"])
        for m in _mentions(activity)
        if m["mentioned"].get("id") != bot_id and not m["mentioned"].get("aadObjectId")
    ]


def mentioned_people(activity: JSON, aad_ids: Mapping[str, str] = NO_IDS) -> frozenset[str]:
    """The AAD object ids of the people mentioned (the bot and unresolved ids left out)."""
    bot_id = _dict(activity.get("recipient")).get("id")
    found = set()
    for mention in _mentions(activity):
        who = mention["mentioned"]
        aad = who.get("aadObjectId") or aad_ids.get(str(who.get("id") or ""))
        if who.get("id") != bot_id and aad and is_user_id(str(aad)):
            found.add(str(aad))
    return frozenset(found)


def command_text(activity: JSON, aad_ids: Mapping[str, str] = NO_IDS) -> str:
    """The typed words: the bot's mention removed, other mentions as ``<@id>``.

    ``aad_ids`` maps ``29:…`` ids of mentioned people to their AAD object ids,
    for mentions that came without one.
    """
    text = str(activity.get("text") or "")
    bot_id = _dict(activity.get("recipient")).get("id")
    by_text: dict[str, str | None] = {}
    for mention in _mentions(activity):
        who = mention["mentioned"]
        tag = str(mention.get("text") or f"<at>{who.get('name', '')}</at>")
        if who.get("id") == bot_id:
            by_text[tag] = None
        else:
            raw = str(who.get("id") or "")
            by_text[tag] = str(who.get("aadObjectId") or aad_ids.get(raw) or raw)

    people: list[str] = []

    def replace(match: re.Match[str]) -> str:
        person = by_text.get(match.group(0))
        if person is None:
            # The bot's own mention, or a mention without its entity: dropped.
            return ""
        people.append(person)
        return f" {_HOLD}{len(people) - 1}{_HOLD} "

    # Mentions are held aside while the HTML Teams may add is taken out.
    text = _AT.sub(replace, text)
    text = html.unescape(_TAG.sub(" ", text.replace("<br>", "\n")))
    text = _HELD.sub(lambda m: f"<@{people[int(m.group(1))]}>", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True, slots=True)
class Typed:
    """A command typed after @Parley (or in a personal chat)."""

    ctx: Context
    command: str  # "deadline" or "position" (anything else: the core explains)
    text: str


def typed(activity: JSON, aad_ids: Mapping[str, str] = NO_IDS) -> Typed:
    """The command in a message; an empty message asks for ``deadline help``."""
    words = command_text(activity, aad_ids).split(maxsplit=1)
    name = words[0].lstrip("/").lower() if words else "help"
    ctx = context(activity, mentioned_people(activity, aad_ids))
    if name == "help":
        return Typed(ctx=ctx, command="deadline", text="help")
    return Typed(ctx=ctx, command=name, text=words[1] if len(words) > 1 else "")


# --- card clicks ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Press:
    ctx: Context
    action_id: str
    value: str


@dataclass(frozen=True, slots=True)
class Submission:
    ctx: Context
    form_id: str
    value: str
    fields: dict[str, str]


def card_data(activity: JSON) -> JSON | None:
    """The ``Action.Submit`` data of a click, from a message or an ``adaptiveCard/action``."""
    value = _dict(activity.get("value"))
    if activity.get("type") == "invoke":
        if activity.get("name") != "adaptiveCard/action":
            return None
        value = _dict(_dict(value.get("action")).get("data"))
    if ACTION_KEY in value or FORM_KEY in value:
        return value
    return None


def card_action(activity: JSON) -> Press | Submission | None:
    data = card_data(activity)
    if data is None:
        return None
    ctx = context(activity)
    if FORM_KEY in data:
        fields = {
            str(k): "" if v is None else str(v)
            for k, v in data.items()
            if k not in (FORM_KEY, VALUE_KEY, "msteams")
        }
        return Submission(
            ctx=ctx,
            form_id=str(data[FORM_KEY]),
            value=str(data.get(VALUE_KEY) or ""),
            fields=fields,
        )
    return Press(ctx=ctx, action_id=str(data[ACTION_KEY]), value=str(data.get(VALUE_KEY) or ""))


# --- installation ----------------------------------------------------------------

Membership = Literal["added", "removed", "channel_deleted"]


def membership(activity: JSON) -> Membership | None:
    """Whether this activity installs Parley, removes it, or deletes a channel."""
    kind = activity.get("type")
    bot_id = _dict(activity.get("recipient")).get("id")
    if kind == "installationUpdate":
        action = str(activity.get("action") or "")
        if action.startswith("add"):
            return "added"
        if action.startswith("remove"):
            return "removed"
        return None
    if kind != "conversationUpdate":
        return None
    event = _dict(activity.get("channelData")).get("eventType")
    if event == "teamDeleted":
        return "removed"
    if event == "channelDeleted":
        return "channel_deleted"
    if any(_dict(m).get("id") == bot_id for m in activity.get("membersRemoved") or ()):
        return "removed"
    if any(_dict(m).get("id") == bot_id for m in activity.get("membersAdded") or ()):
        return "added"
    return None


def deleted_channel_id(activity: JSON) -> str:
    channel = _dict(_dict(activity.get("channelData")).get("channel")).get("id")
    return base_conversation_id(str(channel or ""))


def conversation_reference(activity: JSON) -> dict[str, Any]:
    """What a proactive message to this conversation needs (Bot Framework
    ``ConversationReference`` JSON): the top-level conversation, never a thread."""
    conversation = dict(_dict(activity.get("conversation")))
    conversation["id"] = conversation_id(activity)
    conversation.setdefault("tenantId", tenant_of(activity))
    reference: dict[str, Any] = {
        "bot": dict(_dict(activity.get("recipient"))),
        "conversation": conversation,
        "channelId": activity.get("channelId") or "msteams",
        "serviceUrl": activity.get("serviceUrl") or "",
    }
    if activity.get("locale"):
        reference["locale"] = activity["locale"]
    return reference


# --- shapes ----------------------------------------------------------------------
# Checked before botbuilder or Parley reads an activity, authenticated or not:
# an ill-typed one is a 400 with one short reason, never a traceback.

_STR = (str, type(None))
_OBJECT = (dict, type(None))
_LIST = (list, type(None))
_TOP_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("id", _STR),
    ("serviceUrl", _STR),
    ("channelId", _STR),
    ("text", _STR),
    ("name", _STR),
    ("action", _STR),
    ("replyToId", _STR),
    ("locale", _STR),
    ("localTimezone", _STR),
    ("from", _OBJECT),
    ("recipient", _OBJECT),
    ("conversation", _OBJECT),
    ("channelData", _OBJECT),
    ("entities", _LIST),
    ("attachments", _LIST),
    ("membersAdded", _LIST),
    ("membersRemoved", _LIST),
)
_ACCOUNT_FIELDS = ("id", "name", "aadObjectId")


def _account_problem(account: Any, where: str) -> str | None:
    if account is None:
        return None
    if not isinstance(account, Mapping):
        return f"{where} is not an object"
    wrong = [name for name in _ACCOUNT_FIELDS if not isinstance(account.get(name), _STR)]
    return f"{where}.{wrong[0]} is not a string" if wrong else None


def activity_problem(activity: Any) -> str | None:
    """Why ``activity`` (parsed JSON) cannot be a Bot Framework activity, or None."""
    if not isinstance(activity, Mapping):
        return "not an activity"
    if not isinstance(activity.get("type"), str) or not activity["type"]:
        return "not an activity: no type"
    for name, kinds in _TOP_FIELDS:
        if not isinstance(activity.get(name), kinds):
            return f"{name} has the wrong type"
    problems = [
        _account_problem(activity.get("from"), "from"),
        _account_problem(activity.get("recipient"), "recipient"),
        _account_problem(activity.get("conversation"), "conversation"),
    ]
    conversation = _dict(activity.get("conversation"))
    if not isinstance(conversation.get("conversationType"), _STR):
        problems.append("conversation.conversationType is not a string")
    if not isinstance(conversation.get("tenantId"), _STR):
        problems.append("conversation.tenantId is not a string")
    channel_data = _dict(activity.get("channelData"))
    for name in ("tenant", "team", "channel"):
        problems.append(_account_problem(channel_data.get(name), f"channelData.{name}"))
    if not isinstance(channel_data.get("eventType"), _STR):
        problems.append("channelData.eventType is not a string")
    for name in ("entities", "attachments", "membersAdded", "membersRemoved"):
        if not all(isinstance(item, Mapping) for item in activity.get(name) or ()):
            problems.append(f"an item of {name} is not an object")
    for entity in activity.get("entities") or ():
        if isinstance(entity, Mapping):
            if not isinstance(entity.get("type"), _STR) or not isinstance(entity.get("text"), _STR):
                problems.append("an entity's type or text is not a string")
            problems.append(_account_problem(entity.get("mentioned"), "entity.mentioned"))
    for member in [*(activity.get("membersAdded") or ()), *(activity.get("membersRemoved") or ())]:
        problems.append(_account_problem(member, "member"))
    return next((problem for problem in problems if problem is not None), None)
