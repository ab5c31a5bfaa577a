"""A local fake of the Slack Web API, reached by the real clients through SLACK_API_URL.

It records every call (``calls``), answers like Slack does for the methods
Parley uses, and fails on demand: ``fail("chat.postMessage", status=429,
retry_after=2)`` answers the next call with HTTP 429 and ``Retry-After``,
``status=500`` with a server error, ``error="channel_not_found"`` with
``{"ok": false, "error": ...}``; ``chaos(method, choose)`` fails calls at
random (``choose()`` returns None, 429, a 5xx status or an error code per call);
``hold(method)`` keeps its calls unanswered until the returned event is set.
Each recorded ``Call`` says how it was answered (``status``, ``error``,
``accepted``) and when it arrived (``at``, ``time.monotonic()``). It also serves
response URLs (``response_url("r1")``), recorded as calls to ``response_url``.
``apps.connections.open`` answers ``socket_url`` (a ``FakeSocketMode``'s ws:// URL)
to an app-level token (``xapp-…``), and ``not_allowed_token_type`` to any other.

Tests wait on what arrives, never on the clock::

    async with FakeSlackApi() as slack:
        settings = load_settings(slack_api_url=slack.api_url, ...)
        ...
        [call] = await slack.wait_for("chat.postMessage")
        assert call.params["channel"] == "C1"
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local_server import LocalServer

RESPONSE_URL = "response_url"
Answer = dict[str, Any] | Callable[["Call"], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", ... or "response_url"
    params: dict[str, Any]  # query, form and JSON body merged; JSON-in-form values decoded
    token: str | None  # the bearer token, if any
    headers: dict[str, str]
    key: str = ""  # for response URLs: the key in the URL
    status: int = 200  # the HTTP status the fake answered
    error: str | None = None  # the Slack error code it answered, if any
    at: float = field(default_factory=time.monotonic)  # arrival, time.monotonic()

    @property
    def accepted(self) -> bool:
        """Slack took the request (HTTP 200 and ``"ok": true``)."""
        return self.status == 200 and self.error is None


@dataclass(frozen=True)
class Failure:
    status: int = 200
    retry_after: int | None = None
    error: str | None = None


@dataclass
class FakeSlackApi(LocalServer):
    """An aiohttp server on 127.0.0.1 (a free port) playing the Slack Web API."""

    team_id: str = "T1"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    socket_url: str = ""  # what apps.connections.open answers (see FakeSocketMode)
    calls: list[Call] = field(default_factory=list)
    _answers: dict[str, Answer] = field(default_factory=dict)
    _failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    _chaos: dict[str, tuple[Callable[[], int | str | None], int]] = field(default_factory=dict)
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL (ends with a slash, like Slack's)."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.base_url}/response/{key}"

    # --- programming the fake ---------------------------------------------
    def answer(self, method: str, answer: Answer) -> None:
        """Answer ``method`` with this JSON (or this function of the call) from now on."""
        self._answers[method] = answer

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` calls to ``method`` (429 with Retry-After, 5xx, or an error)."""
        if status == 200 and error is None:
            raise ValueError("say how to fail: status (429, 500, ...) or error")
        for _ in range(times):
            self._failures[method].append(Failure(status, retry_after, error))

    def hold(self, method: str) -> asyncio.Event:
        """Keep calls to ``method`` waiting (recorded, unanswered) until the event is set."""
        release = self._holds[method] = asyncio.Event()
        return release

    def chaos(
        self, method: str, choose: Callable[[], int | str | None], *, retry_after: int = 1
    ) -> None:
        """From now on ask ``choose()`` how to answer each call to ``method`` (after any
        queued ``fail``): None answers normally, 429 rate-limits with ``retry_after``,
        a 5xx status is a server error, a string is that Slack error code."""
        self._chaos[method] = (choose, retry_after)

    def _failure_for(self, method: str) -> Failure | None:
        queued = self._failures.get(method)
        if queued:
            return queued.popleft()
        if method in self._chaos:
            choose, retry_after = self._chaos[method]
            match choose():
                case None:
                    return None
                case str() as error:
                    return Failure(error=error)
                case int() as status:
                    return Failure(status=status, retry_after=retry_after)
        return None

    def set_user(self, user_id: str, *, tz: str, name: str = "") -> None:
        self.users[user_id] = {"id": user_id, "name": name or user_id.lower(), "tz": tz}

    # --- reading what arrived ---------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        within: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` calls to ``method`` (matching ``where``) have arrived."""

        def matching() -> list[Call]:
            return [c for c in self.calls_to(method) if where is None or where(c)]

        await self._wait_until(lambda: len(matching()) >= count, within)
        return matching()

    # --- handlers ------------------------------------------------------------
    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        await self._note_arrival()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        for name in ("blocks", "view", "attachments"):
            if isinstance(params.get(name), str):
                params[name] = json.loads(params[name])
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else params.get("token")
        arrived = time.monotonic()
        failure = self._failure_for(method)
        call = Call(
            method=method,
            params=params,
            token=token,
            headers=dict(request.headers),
            status=failure.status if failure else 200,
            error=failure.error if failure else None,
            at=arrived,
        )
        await self._record(call)
        if method in self._holds:
            await self._holds[method].wait()
        if failure is not None:
            if failure.status == 429:
                retry_after = 1 if failure.retry_after is None else failure.retry_after
                headers = {"Retry-After": str(retry_after)}
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers=headers
                )
            if failure.status >= 500:
                return web.Response(status=failure.status, text="upstream connect error")
            return web.json_response({"ok": False, "error": failure.error})
        answer = self._answers.get(method)
        if answer is not None:
            return web.json_response(answer(call) if callable(answer) else answer)
        return web.json_response(self._default(call))

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await request.json()
        failure = self._failure_for(RESPONSE_URL)
        status = 404 if failure is not None and failure.status == 200 else 200
        if failure is not None and failure.status != 200:
            status = failure.status
        call = Call(
            method=RESPONSE_URL,
            params=params,
            token=None,
            headers=dict(request.headers),
            key=request.match_info["key"],
            status=status,
        )
        await self._record(call)
        if status != 200:
            return web.Response(status=status)
        return web.Response(text="ok")

    def _default(self, call: Call) -> dict[str, Any]:
        params = call.params
        match call.method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "parley",
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "bot_id": self.bot_id,
                    "is_enterprise_install": False,
                }
            case "users.info":
                user_id = str(params.get("user", ""))
                user = self.users.get(user_id, {"id": user_id, "name": user_id.lower()})
                return {"ok": True, "user": {"tz": "UTC", **user}}
            case "chat.postMessage":
                ts = f"{1_800_000_000 + next(self._ts)}.000100"
                channel = str(params.get("channel", ""))
                message = {"text": params.get("text", ""), "ts": ts, "bot_id": self.bot_id}
                return {"ok": True, "channel": channel, "ts": ts, "message": message}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": f"{1_800_000_000 + next(self._ts)}.000200"}
            case "views.open" | "views.publish" | "views.update" | "views.push":
                view = params.get("view") or {}
                return {"ok": True, "view": {"id": f"V{next(self._ts)}", **view}}
            case "conversations.open":
                return {"ok": True, "channel": {"id": f"D{params.get('users', 'X')}"}}
            case "oauth.v2.access":
                return self.oauth_access(str(params.get("code", "")))
            case "apps.connections.open":
                if not (call.token or "").startswith("xapp-"):
                    return {"ok": False, "error": "not_allowed_token_type"}
                return {"ok": True, "url": self.socket_url}
            case _:
                return {"ok": True}

    def oauth_access(self, code: str) -> dict[str, Any]:
        """What oauth.v2.access answers for an install into ``team_id``."""
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "U1"},
            "scope": "commands,chat:write,users:read,im:write",
            "token_type": "bot",
            "access_token": f"xoxb-{self.team_id}-installed",
            "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": "Acme"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
