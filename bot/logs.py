"""Logging: text or one JSON object per line, with request fields, and never a secret.

``configure_logging(settings)`` installs one handler on the root logger (the
composition root calls it once). Every record that reaches it passes these filters:

- ``RequestFields`` adds the current request's fields (``request_id``,
  ``workspace``, ``command``, ``outcome``) from a context variable that the web
  adapter sets per request (see ``start_request``);
- ``Redactor`` first cuts the record's message, exception text and stack to a
  bounded size (``MESSAGE_MAX``, ``EXCEPTION_MAX``: whoever sends a megabyte
  must not make the event loop run every pattern over it), then rewrites
  them, at every level and for every logger (aiohttp's access log, bolt,
  SQLAlchemy included): Slack tokens (``xoxb-...``, ``xapp-...``), Bearer and
  Basic credentials and whole ``Authorization`` values, JWTs, passwords in
  URLs, feed tokens and event links in ``/calendar/...`` paths, brief tokens in
  ``/brief/...`` paths, Slack
  response URLs (``hooks.slack.com/...`` and any ``response_url`` value: each
  lets its holder post into a channel for 30 minutes), secret-looking query
  parameters (the Socket Mode websocket URL's ``ticket`` included), Slack
  request signatures, and the configured secret values themselves (signing
  secret, bot token, app token, client secret, app password, the database
  password) wherever they appear;
- aiosqlite's DEBUG statement trace (it carries query parameters) is dropped,
  and so is everything below WARNING from the platform SDKs
  (``QUIET_LIBRARIES``): at DEBUG and INFO they log whole request and
  response bodies (bolt logs the body of every request with a bad signature),
  and bodies carry titles, positions and red lines.

The request fields live in one mutable ``LogFields`` per request, set with
``start_request`` in the task aiohttp runs the request in (one task per
request, so nothing has to be reset). Tasks started while handling the request
(bolt runs listeners in tasks) copy the context and so share the object: what
they learn (the workspace, the command, the outcome) shows in the request's
access log line too, which aiohttp writes from the request's task at the end.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from bot.config import Settings

REDACTED = "[redacted]"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A record's message and its exception text are cut to these many characters.
MESSAGE_MAX = 4096
EXCEPTION_MAX = 16384
# Text past the cut that is redacted with it, so that a secret straddling the
# cut is replaced whole rather than leaving its first part behind.
_CUT_OVERLAP = 4096
# Loggers (and their children) whose records below WARNING are never written.
QUIET_LIBRARIES = ("slack_bolt", "slack_sdk", "msrest", "botbuilder", "botframework")


# --- request fields -----------------------------------------------------------
@dataclass
class LogFields:
    """What is known about the request being handled; ``None`` = not known (yet)."""

    request_id: str | None = None
    workspace: str | None = None
    command: str | None = None
    outcome: str | None = None

    def items(self) -> Iterator[tuple[str, str]]:
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if value is not None:
                yield name, value


_FIELD_NAMES = tuple(item.name for item in fields(LogFields))


_current: ContextVar[LogFields | None] = ContextVar("parley_log_fields", default=None)


def current_fields() -> LogFields | None:
    return _current.get()


def start_request(request_id: str) -> LogFields:
    """Fields for the request handled in the current task (and the tasks it starts)."""
    bound = LogFields(request_id=request_id)
    _current.set(bound)
    return bound


class RequestFields(logging.Filter):
    """Copies the bound request fields onto each record (``extra=`` values win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _current.get()
        if bound is not None:
            for name, value in bound.items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True


# --- redaction ----------------------------------------------------------------
# Each pattern, its replacement, and the words of which every match holds one (in
# lower case): a line holding none of them, as most lines do, is left as it is
# without running the pattern (see ``may_match``).
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    # A whole Authorization header value, whatever its scheme, in dict reprs,
    # JSON and "Name: value" forms.
    (
        re.compile(r"""(?i)(['"]?(?:proxy-)?authorization['"]?\s*[:=]\s*['"]?)[^'",\r\n}]+"""),
        r"\g<1>" + REDACTED,
        ("authorization",),
    ),
    (
        re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
        r"\g<1> " + REDACTED,
        ("bearer", "basic"),
    ),
    # Slack tokens: bot, user, app-level, refresh, configuration.
    (re.compile(r"\bxox[a-z]{1,2}-[A-Za-z0-9-]+"), REDACTED, ("xox",)),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), REDACTED, ("xapp-",)),
    (re.compile(r"\bxoxe\.[A-Za-z0-9.-]+"), REDACTED, ("xoxe.",)),
    # JWTs (Bot Framework tokens).
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        REDACTED,
        ("eyj",),
    ),
    # Slack request signatures.
    (re.compile(r"\bv0=[0-9a-fA-F]{16,}"), "v0=" + REDACTED, ("v0=",)),
    # Slack response URLs post into a channel without any other credential.
    (
        re.compile(r"(?i)(hooks\.slack\.com(?:/|%2F))[^\s\"'&,<>)}]+"),
        r"\g<1>" + REDACTED,
        ("hooks.slack.com",),
    ),
    (
        re.compile(r"""(?i)(['"]?response_url['"]?\s*[:=]\s*['"]?)[^'"\s,&}]+"""),
        r"\g<1>" + REDACTED,
        ("response_url",),
    ),
    # user:password@ in URLs.
    (
        re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@"),
        r"\g<1>" + REDACTED + "@",
        ("://",),
    ),
    # Calendar feed and brief tokens (the token is the secret); adapters.feeds
    # already writes "~<hash prefix>" labels instead, which stay.
    (
        re.compile(r"(/calendar/(?:event/)?)(?!~)[^/\s?#\"'<>]+?(?=\.ics|[/\s?#\"'<>]|$)"),
        r"\g<1>" + REDACTED,
        ("/calendar/",),
    ),
    (
        re.compile(r"(/brief/)(?!~)[^/\s?#\"'<>]+"),
        r"\g<1>" + REDACTED,
        ("/brief/",),
    ),
    # Secret-looking query or form parameters.
    (
        re.compile(
            r"(?i)\b((?:access_|refresh_|bot_|id_)?token|client_secret|code|state|password"
            r"|secret|signature|sig|api_key|ticket)=[^&\s\"',]+"
        ),
        r"\g<1>=" + REDACTED,
        # ticket: the Socket Mode websocket URL's, which lets its holder connect as the app.
        (
            "token=",
            "secret=",
            "code=",
            "state=",
            "password=",
            "signature=",
            "sig=",
            "api_key=",
            "ticket=",
        ),
    ),
)
_WORDS = tuple(word for _, _, words in _PATTERNS for word in words)


def may_match(text: str) -> bool:
    """False when no redaction pattern can match ``text``: it holds none of their words.

    Only for ASCII text: a case-insensitive pattern also matches a few other
    letters (``ſ`` for ``s``, ``K`` for ``k``) that lowering the text would not
    turn into the word. Running a dozen patterns over an access-log line cost
    more than the rest of writing it."""
    if not text.isascii():
        return True
    lowered = text.lower()
    # A plain loop: a generator expression here cost as much as the checks themselves.
    for word in _WORDS:  # noqa: SIM110
        if word in lowered:
            return True
    return False


class Redactor(logging.Filter):
    """Rewrites every record so that no secret reaches any handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is replaced whole.
        values = {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(values, key=len, reverse=True)
        self._secret_pattern = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    def redact(self, text: str) -> str:
        if self._secret_pattern is not None and any(s in text for s in self._secrets):
            text = self._secret_pattern.sub(REDACTED, text)
        if may_match(text):
            for pattern, replacement, _ in _PATTERNS:
                text = pattern.sub(replacement, text)
        return text

    def redact_bounded(self, text: str, limit: int) -> str:
        """``text`` redacted and cut to about ``limit`` characters; only the part
        kept (and a little past it) is ever scanned."""
        if len(text) <= limit:
            return self.redact(text)
        redacted = self.redact(text[: limit + _CUT_OVERLAP])
        return f"{redacted[:limit]}… [{len(text) - limit} more characters not logged]"

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redact_bounded(message, MESSAGE_MAX)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact_bounded(record.exc_text, EXCEPTION_MAX)
        if record.stack_info:
            record.stack_info = self.redact_bounded(record.stack_info, EXCEPTION_MAX)
        return True


def configured_secrets(settings: Settings) -> list[str]:
    """The secret values in ``settings``: redacted verbatim wherever they appear."""
    values = [
        settings.slack_signing_secret,
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_client_secret,
        settings.microsoft_app_password,
    ]
    password = urlsplit(settings.database_url).password
    if password:
        values += [password, unquote(password)]
    return values


# --- formats ------------------------------------------------------------------
_EXTRA_FIELDS = ("request_id", "workspace", "command", "outcome")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then what is known."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """logging's own format, the date and time part made once a second."""
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
        return f"{self._stamp},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return line
        head, newline, rest = line.partition("\n")
        return f"{head} [request {request_id}]{newline}{rest}"


def no_statement_parameters(record: logging.LogRecord) -> bool:
    """aiosqlite traces every statement with its parameters at DEBUG: titles, terms,
    event uids. Those lines are never written, whatever LOG_LEVEL says."""
    return not (record.name.startswith("aiosqlite") and record.levelno < logging.INFO)


def no_library_chatter(record: logging.LogRecord) -> bool:
    """Platform SDKs log request and response bodies below WARNING: never written."""
    return record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LIBRARIES)


def make_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler in the configured format, with the request and redaction filters."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(no_statement_parameters)
    handler.addFilter(no_library_chatter)
    handler.addFilter(RequestFields())
    handler.addFilter(Redactor(configured_secrets(settings)))
    return handler


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one configured handler; return it."""
    # Where each call was made from, and the thread and process names: no format writes
    # them, and finding them took a tenth of the time of a line (logging's HOWTO,
    # "Optimization").
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = make_handler(settings, stream)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LIBRARIES:
        # Their records below WARNING would be dropped anyway: not even made.
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
