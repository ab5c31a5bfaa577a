"""HTTP for the brief page: ``GET /brief/{token}`` (HTML), ``?format=json`` (the same data)
and ``?format=ics`` (the calendar feed of the same scope, ``bot.feeds``).

Every answer carries ``Referrer-Policy: no-referrer`` (an offer link followed
from the page never learns its URL, hence its token) and ``Cache-Control:
private``; HTML and JSON have a strong ETag (a hash of the body) and
``If-None-Match`` gets 304, as feeds do. An unknown, malformed or revoked token
gets one 404 with one short line, a brief of a deadline that is gone too; an unknown
``format`` a 400. The token is never logged: log lines name a prefix of its
hash, and ``adapters.feeds.RedactingAccessLogger`` redacts it from access logs.
"""

from __future__ import annotations

import hashlib
import json
import logging

from aiohttp import web

from adapters.brief.page import CONTENT_SECURITY_POLICY, render_page
from adapters.feeds import calendar_response, not_modified, unavailable
from bot.brief import BriefStore, build_brief
from bot.domain import FeedKind
from bot.errors import StorageUnavailable
from bot.feeds import Feeds, log_label
from bot.ports import Clock

log = logging.getLogger("parley.brief")

CACHE_CONTROL = "private"
_BRIEFS = frozenset({FeedKind.BRIEF})
_FORMATS = ("html", "json", "ics")


class BriefPages:
    """What the brief route needs: the tokens (``Feeds``), the reads and the time."""

    def __init__(self, *, feeds: Feeds, store: BriefStore, clock: Clock) -> None:
        self.feeds = feeds
        self.store = store
        self.clock = clock

    async def page(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        wanted = request.query.get("format", "html")
        if wanted not in _FORMATS:
            return _bad_format()
        try:
            scope = await self.feeds.scope_for(token, _BRIEFS)
            if scope is None:
                log.info("brief %s: no such token (unknown or revoked)", log_label(token))
                return not_found()
            if wanted == "ics":
                calendar = await self.feeds.brief_calendar(scope)
                return not_found() if calendar is None else calendar_response(request, calendar)
            brief = await build_brief(store=self.store, scope=scope, now=self.clock.now())
        except StorageUnavailable:
            return unavailable()
        if brief is None:
            return not_found()
        if wanted == "json":
            body = json.dumps(brief.as_json(), ensure_ascii=False, indent=1).encode()
            return _answer(request, body, "application/json")
        html = render_page(brief, token_path=request.path)
        return _answer(request, html.encode(), "text/html", policy=CONTENT_SECURITY_POLICY)


def mount(app: web.Application, *, feeds: Feeds, store: BriefStore, clock: Clock) -> None:
    """Add the brief route (its tokens are kept and checked with the feeds')."""
    pages = BriefPages(feeds=feeds, store=store, clock=clock)
    app.router.add_get("/brief/{token}", pages.page)


def _answer(
    request: web.Request, body: bytes, content_type: str, *, policy: str | None = None
) -> web.Response:
    etag = hashlib.sha256(body).hexdigest()[:32]
    fresh = not_modified(request, etag=etag, last_modified=None)
    response = web.Response(status=304 if fresh else 200)
    response.etag = etag
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Referrer-Policy"] = "no-referrer"
    if fresh:
        return response
    response.body = body
    response.content_type = content_type
    response.charset = "utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if policy is not None:
        response.headers["Content-Security-Policy"] = policy
    return response


def not_found() -> web.Response:
    """The same answer for every token that opens nothing (a browser shows its text)."""
    return web.Response(
        status=404,
        text="No such brief: the link is wrong, or it was revoked.\n",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _bad_format() -> web.Response:
    return web.Response(
        status=400,
        text="Unknown format: use html, json or ics.\n",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
