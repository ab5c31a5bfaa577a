"""Render neutral ``Message`` values as Adaptive Cards 1.5 for Teams (pure functions, no I/O).

One ``Message`` becomes one card (``render_card``) plus plain text for the
notification summary and screen readers (``plain``):

- ``Text`` -> ``TextBlock`` (heading: bolder and larger; muted: subtle), wrapped.
  The core writes Slack-style mrkdwn: ``*bold*`` becomes ``**bold**``, inline
  code loses its backticks, and ``<@id>`` mentions become ``@Name`` when the
  name is known (``names``), else ``@a teammate``. Text people typed is in it
  too, so link syntax is taken apart (``unlinked``): a title
  ``[click here](https://evil.example/login)`` shows as typed, never as a
  link whose target is hidden. Bare URLs stay links that show where they go, and
  the core's links (``bot.messages.link``) become ``[title](url) (host)``.
  Cards carry no ``msteams`` mention entities: the 1.5 schema does not allow
  them on a card, and every card Parley sends validates against it.
- ``Facts`` -> ``FactSet``.
- ``Countdown`` -> ``{{DATE(…, SHORT)}} {{TIME(…)}}``, which Teams shows in
  each viewer's own zone, plus the time left when the card was sent (or the
  status of a closed deadline). Times inside text (``bot.messages.moment``)
  become the same functions; the plain text keeps them as written.
- ``Actions`` -> an ``ActionSet`` of ``Action.Submit`` buttons whose data is
  ``{"parley_action": action_id, "value": value}`` (``Action.OpenUrl`` for
  link buttons).
- ``Form`` -> ``Input.ChoiceSet`` / ``Input.Text`` with ``isRequired``,
  ``errorMessage`` and ``maxLength`` (Teams checks them before sending) and an
  ``Action.Submit`` with ``{"parley_form": form_id, "value": value}``; the
  inputs arrive beside those two keys. ``errors`` (field name -> message)
  shows the core's verdict on a submission under each field. The form's own
  ``title`` is for modal headers; a card already has the message's heading.
- ``Divider`` -> a separator line above the next element.

Teams refuses messages over about 28 KB; the core caps list lengths but not
each text (terms may be 3,000 characters, forty rows of them), so a card over
``CARD_MAX_BYTES`` is rendered again with long texts and fact values cut
(``TEXT_LIMITS``) until it fits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, assert_never

from bot.messages import (
    CHANNEL,
    LINK_MARK,
    MENTION,
    Actions,
    Block,
    Button,
    Countdown,
    Divider,
    Facts,
    Field,
    Form,
    Message,
    Role,
    Text,
    Tone,
    host,
    links_as_text,
    moments_as_written,
    render_links,
    render_moments,
    time_left,
)

JSON = dict[str, Any]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ACTION_KEY = "parley_action"
FORM_KEY = "parley_form"
VALUE_KEY = "value"
UNKNOWN_NAME = "a teammate"
NO_NAMES: Mapping[str, str] = MappingProxyType({})
# Teams refuses a message over about 28 KB: long texts are cut until the card fits.
CARD_MAX_BYTES = 24_000
TEXT_LIMITS = (None, 1000, 300, 80)

# AAD object ids (GUIDs) and Bot Framework ids (29:…, 8:orgid:…).
_OPAQUE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|:", re.I)
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]*)`")
# Where a "]" starts an inline link, a reference or a link definition: "](", "][", "]:".
_LINK_SYNTAX = re.compile(r"\](?=[(\[:])")
_ZERO_WIDTH_SPACE = "\u200b"
_TITLE_BRACKETS = str.maketrans("[]", "()")
_STYLE = {Tone.DEFAULT: "default", Tone.PRIMARY: "positive", Tone.DANGER: "destructive"}


def mention_name(user_id: str, names: Mapping[str, str]) -> str:
    """A person's name; an id nobody named reads "a teammate", while a word that is
    no platform id (``<@user>`` in usage lines) stays as written."""
    if user_id in names:
        return names[user_id]
    return UNKNOWN_NAME if _OPAQUE_ID.search(user_id) else user_id


def unlinked(text: str) -> str:
    """``text`` with markdown link syntax broken by an invisible space after the "]".

    Backslash escapes would do in CommonMark, but Teams' mobile clients show the
    backslashes; a zero-width space is invisible everywhere and leaves no link.
    """
    return _LINK_SYNTAX.sub("]" + _ZERO_WIDTH_SPACE, text)


def plain(text: str, names: Mapping[str, str] = NO_NAMES) -> str:
    """Mentions as ``@Name``, emphasis and code marks removed, links as ``title (host)``:
    notification text."""
    text = links_as_text(moments_as_written(text))
    text = MENTION.sub(lambda m: "@" + (m.group(2) or mention_name(m.group(1), names)), text)
    text = CHANNEL.sub("its channel", text)
    text = _BOLD.sub(r"\1", text)
    # Last: names are typed text too, and removed marks may close a "](" gap.
    return unlinked(_CODE.sub(r"\1", text))


def markdown(text: str, names: Mapping[str, str] = NO_NAMES) -> str:
    """The core's mrkdwn as Adaptive Card markdown: no links but bare URLs and the
    core's own (``bot.messages.link``)."""
    text = render_links(text, _link, lambda between: _markdown(between, names))
    # Adaptive Card markdown joins single newlines into one paragraph; keep the lines.
    return text.replace("\n", "\n\n")


def _link(url: str, title: str) -> str:
    """``[title](url) (host)``: brackets in the title would end its text early, and
    Teams' mobile clients show backslash escapes, so they become parentheses; the
    URL's own parentheses are percent-encoded."""
    title = title.translate(_TITLE_BRACKETS)
    url = url.replace("(", "%28").replace(")", "%29")
    return f"[{title}]({url}) ({host(url)})"


def _markdown(text: str, names: Mapping[str, str]) -> str:
    text = render_moments(text, lambda at, _written: local_time(at))
    text = MENTION.sub(lambda m: "@" + (m.group(2) or mention_name(m.group(1), names)), text)
    text = CHANNEL.sub("its channel", text)
    text = _BOLD.sub(r"**\1**", text)
    # Last: names are typed text too, and removed marks may close a "](" gap.
    return unlinked(_CODE.sub(r"\1", text))


def card_time(moment: datetime) -> str:
    """RFC 3339 in UTC without fractions, the form DATE() and TIME() accept."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time(moment: datetime) -> str:
    """``moment`` as Teams shows it: in each viewer's own zone."""
    stamp = card_time(moment)
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def countdown_text(due_at: datetime, now: datetime, status: str = "") -> str:
    return f"Due {local_time(due_at)} · {status or time_left(due_at, now)}"


def _text_block(text: str, role: Role, names: Mapping[str, str]) -> JSON:
    block: JSON = {"type": "TextBlock", "text": markdown(text, names), "wrap": True}
    match role:
        case Role.HEADING:
            block |= {"weight": "Bolder", "size": "Medium"}
        case Role.MUTED:
            block |= {"isSubtle": True, "size": "Small"}
        case Role.BODY:
            pass
        case _:
            assert_never(role)
    return block


def _action(button: Button) -> JSON:
    if button.url:
        return {"type": "Action.OpenUrl", "title": button.label, "url": button.url}
    return {
        "type": "Action.Submit",
        "title": button.label,
        "style": _STYLE[button.tone],
        # A stance button must not wait for (or carry) a form's inputs.
        "associatedInputs": "none",
        "data": {ACTION_KEY: button.action_id, VALUE_KEY: button.value},
    }


def _input(field: Field) -> JSON:
    element: JSON = {"id": field.name, "label": field.label, "isRequired": field.required}
    match field.kind:
        case "choice":
            element |= {
                "type": "Input.ChoiceSet",
                "style": "expanded",
                "choices": [{"title": c.label, "value": c.value} for c in field.choices],
            }
            if field.required:
                element["errorMessage"] = f"Pick a {field.label.lower()}."
        case "text" | "multiline":
            element |= {"type": "Input.Text", "isMultiline": field.kind == "multiline"}
            if field.placeholder:
                element["placeholder"] = field.placeholder
            if field.max_length is not None:
                element["maxLength"] = field.max_length
                element["errorMessage"] = f"At most {field.max_length} characters."
            if field.required:
                element["errorMessage"] = f"{field.label} is required."
        case _:
            assert_never(field.kind)
    if field.initial:
        element["value"] = field.initial
    return element


def _form(form: Form, errors: Mapping[str, str]) -> list[JSON]:
    elements: list[JSON] = []
    for field in form.fields:
        elements.append(_input(field))
        if field.name in errors:
            elements.append(
                {
                    "type": "TextBlock",
                    "text": errors[field.name],
                    "color": "Attention",
                    "wrap": True,
                }
            )
    for name, error in errors.items():
        if name not in {f.name for f in form.fields}:
            elements.append(
                {"type": "TextBlock", "text": error, "color": "Attention", "wrap": True}
            )
    submit = {
        "type": "Action.Submit",
        "title": form.submit_label,
        "style": "positive",
        "data": {FORM_KEY: form.form_id, VALUE_KEY: form.value},
    }
    elements.append({"type": "ActionSet", "actions": [submit]})
    return elements


def clip(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside a link."""
    if limit is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.count(LINK_MARK) % 2:
        cut = cut[: cut.rfind(LINK_MARK)]
    return cut + "…"


def render_block(
    block: Block,
    *,
    now: datetime,
    names: Mapping[str, str],
    errors: Mapping[str, str],
    limit: int | None = None,
) -> list[JSON]:
    """One block's card elements; ``limit`` cuts long texts and fact values."""
    match block:
        case Text(body=body, role=role):
            return [_text_block(clip(body, limit), role, names)]
        case Facts(pairs=pairs):
            facts = [
                {"title": plain(k, names), "value": clip(plain(v, names), limit)} for k, v in pairs
            ]
            return [{"type": "FactSet", "facts": facts}]
        case Countdown(due_at=due_at, status=status):
            text = countdown_text(due_at, now, status)
            return [{"type": "TextBlock", "text": text, "wrap": True}]
        case Actions(buttons=buttons):
            return (
                [{"type": "ActionSet", "actions": [_action(b) for b in buttons]}] if buttons else []
            )
        case Form():
            return _form(block, errors)
        case Divider():
            return []
        case _:
            assert_never(block)


def render_card(
    message: Message,
    *,
    now: datetime,
    names: Mapping[str, str] = NO_NAMES,
    errors: Mapping[str, str] = NO_NAMES,
) -> JSON:
    """The Adaptive Card 1.5 for ``message``, cut to fit in one Teams message."""
    for limit in TEXT_LIMITS:
        body = _body(message, now=now, names=names, errors=errors, limit=limit)
        card = {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "fallbackText": clip(plain(message.fallback, names), limit),
            "body": body,
        }
        if len(json.dumps(card, ensure_ascii=False).encode()) <= CARD_MAX_BYTES:
            break
    return card


def _body(
    message: Message,
    *,
    now: datetime,
    names: Mapping[str, str],
    errors: Mapping[str, str],
    limit: int | None,
) -> list[JSON]:
    body: list[JSON] = []
    separate = False
    for block in message.blocks:
        if isinstance(block, Divider):
            separate = bool(body)
            continue
        elements = render_block(block, now=now, names=names, errors=errors, limit=limit)
        if elements and separate:
            elements[0] = {**elements[0], "separator": True}
            separate = False
        body.extend(elements)
    if not body:
        body = [_text_block(clip(message.fallback, limit), Role.BODY, names)]
    return body
