"""Turn Slack payloads into the core's inputs (pure functions, no I/O).

Slash commands, ``block_actions`` and ``view_submission`` payloads become a
``Context`` (workspace ``slack:<team id>``, Slack's channel and user ids) plus
what the core's entry point needs. Slack escapes ``&``, ``<``, ``>`` in typed
text and writes mentions as ``<@U123|name>``; ``command_text`` gives the core
plain text with mentions as ``<@U123>``. Only what Slack itself linked as a
user (``<@U…>``/``<@W…>`` in the raw text, where typed ``<`` arrives as
``&lt;``) counts as a person (``Context.mentioned``); a command in a DM
(channel ``D…``) or from the App Home is ``Context.direct``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from slack_bolt.request.internals import parse_body

from adapters.slack.render import ACTION_MORE, base_action_id, more_choice
from bot.domain import Context

PLATFORM = "slack"
PREFIX = "slack:"

_ESCAPED_MENTION = re.compile(r"<([@#])([A-Z0-9]+)\|[^<>]*>")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")


def mentioned_users(text: str) -> frozenset[str]:
    """The user ids Slack linked in a command's raw text."""
    return frozenset(_USER_MENTION.findall(text))


def is_user_id(value: str) -> bool:
    """A Slack user id (``U…``, or ``W…`` on Enterprise Grid), not a channel's."""
    return _USER_ID.fullmatch(value) is not None


def is_direct(channel_id: str) -> bool:
    """A DM (``D…``), or no channel at all (the App Home)."""
    return not channel_id or channel_id.startswith("D")


def workspace_id(team_id: str) -> str:
    return f"{PREFIX}{team_id}"


def team_id_of(workspace: str) -> str:
    """``slack:T123`` -> ``T123``; ``ValueError`` for another platform's workspace."""
    if not workspace.startswith(PREFIX):
        raise ValueError(f"not a Slack workspace id: {workspace!r}")
    return workspace[len(PREFIX) :]


def request_payload(body: str, content_type: str | None) -> Any:
    """A request body as bolt reads it (``parse_body``): JSON, a ``payload=`` form field
    holding JSON, or a form. A plain form (every slash command) is read here in one
    pass, as ``dict(parse_qsl(body, keep_blank_values=True))`` reads it: bolt's way
    took a tenth of the CPU time of ``/deadline help``."""
    if content_type == "application/json" or body.startswith("{") or "payload" in body:
        return parse_body(body, content_type)
    fields: dict[str, str] = {}
    for pair in body.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields[unquote(name.replace("+", " "))] = unquote(value.replace("+", " "))
    return fields


def command_text(text: str) -> str:
    """Typed text as the core reads it: mentions ``<@U123>``, entities unescaped."""
    text = _ESCAPED_MENTION.sub(r"<\1\2>", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


@dataclass(frozen=True, slots=True)
class SlashCommand:
    ctx: Context
    command: str  # "deadline" or "position"
    text: str
    response_url: str
    trigger_id: str


def slash_command(body: Mapping[str, Any], *, tz: str = "UTC") -> SlashCommand:
    ctx = Context(
        workspace_id=workspace_id(body["team_id"]),
        channel_id=body["channel_id"],
        user_id=body["user_id"],
        user_name=body.get("user_name", ""),
        tz=tz,
        platform=PLATFORM,
        direct=is_direct(body["channel_id"]) or body.get("channel_name") == "directmessage",
        mentioned=mentioned_users(body.get("text", "")),
    )
    return SlashCommand(
        ctx=ctx,
        command=body["command"].lstrip("/").lower(),
        text=command_text(body.get("text", "")),
        response_url=body.get("response_url", ""),
        trigger_id=body.get("trigger_id", ""),
    )


def _team(body: Mapping[str, Any]) -> str:
    team = body.get("team") or {}
    user = body.get("user") or {}
    return str(team.get("id") or user.get("team_id") or body.get("team_id") or "")


@dataclass(frozen=True, slots=True)
class Press:
    """A click on one of Parley's buttons."""

    ctx: Context
    action_id: str  # the core's action id (the render suffix is removed)
    value: str
    trigger_id: str
    response_url: str
    in_direct_message: bool  # the button sits in a DM (or the App Home), not in a channel


def press(body: Mapping[str, Any], *, tz: str = "UTC") -> Press:
    action = body["actions"][0]
    user = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or ""
    container = body.get("container") or {}
    in_direct = (
        not channel
        or channel.startswith("D")
        or container.get("type") == "view"
        or (body.get("channel") or {}).get("name") == "directmessage"
    )
    ctx = Context(
        workspace_id=workspace_id(_team(body)),
        channel_id=channel,
        user_id=user["id"],
        user_name=user.get("username") or user.get("name") or "",
        tz=tz,
        platform=PLATFORM,
        direct=in_direct,
        mentioned=frozenset(),
    )
    action_id, value = base_action_id(action.get("action_id") or ""), action.get("value") or ""
    if action_id == ACTION_MORE:  # an option of a "More" menu: it names the action
        action_id, value = more_choice(str((action.get("selected_option") or {}).get("value", "")))
    return Press(
        ctx=ctx,
        action_id=action_id,
        value=value,
        trigger_id=body.get("trigger_id") or "",
        response_url=body.get("response_url") or "",
        in_direct_message=in_direct,
    )


@dataclass(frozen=True, slots=True)
class ModalState:
    """What a position modal carries in ``private_metadata``: where its result goes."""

    value: str  # the Form's value (the deadline id)
    channel_id: str  # where the recorded position is announced
    response_url: str = ""  # the slash command's, when the modal came from one

    def encode(self) -> str:
        return json.dumps({"v": self.value, "c": self.channel_id, "r": self.response_url})

    @classmethod
    def decode(cls, text: str) -> ModalState:
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        return cls(
            value=str(data.get("v", "")),
            channel_id=str(data.get("c", "")),
            response_url=str(data.get("r", "")),
        )


@dataclass(frozen=True, slots=True)
class Submission:
    ctx: Context
    form_id: str
    state: ModalState
    fields: dict[str, str]


def _field_value(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option") or {}
        return str(option.get("value", ""))
    return str(element.get("value") or "")


def submission(body: Mapping[str, Any], *, tz: str = "UTC") -> Submission:
    """A ``view_submission``: field values by block id (the core's field names)."""
    view = body["view"]
    state = ModalState.decode(view.get("private_metadata") or "")
    values: Mapping[str, Mapping[str, Any]] = (view.get("state") or {}).get("values") or {}
    fields = {
        block_id: _field_value(element)
        for block_id, elements in values.items()
        for element in elements.values()
    }
    user = body.get("user") or {}
    ctx = Context(
        workspace_id=workspace_id(_team(body)),
        channel_id=state.channel_id,
        user_id=user["id"],
        user_name=user.get("username") or user.get("name") or "",
        tz=tz,
        platform=PLATFORM,
        direct=is_direct(state.channel_id),
        mentioned=frozenset(),
    )
    return Submission(ctx=ctx, form_id=view.get("callback_id") or "", state=state, fields=fields)


def deadline_id_of(value: str) -> str:
    """The deadline id inside a Parley button value (``"12|support"`` or ``"12"``)."""
    return value.partition("|")[0]


# --- shapes -------------------------------------------------------------------------
# Checked before bolt or Parley reads a payload: an ill-typed one (signed or not)
# is a 400 with one short reason, never a traceback.

_Kinds = type | tuple[type, ...]
_OPTIONAL_STR = (str, type(None))
_OPTIONAL_DICT = (dict, type(None))


def _wrong(body: Mapping[str, Any], name: str, kinds: _Kinds, where: str = "") -> str | None:
    if isinstance(body.get(name), kinds):
        return None
    return f"{where}{name} has the wrong type"


def _first_problem(*problems: str | None) -> str | None:
    return next((problem for problem in problems if problem is not None), None)


def _account(body: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        return f"{name} is missing" if required else None
    if not isinstance(value, dict):
        return f"{name} has the wrong type"
    return _wrong(value, "id", str if required else _OPTIONAL_STR, f"{name}.")


def _actions(body: Mapping[str, Any]) -> str | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "actions is not a list of actions"
    for action in actions:
        if not isinstance(action, dict):
            return "an action is not an object"
        problem = _first_problem(
            _wrong(action, "action_id", str, "action."),
            _wrong(action, "value", _OPTIONAL_STR, "action."),
            _wrong(action, "block_id", _OPTIONAL_STR, "action."),
            _wrong(action, "selected_option", _OPTIONAL_DICT, "action.")
            or _wrong(action.get("selected_option") or {}, "value", _OPTIONAL_STR, "option."),
        )
        if problem:
            return problem
    return _first_problem(
        _account(body, "user", required=True),
        _account(body, "channel", required=False),
        _account(body, "team", required=False),
    )


def _view(body: Mapping[str, Any]) -> str | None:
    view = body.get("view")
    if not isinstance(view, dict):
        return "view is not an object"
    problem = _first_problem(
        _wrong(view, "callback_id", _OPTIONAL_STR, "view."),
        _wrong(view, "private_metadata", _OPTIONAL_STR, "view."),
        _wrong(view, "state", _OPTIONAL_DICT, "view."),
        _wrong(view, "blocks", (list, type(None)), "view."),
        _account(body, "user", required=True),
        _account(body, "team", required=False),
    )
    if problem:
        return problem
    if not all(isinstance(block, dict) for block in view.get("blocks") or ()):
        return "a view block is not an object"
    if any(not isinstance(block.get("block_id", ""), str) for block in view.get("blocks") or ()):
        return "view block_id has the wrong type"
    values = (view.get("state") or {}).get("values") or {}
    if not isinstance(values, dict):
        return "view.state.values is not an object"
    for elements in values.values():
        if not isinstance(elements, dict) or not all(
            isinstance(e, dict) for e in elements.values()
        ):
            return "a view input is not an object"
        for element in elements.values():
            problem = _first_problem(
                _wrong(element, "type", _OPTIONAL_STR, "input."),
                _wrong(element, "selected_option", _OPTIONAL_DICT, "input."),
            )
            if problem:
                return problem
    return None


def _event(body: Mapping[str, Any]) -> str | None:
    event = body.get("event")
    if not isinstance(event, dict):
        return "event is not an object"
    return _first_problem(
        _wrong(body, "event_id", str),
        _wrong(event, "type", str, "event."),
        _wrong(event, "user", _OPTIONAL_STR, "event."),
        _wrong(event, "tab", _OPTIONAL_STR, "event."),
    )


def payload_problem(body: Any) -> str | None:
    """Why ``body`` (a parsed request) cannot be one of the payloads Parley handles,
    or None. Payloads of other kinds are left to bolt, which answers 404."""
    if not isinstance(body, dict):
        return "the payload is not an object"
    common = _first_problem(
        _wrong(body, "type", _OPTIONAL_STR),
        _wrong(body, "team", (str, dict, type(None))),
        _wrong(body, "team_id", _OPTIONAL_STR),
        _wrong(body, "enterprise", (str, dict, type(None))),
        _wrong(body, "authorizations", (list, type(None))),
        _wrong(body, "container", _OPTIONAL_DICT),
        _wrong(body, "response_url", _OPTIONAL_STR),
        _wrong(body, "trigger_id", _OPTIONAL_STR),
    )
    if common:
        return common
    if not all(isinstance(a, dict) for a in body.get("authorizations") or ()):
        return "an authorization is not an object"
    if "command" in body:
        missing = [
            name for name in ("command", "team_id", "channel_id", "user_id") if not body.get(name)
        ]
        return f"{missing[0]} is missing" if missing else None
    match body.get("type"):
        case "block_actions":
            return _actions(body)
        case "view_submission":
            return _view(body)
        case "event_callback":
            return _event(body)
    return None
