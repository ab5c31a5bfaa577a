"""The neutral outgoing message model: what the core says, before any platform renders it.

A ``Message`` is a tuple of blocks plus a plain-text ``fallback`` (used for
notifications, screen readers and the shell). Each adapter renders blocks with
a pure function (``match`` + ``assert_never``):

- ``Text(body, role)``: a paragraph; ``role`` is body, heading or muted.
  ``body`` may use ``*bold*`` and ``_italic_`` (Slack mrkdwn subset; other
  renderers translate or strip it).
- ``Facts(((label, value), ...))``: label/value pairs (a position matrix row each).
- ``Countdown(due_at, tz)``: a due time shown in each viewer's zone, with time left.
- ``Actions((Button, ...))``: buttons; ``action_id`` + ``value`` come back on click.
- ``Form(...)``: an input form (Slack modal, Teams card form, shell prompt text).
- ``Divider()``.

People are mentioned in text as ``<@id>``, or ``<@id|name>`` with the name to
show; ``MENTION`` matches that form (group 1 the id, group 2 the name) for
every renderer. A ``sensitive`` message carries a secret (a feed URL): it is
shown only to its user, never in a shared conversation.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

MENTION = re.compile(r"<@([^>|]+)(?:\|([^>]*))?>")


class Role(enum.StrEnum):
    BODY = "body"
    HEADING = "heading"
    MUTED = "muted"


class Tone(enum.StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


class Audience(enum.StrEnum):
    CHANNEL = "channel"  # everyone in the conversation sees it
    EPHEMERAL = "ephemeral"  # only ``Message.user_id`` sees it, in the conversation
    DIRECT = "direct"  # a private (DM) conversation with ``Message.user_id``


@dataclass(frozen=True, slots=True)
class Text:
    body: str
    role: Role = Role.BODY


@dataclass(frozen=True, slots=True)
class Facts:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Countdown:
    due_at: datetime  # aware, UTC
    tz: str  # the IANA zone the deadline was set in (the fallback shows it)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    tone: Tone = Tone.DEFAULT
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Actions:
    buttons: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a form. ``kind`` choice renders a select of ``choices``."""

    name: str
    label: str
    kind: Literal["choice", "text", "multiline"]
    required: bool = False
    initial: str = ""
    placeholder: str = ""
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class Form:
    """An input form. ``form_id`` and ``value`` come back with the submission."""

    form_id: str
    title: str
    submit_label: str
    fields: tuple[Field, ...]
    value: str = ""


@dataclass(frozen=True, slots=True)
class Divider:
    pass


Block = Text | Facts | Countdown | Actions | Form | Divider


@dataclass(frozen=True, slots=True)
class Message:
    fallback: str
    blocks: tuple[Block, ...] = ()
    audience: Audience = Audience.EPHEMERAL
    user_id: str | None = None  # EPHEMERAL: who sees it; DIRECT: who receives it
    channel_id: str | None = None  # None: the conversation the command came from
    thread_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    sensitive: bool = False  # see the module docstring; Teams sends it to the 1:1 chat


def time_left(due_at: datetime, now: datetime) -> str:
    """Words for the time between ``now`` and ``due_at``: ``"2 days 4 hours left"``.

    Past instants read ``"passed 3 hours ago"``; under a minute reads ``"due now"``.
    """
    seconds = int((due_at - now).total_seconds())
    past = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "due now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts: list[str] = []
    if days:
        parts.append(_plural(days, "day"))
        if hours:
            parts.append(_plural(hours, "hour"))
    elif hours:
        parts.append(_plural(hours, "hour"))
        if minutes:
            parts.append(_plural(minutes, "minute"))
    else:
        parts.append(_plural(minutes, "minute"))
    words = " ".join(parts)
    return f"passed {words} ago" if past else f"{words} left"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


@functools.lru_cache(maxsize=4096)  # the same deadlines are shown over and over
def format_local(due_at: datetime, tz: str) -> str:
    """``Fri 27 Nov 2026 17:00 EST`` in zone ``tz`` (the text form of a Countdown)."""
    local = due_at.astimezone(ZoneInfo(tz))
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or tz)
