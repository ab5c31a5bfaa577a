"""The neutral outgoing message model: what the core says, before any platform renders it.

A ``Message`` is a tuple of blocks plus a plain-text ``fallback`` (used for
notifications, screen readers and the shell). Each adapter renders blocks with
a pure function (``match`` + ``assert_never``):

- ``Text(body, role)``: a paragraph; ``role`` is body, heading or muted.
  ``body`` may use ``*bold*`` and ``_italic_`` (Slack mrkdwn subset; other
  renderers translate or strip it).
- ``Facts(((label, value), ...))``: label/value pairs (a position matrix row each).
- ``Countdown(due_at, tz, status)``: a due time shown in each viewer's zone, with
  the time left, or the ``status`` of a closed deadline instead.
- ``Actions((Button, ...))``: buttons; ``action_id`` + ``value`` come back on click.
  A button may carry the ``command`` it stands for, which a console prints instead.
- ``Form(...)``: an input form (Slack modal, Teams card form, shell prompt text).
- ``Divider()``.

People are mentioned in text as ``<@id>``, or ``<@id|name>`` with the name to
show; ``MENTION`` matches that form (group 1 the id, group 2 the name) for
every renderer. A conversation is named as ``<#id>`` (``CHANNEL``): Slack shows
the channel, the shell ``#id``, Teams (which has no such link) "its channel". A
``sensitive`` message carries a secret (a feed URL) or buttons that act for
its user alone (a vague time's choices): it is shown only to its user, never
in a shared conversation.

An instant inside text (``moment``) is written as ``<!at^<unix seconds>|<text>>``:
each renderer shows it in the viewer's zone (a Slack date token, Teams
``DATE()``/``TIME()``, the shell's ``--tz``), and ``<text>``, the instant in the
deadline's zone, wherever no viewer is known (notification text, feeds).

A link inside text (``link``) is its URL and title between ``LINK_MARK``s, a
control character no stored text can hold (``bot.sanitize`` strips them at the
core's edge and imports refuse them), so a title typed to look like a link
never becomes one. Renderers show it as a link followed by its host (Slack
``<url|title> (host)``, Teams ``[title](url) (host)``), the shell as
``title (url)``, and plain text (notifications) as ``title (host)``.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

MENTION = re.compile(r"<@([^>|]+)(?:\|([^>]*))?>")
CHANNEL = re.compile(r"<#([^>|]+)>")


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
    status: str = ""  # a closed deadline's status ("met"), shown instead of the time left


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    tone: Tone = Tone.DEFAULT
    url: str | None = None
    command: str = ""  # the command the button runs, for consoles that have no buttons


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

    Past instants read ``"passed 3 hours ago"``; under half a minute reads ``"due
    now"``. The time is rounded, never cut: a deadline 1 h 59 min 59.9 s away is
    "2 hours left", however many milliseconds the message took to render.
    """
    words = duration_words((due_at - now).total_seconds())
    if words is None:
        return "due now"
    return f"passed {words} ago" if due_at < now else f"{words} left"


def duration_words(seconds: float) -> str | None:
    """``"2 days 4 hours"``: to the nearest minute under a day, the nearest hour from
    a day on; None under half a minute."""
    seconds = abs(seconds)
    minutes = int(seconds / 60 + 0.5)
    if minutes == 0:
        return None
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        parts = [_plural(hours, "hour")] if hours else []
        return " ".join([*parts, _plural(minutes, "minute")] if minutes else parts)
    days, hours = divmod(int(seconds / 3600 + 0.5), 24)
    return " ".join([_plural(days, "day")] + ([_plural(hours, "hour")] if hours else []))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


@functools.lru_cache(maxsize=4096)  # the same deadlines are shown over and over
def format_local(due_at: datetime, tz: str) -> str:
    """``Fri 27 Nov 2026 17:00 EST`` in zone ``tz`` (the text form of a Countdown)."""
    local = due_at.astimezone(ZoneInfo(tz))
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or tz)


_MOMENT = re.compile(r"<!at\^([0-9]{1,12})\|([^<>|]*)>")


def moment(at: datetime, tz: str, written: str = "") -> str:
    """An instant inside text, shown to each viewer in their own zone (see the module doc);
    ``written`` (default: the instant in ``tz``) is what readers with no zone see."""
    text = " ".join((written or format_local(at, tz)).replace("|", "/").split())
    return f"<!at^{int(at.timestamp())}|{text.replace('<', '(').replace('>', ')')}>"


def render_moments(text: str, show: Callable[[datetime, str], str]) -> str:
    """Replace each ``moment`` in ``text`` with ``show(instant, text in the deadline's zone)``."""
    return _MOMENT.sub(lambda m: show(datetime.fromtimestamp(int(m[1]), UTC), m[2]), text)


def moments_as_written(text: str) -> str:
    """Each ``moment`` as written, in the deadline's zone (for readers with no zone known)."""
    return render_moments(text, lambda _at, written: written)


LINK_MARK = "\x1f"
_LINK = re.compile(f"{LINK_MARK}([^{LINK_MARK}\\s]+) ([^{LINK_MARK}]*){LINK_MARK}")
_URL_UNSAFE = re.compile(r"[\s<>|\"'`\\^{}\x00-\x1f\x7f]")


def web_link(url: str) -> bool:
    """Whether ``url`` is a plain http(s) link to a host, without credentials."""
    if _URL_UNSAFE.search(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
    )


def host(url: str) -> str:
    """The host a link leads to, shown beside it."""
    return urlsplit(url).hostname or url


def link(title: str, url: str | None) -> str:
    """``title`` inside text as a link to ``url`` (see the module doc); the title
    alone when there is no URL or it is not a ``web_link``."""
    title = " ".join(title.replace(LINK_MARK, "").split())
    if not url or not web_link(url):
        return title
    return f"{LINK_MARK}{url} {title}{LINK_MARK}"


def render_links(
    text: str, show: Callable[[str, str], str], between: Callable[[str], str] = str
) -> str:
    """Each ``link`` in ``text`` as ``show(url, title)``, the text around them as
    ``between(text)`` (a renderer escapes that text its own way)."""
    if LINK_MARK not in text:
        return between(text)
    parts = _LINK.split(text)  # text, url, title, text, url, title, ..., text
    shown = [between(parts[0])]
    for index in range(1, len(parts), 3):
        shown += [show(parts[index], parts[index + 1]), between(parts[index + 2])]
    return "".join(shown)


def links_as_text(text: str) -> str:
    """Each ``link`` as ``title (host)``: notification text, and wherever links cannot show."""
    return render_links(text, lambda url, title: f"{title} ({host(url)})")
