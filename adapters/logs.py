"""Request ids for the aiohttp server, and the route name used by logs and metrics.

``request_context`` (a middleware, outermost) gives each request an id: the
caller's ``X-Request-Id`` when it is a sane token (a proxy's, so one id
follows the request through nginx and Parley), else a new random one. The id
is echoed in the response's ``X-Request-Id`` and set in the log context of
the request's task, so every line logged while handling it carries the id,
and the workspace, command and outcome once a command has run, up to and
including aiohttp's access log line (see ``bot.logs``).
"""

from __future__ import annotations

import re
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.logs import start_request

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(request: web.BaseRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_ID.fullmatch(offered) else secrets.token_hex(8)


def route_of(request: web.BaseRequest) -> str:
    """The matched route's canonical path (``/calendar/{token}.ics``), never the raw URL."""
    match_info = getattr(request, "match_info", None)
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_from(request)
    # aiohttp runs each request in its own task: nothing to reset afterwards.
    start_request(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers[REQUEST_ID_HEADER] = request_id
        raise
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response
