"""Render a neutral ``Message`` as plain text for a terminal (pure functions)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import assert_never

from bot.messages import (
    MENTION,
    Actions,
    Audience,
    Block,
    Countdown,
    Divider,
    Facts,
    Form,
    Message,
    Role,
    Text,
    format_local,
    time_left,
)

_EMPHASIS = re.compile(r"(?<!\w)[*_]([^*_\n]+)[*_](?!\w)")


def plain(text: str) -> str:
    """Mentions as @name and mrkdwn emphasis removed."""
    return _EMPHASIS.sub(r"\1", MENTION.sub(r"@\1", text)).replace("`", "")


def render_block(block: Block, *, now: datetime) -> list[str]:
    match block:
        case Text(body=body, role=role):
            text = plain(body)
            if role is Role.HEADING:
                return [f"== {text} =="]
            if role is Role.MUTED:
                return [f"   {line}" for line in text.splitlines()]
            return text.splitlines()
        case Facts(pairs=pairs):
            return [f"  {plain(label)}: {plain(value)}" for label, value in pairs]
        case Countdown(due_at=due_at, tz=tz):
            return [f"  Due {format_local(due_at, tz)} ({tz}) — {time_left(due_at, now)}"]
        case Actions(buttons=buttons):
            links = [f"{b.label}: {b.url}" for b in buttons if b.url]
            labels = [f"[{b.label}]" for b in buttons if not b.url]
            return ([f"  {' '.join(labels)}"] if labels else []) + [f"  {link}" for link in links]
        case Form(fields=fields):
            names = ", ".join(f.name for f in fields)
            return [
                f"  (a form with {names}: in the shell, type "
                "/position <ref> <stance> [as <party>] [<terms>])"
            ]
        case Divider():
            return ["  ----"]
        case _:
            assert_never(block)


def render_message(message: Message, *, now: datetime) -> str:
    lines: list[str] = []
    for block in message.blocks:
        lines.extend(render_block(block, now=now))
    if not lines:
        lines = plain(message.fallback).splitlines()
    match message.audience:
        case Audience.EPHEMERAL:
            prefix = "(only you) "
        case Audience.DIRECT:
            prefix = f"(direct message to @{message.user_id}) "
        case Audience.CHANNEL:
            prefix = ""
        case _:
            assert_never(message.audience)
    return prefix + "\n".join(lines) if prefix and lines else "\n".join(lines)
