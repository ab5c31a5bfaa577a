"""Render a neutral ``Message`` as plain text for a terminal (pure functions).

Times inside text (``bot.messages.moment``) are shown in the viewer's zone
(``parley shell --tz``) when it is given, else as written (the deadline's zone).
A button that stands for a command prints that command: a console has no buttons,
and a link (``bot.messages.link``) prints its URL after its title.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import assert_never

from bot.messages import (
    CHANNEL,
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
    moments_as_written,
    render_links,
    render_moments,
    time_left,
)

_EMPHASIS = re.compile(r"(?<!\w)[*_]([^*_\n]+)[*_](?!\w)")


def plain(text: str) -> str:
    """Mentions as @name, conversations as #name, mrkdwn emphasis removed, and links
    as ``title (url)``."""
    return render_links(text, lambda url, title: f"{title} ({url})", _plain)


def _plain(text: str) -> str:
    text = CHANNEL.sub(r"#\1", MENTION.sub(r"@\1", text))
    return _EMPHASIS.sub(r"\1", text).replace("`", "")


def local_moments(text: str, tz: str | None) -> str:
    """Times inside ``text`` in zone ``tz`` (as written when None)."""
    if tz is None:
        return moments_as_written(text)
    return render_moments(text, lambda at, _written: format_local(at, tz))


def render_block(block: Block, *, now: datetime, tz: str | None = None) -> list[str]:
    """One block as lines; ``tz`` is the viewer's zone for times inside text."""
    match block:
        case Text(body=body, role=role):
            text = plain(local_moments(body, tz))
            if role is Role.HEADING:
                return [f"== {text} =="]
            if role is Role.MUTED:
                return [f"   {line}" for line in text.splitlines()]
            return text.splitlines()
        case Facts(pairs=pairs):
            return [f"  {plain(label)}: {plain(value)}" for label, value in pairs]
        case Countdown(due_at=due_at, tz=zone, status=status):
            state = status or time_left(due_at, now)
            return [f"  Due {format_local(due_at, zone)} ({zone}) — {state}"]
        case Actions(buttons=buttons):
            links = [f"{b.label}: {b.url}" for b in buttons if b.url]
            commands = [f"{b.label}: type {b.command}" for b in buttons if b.command]
            labels = [f"[{b.label}]" for b in buttons if not b.url and not b.command]
            lines = [f"  {' '.join(labels)}"] if labels else []
            return lines + [f"  {line}" for line in links + commands]
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


def render_message(message: Message, *, now: datetime, tz: str | None = None) -> str:
    """The message as console text; ``tz`` is the viewer's zone for times inside text."""
    lines: list[str] = []
    for block in message.blocks:
        lines.extend(render_block(block, now=now, tz=tz))
    if not lines:
        lines = plain(local_moments(message.fallback, tz)).splitlines()
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
