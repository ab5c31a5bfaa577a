"""HTTP for calendar feeds: ``GET /calendar/{token}.ics`` and ``GET /calendar/event/{link}.ics``
(``link`` is ``<uid>.<signature>``, see ``bot.feeds``).

Answers are ``text/calendar; charset=utf-8`` with a strong ETag (a hash of the
body) and Last-Modified; ``If-None-Match`` (or, without it, ``If-Modified-Since``)
gets 304. ``Cache-Control: private, max-age=300``: a feed is personal, so shared
caches must not keep it. An unknown, malformed or revoked token or event link
gets a bare 404, the same for each, so a guess learns nothing.

The token is a secret in the path: nothing here logs it, and
``RedactingAccessLogger`` (used by ``adapters.web.serve``) writes access-log
lines with the token replaced by a short prefix of its hash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bot.calendar import CalendarDocument
from bot.errors import StorageUnavailable
from bot.feeds import Feeds, log_label
from bot.service import FeedLinks

log = logging.getLogger("parley.feeds")

FEEDS = web.AppKey("feeds", Feeds)
CACHE_CONTROL = "private, max-age=300"
_SECRET_PATH = re.compile(r"(/calendar/(?:event/)?)([^/?#\s\"]+?)(\.ics)|(/brief/)([^/?#\s\"]+)")


def mount(app: web.Application, feeds: FeedLinks | None) -> None:
    """Add the feed routes when calendar feeds are enabled (``feeds`` is a ``Feeds``)."""
    if not isinstance(feeds, Feeds):
        return
    app[FEEDS] = feeds
    app.router.add_get("/calendar/event/{link}.ics", event_calendar)
    app.router.add_get("/calendar/{token}.ics", feed_calendar)


async def feed_calendar(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    try:
        found = await request.app[FEEDS].feed(token)
    except StorageUnavailable:
        return unavailable()
    if found is None:
        log.info("calendar feed %s: no such token (unknown or revoked)", log_label(token))
        return not_found()
    return calendar_response(request, found)


async def event_calendar(request: web.Request) -> web.StreamResponse:
    link = request.match_info["link"]
    try:
        found = await request.app[FEEDS].event(link)
    except StorageUnavailable:
        return unavailable()
    if found is None:
        return not_found()
    return calendar_response(request, found, filename="deadline.ics")


def calendar_response(
    request: web.Request, found: CalendarDocument, *, filename: str | None = None
) -> web.Response:
    fresh = not_modified(request, etag=found.etag, last_modified=found.last_modified)
    response = web.Response(status=304 if fresh else 200)
    response.etag = found.etag
    if found.last_modified is not None:
        response.last_modified = found.last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.status == 304:
        return response
    response.body = found.body
    response.content_type = "text/calendar"
    response.charset = "utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def not_modified(request: web.Request, *, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison);
    If-Modified-Since only without it."""
    if "If-None-Match" in request.headers:
        tags = request.if_none_match or ()
        return any(tag.value in ("*", etag) for tag in tags)
    since = request.if_modified_since
    if since is None or last_modified is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def not_found() -> web.Response:
    return web.Response(status=404, headers={"Cache-Control": "no-store"})


def unavailable() -> web.Response:
    return web.Response(status=503, headers={"Retry-After": "60", "Cache-Control": "no-store"})


def redact(text: str) -> str:
    """``/calendar/<token>.ics`` -> ``/calendar/~<hash prefix>.ics`` (also event uids),
    and ``/brief/<token>`` -> ``/brief/~<hash prefix>``."""
    if "/calendar/" not in text and "/brief/" not in text:  # every match holds one of them
        return text
    return _SECRET_PATH.sub(_label, text)


def _label(match: re.Match[str]) -> str:
    if match[4]:
        return f"{match[4]}~{log_label(match[5])}"
    return f"{match[1]}~{log_label(match[2])}{match[3]}"


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access log, with feed tokens in paths, query strings and headers redacted."""

    def _format_line(
        self, request: BaseRequest, response: StreamResponse, time: float
    ) -> Iterable[tuple[str | tuple[str, str], str]]:
        # Despite the annotation some values are ints (the status): redact strings only.
        return [
            (key, redact(value) if isinstance(value, str) else value)
            for key, value in super()._format_line(request, response, time)
        ]
