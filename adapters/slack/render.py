"""Render neutral ``Message`` values as Slack Block Kit (pure functions, no I/O).

Limits kept here, whatever the core composes (the tests check them with
slack_sdk's block models): at most 50 blocks in a message and 100 in a modal
or App Home view, 3,000 characters in a section or context text, 2,000 in a
field, 10 fields in a section, 25 elements in an actions block, and
``action_id`` values unique within a payload (Slack refuses duplicates, while
the core gives all four stance buttons the same action id: ``#<n>`` is
appended and ``parse.base_action_id`` takes it off again). An ``Actions``
block's ``more`` buttons become one overflow menu ("More"), whose chosen option
carries the button's action id and value (``more_choice``).

Text from the core is Slack mrkdwn already (``*bold*``, ``_italic_``,
``<@U123>`` mentions); ``&``, ``<`` and ``>`` are escaped so a title cannot
ping ``<!channel>`` or forge a link, and only user and channel mentions are
let through, and the core's times (``bot.messages.moment``), which become
Slack date tokens: each viewer reads them in their own zone, and its links
(``bot.messages.link``), which become ``<url|title> (host)``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, assert_never

from bot import views
from bot.messages import (
    MORE_MAX,
    Actions,
    Block,
    Button,
    Countdown,
    Divider,
    Facts,
    Field,
    Fold,
    Form,
    Message,
    Role,
    Text,
    Tone,
    format_local,
    host,
    links_as_text,
    render_links,
    time_left,
)
from bot.usecases.home import Home, home_blocks

JSON = dict[str, Any]

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_MAX = 10
ACTIONS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
FALLBACK_MAX = 3000
VIEW_TITLE_MAX = 24
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
ACTION_MORE = "parley_more"  # the "More" overflow menu; its option says what was chosen
PLACEHOLDER_MAX = 150
METADATA_MAX = 3000

_MENTION = re.compile(r"&lt;([@#])([A-Z0-9]+)(?:\|[^<>]*?)?&gt;")
_MOMENT = re.compile(r"&lt;!at\^([0-9]{1,12})\|([^<>|&]*)&gt;")
# A person of another platform (a linked Teams conversation): named, never a mention.
_FOREIGN = re.compile(
    r"&lt;@([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|29:[^&|<>\s]+)(?:\|([^<>|&]*))?&gt;"
)
FOREIGN_PERSON = "someone in a linked channel"
_DATE_FORMAT = "{date_short_pretty} at {time}"
_ACTION_SUFFIX = "#"


@functools.lru_cache(maxsize=1024)  # help, labels and headings come again and again
def mrkdwn(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` as Slack asks, keeping ``<@U…>`` and ``<#C…>`` mentions,
    and show the core's links as ``<url|title> (host)``; a person Slack cannot resolve
    (a Teams member of a linked set) is shown by name."""
    return render_links(text, _link, _escaped)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, title: str) -> str:
    # Slack gives "|" a meaning inside <…>: a title shows a broken bar in its place.
    return f"<{_escape(url)}|{_escape(title).replace('|', '¦')}> ({_escape(host(url))})"


def _escaped(text: str) -> str:
    escaped = _escape(text)
    if "<" not in text:
        return escaped  # both patterns below start with an escaped "<"
    escaped = _MOMENT.sub(lambda m: f"<!date^{m[1]}^{_DATE_FORMAT}|{m[2]}>", escaped)
    escaped = _MENTION.sub(r"<\1\2>", escaped)
    return _FOREIGN.sub(lambda m: f"@{m[2]}" if m[2] else FOREIGN_PERSON, escaped)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside ``<…>`` or ``&…;``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    bracket = cut.rfind("<")
    if bracket > cut.rfind(">"):
        cut = cut[:bracket]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def plain(text: str, limit: int) -> JSON:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def date_token(due_at: datetime, tz: str) -> str:
    """A Slack date token: each viewer sees the instant in their own zone."""
    fallback = format_local(due_at, tz).replace("|", "/")
    return f"<!date^{int(due_at.timestamp())}^{_DATE_FORMAT}|{fallback}>"


def _sections(text: str) -> list[JSON]:
    """One or more mrkdwn sections for ``text`` (split at lines past 3,000 characters)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= SECTION_TEXT_MAX:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = clip(line, SECTION_TEXT_MAX)
    chunks.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c or " "}} for c in chunks]


def _button(button: Button, action_id: str) -> JSON:
    element: JSON = {
        "type": "button",
        "text": plain(button.label, BUTTON_TEXT_MAX),
        "action_id": action_id,
    }
    if button.value:
        element["value"] = button.value[:BUTTON_VALUE_MAX]
    if button.url:
        element["url"] = button.url
    if button.tone is not Tone.DEFAULT:
        element["style"] = button.tone.value
    return element


def _overflow(buttons: Sequence[Button], action_id: str) -> JSON:
    """A "More" menu: each option's value is ``<action id>|<value>`` (``more_choice``)."""
    options: list[JSON] = []
    for button in buttons[:MORE_MAX]:
        option: JSON = {
            "text": plain(button.label, OPTION_TEXT_MAX),
            "value": f"{button.action_id}|{button.value}"[:OPTION_VALUE_MAX],
        }
        if button.url:
            option["url"] = button.url
        options.append(option)
    return {"type": "overflow", "action_id": action_id, "options": options}


def more_choice(value: str) -> tuple[str, str]:
    """The core's action id and value of a "More" option (``_overflow``)."""
    action_id, _, rest = value.partition("|")
    return action_id, rest


def base_action_id(action_id: str) -> str:
    """The core's action id of a rendered button (``parley_stance#3`` -> ``parley_stance``)."""
    return action_id.split(_ACTION_SUFFIX, 1)[0]


def render_block(block: Block, *, now: datetime, index: int = 0) -> list[JSON]:
    """One neutral block as Block Kit blocks; ``index`` keeps action ids unique."""
    match block:
        case Text(body=body, role=role):
            text = mrkdwn(body)
            if role is Role.MUTED:
                element = {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_MAX) or " "}
                return [{"type": "context", "elements": [element]}]
            if role is Role.HEADING and "*" not in text:
                text = f"*{text}*"
            return _sections(text)
        case Facts(pairs=pairs):
            fields = [
                {
                    "type": "mrkdwn",
                    "text": clip(f"*{mrkdwn(label)}*\n{mrkdwn(value)}", FIELD_TEXT_MAX),
                }
                for label, value in pairs
            ]
            return [
                {"type": "section", "fields": fields[start : start + FIELDS_MAX]}
                for start in range(0, len(fields), FIELDS_MAX)
            ]
        case Countdown(due_at=due_at, tz=tz, status=status):
            state = status or time_left(due_at, now)
            text = f":alarm_clock: Due {date_token(due_at, tz)} · _{state}_"
            return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        case Actions(buttons=buttons, more=more):
            elements = [
                _button(b, f"{b.action_id}{_ACTION_SUFFIX}{index}.{n}")
                for n, b in enumerate(buttons)
            ]
            if more:
                elements.append(_overflow(more, f"{ACTION_MORE}{_ACTION_SUFFIX}{index}"))
            return [
                {"type": "actions", "elements": elements[start : start + ACTIONS_MAX]}
                for start in range(0, len(elements), ACTIONS_MAX)
            ]
        case Form(title=title, value=value):
            # A message cannot hold inputs: offer a button that opens the form as a modal.
            opener = Button(title, views.ACTION_OPEN_FORM, value, Tone.PRIMARY)
            return render_block(Actions((opener,)), now=now, index=index)
        case Fold(button=button):
            # A message cannot unfold: the button asks for the whole text.
            return render_block(Actions((button,)), now=now, index=index) if button else []
        case Divider():
            return [{"type": "divider"}]
        case _:
            assert_never(block)


def render_blocks(blocks: Iterable[Block], *, now: datetime, limit: int) -> list[JSON]:
    """All blocks, cut to ``limit`` with a closing "not shown" note when too many."""
    rendered: list[JSON] = []
    for index, block in enumerate(blocks):
        rendered.extend(render_block(block, now=now, index=index))
    if len(rendered) > limit:
        hidden = len(rendered) - (limit - 1)
        note = f"… {hidden} more blocks not shown."
        rendered = [*rendered[: limit - 1], *render_block(Text(note, Role.MUTED), now=now)]
    return rendered


def render_message(message: Message, *, now: datetime) -> JSON:
    """``{"text", "blocks"}`` for chat.postMessage, a response_url or an ack body."""
    # With blocks, the text is only the notification: links show their host there.
    fallback = links_as_text(message.fallback) if message.blocks else message.fallback
    text = clip(mrkdwn(fallback), FALLBACK_MAX) or " "
    payload: JSON = {"text": text}
    if message.blocks:
        payload["blocks"] = render_blocks(message.blocks, now=now, limit=MESSAGE_BLOCKS_MAX)
    return payload


def find_form(message: Message) -> Form | None:
    return next((b for b in message.blocks if isinstance(b, Form)), None)


def _input(field: Field) -> JSON:
    element: JSON
    if field.kind == "choice":
        options = [
            {"text": plain(c.label, OPTION_TEXT_MAX), "value": c.value} for c in field.choices
        ]
        element = {
            "type": "static_select",
            "action_id": field.name,
            "placeholder": plain("Choose…", PLACEHOLDER_MAX),
            "options": options,
        }
        initial = next((o for o in options if o["value"] == field.initial), None)
        if initial is not None:
            element["initial_option"] = initial
    else:
        element = {
            "type": "plain_text_input",
            "action_id": field.name,
            "multiline": field.kind == "multiline",
        }
        if field.max_length:
            element["max_length"] = min(field.max_length, 3000)
        if field.initial:
            element["initial_value"] = field.initial
    if field.placeholder:
        element["placeholder"] = plain(field.placeholder, PLACEHOLDER_MAX)
    return {
        "type": "input",
        "block_id": field.name,
        "label": plain(field.label, FIELD_TEXT_MAX),
        "optional": not field.required,
        "element": element,
    }


def render_modal(message: Message, *, private_metadata: str, now: datetime) -> JSON:
    """A modal view for a message holding a ``Form``: its other blocks, then one input per field."""
    form = find_form(message)
    if form is None:
        raise ValueError("render_modal needs a message with a Form block")
    others = [b for b in message.blocks if not isinstance(b, Form)]
    inputs = [_input(f) for f in form.fields]
    blocks = render_blocks(others, now=now, limit=VIEW_BLOCKS_MAX - len(inputs)) + inputs
    if len(private_metadata) > METADATA_MAX:
        raise ValueError("private_metadata is longer than Slack's 3,000 characters")
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "title": plain(form.title, VIEW_TITLE_MAX),
        "submit": plain(form.submit_label, VIEW_TITLE_MAX),
        "close": plain("Cancel", VIEW_TITLE_MAX),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def form_errors(block_ids: Sequence[str], errors: Mapping[str, str]) -> dict[str, str]:
    """``FormError.errors`` keyed by the modal's input block ids (a field's name is its block id).

    A message about no particular field (or an unknown one) goes on the first input.
    """
    first = block_ids[0] if block_ids else "stance"
    shown: dict[str, str] = {}
    for name, text in errors.items():
        block_id = name if name in block_ids else first
        shown[block_id] = f"{shown[block_id]} {text}" if block_id in shown else text
    return {k: clip(v, FIELD_TEXT_MAX) for k, v in shown.items()}


def home_view(home: Home, *, now: datetime) -> JSON:
    """The App Home tab: deadlines the user owns, and those waiting for their position."""
    return {
        "type": "home",
        "blocks": render_blocks(home_blocks(home, now=now), now=now, limit=VIEW_BLOCKS_MAX),
    }
