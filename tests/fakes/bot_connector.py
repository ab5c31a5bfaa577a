"""A local fake of the Bot Connector service, reached through the activities' ``serviceUrl``.

The real botbuilder ``ConnectorClient`` talks to it exactly as it talks to
Teams. It records every request (``calls``) and answers the way the Bot
Connector REST API (v3) does for what Parley uses:

- ``POST /v3/conversations/{id}/activities`` (send) and
  ``POST /v3/conversations/{id}/activities/{activityId}`` (reply in a thread)
  -> ``{"id": <new activity id>}``;
- ``PUT /v3/conversations/{id}/activities/{activityId}`` (update a card);
- ``POST /v3/conversations`` (create a 1:1 conversation) ->
  ``{"id": "a:<user>", "activityId": …}``;
- ``GET /v3/conversations/{id}/members/{memberId}`` -> the member, with the
  ``aadObjectId`` set by ``add_member``;
- ``GET /v3/teams/{teamId}/conversations`` (channels) -> ``{"conversations":
  [{"id", "name"}]}`` from ``channels``.

``fail(kind, status=403, code="ConversationBlockedByUser")`` answers the
next ``times`` requests of a kind (``send``, ``reply``, ``update``,
``create``, ``member``, ``channels``) with that status, a Bot Framework error body and,
for 429, a ``Retry-After`` header. Tests wait on what arrives::

    async with FakeBotConnector() as connector:
        [call] = await connector.wait_for("reply")
        assert call.conversation_id == "19:general@thread.tacv2"
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local_server import LocalServer

CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    kind: str  # send | reply | update | create | member
    conversation_id: str
    activity_id: str  # the replied-to or updated activity ("" otherwise)
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The Adaptive Cards attached to the activity sent."""
        return [
            a["content"] for a in self.body.get("attachments") or () if a.get("contentType") == CARD
        ]

    @property
    def card(self) -> dict[str, Any]:
        [card] = self.cards
        return card

    @property
    def card_text(self) -> str:
        """Every string shown on the card (texts, facts, button titles), one per line."""
        return "\n".join(_strings(self.card))


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        out: list[str] = []
        for key, value in node.items():
            if key in ("text", "title", "value", "label", "fallbackText") and isinstance(
                value, str
            ):
                out.append(value)
            elif key not in ("data",):
                out.extend(_strings(value))
        return out
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    retry_after: int | None


@dataclass
class FakeBotConnector(LocalServer):
    """An aiohttp server on 127.0.0.1 (a free port) playing the Bot Connector."""

    calls: list[Call] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, str | None] = field(default_factory=dict)  # id -> name (None: General)
    _failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        app.router.add_get("/v3/teams/{team}/conversations", self._channels)

    @property
    def service_url(self) -> str:
        """The value for an activity's ``serviceUrl`` (Teams' end with a slash)."""
        return f"{self.base_url}/"

    # --- programming the fake ---------------------------------------------
    def fail(
        self,
        kind: str,
        *,
        status: int,
        code: str = "",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests of ``kind`` with ``status``."""
        for _ in range(times):
            self._failures[kind].append(Failure(status, code or f"Http{status}", retry_after))

    def add_member(self, member_id: str, *, aad_object_id: str, name: str) -> None:
        self.members[member_id] = {"id": member_id, "aadObjectId": aad_object_id, "name": name}

    # --- reading what arrived ---------------------------------------------
    def calls_to(self, kind: str, *, conversation: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.kind == kind and (conversation is None or c.conversation_id == conversation)
        ]

    @property
    def messages(self) -> list[Call]:
        """Every activity posted (sent or replied), in order of arrival."""
        return [c for c in self.calls if c.kind in ("send", "reply")]

    async def wait_for(
        self,
        *kinds: str,
        count: int = 1,
        within: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` requests of these kinds (matching ``where``) have arrived."""
        wanted = kinds or ("send", "reply")

        def matching() -> list[Call]:
            return [c for c in self.calls if c.kind in wanted and (where is None or where(c))]

        await self._wait_until(lambda: len(matching()) >= count, within)
        return matching()

    # --- handlers ------------------------------------------------------------
    async def _record(self, request: web.Request, kind: str) -> web.Response | None:
        body = await request.json() if request.can_read_body else {}
        call = Call(
            kind=kind,
            conversation_id=request.match_info.get("conversation", ""),
            activity_id=request.match_info.get("activity", ""),
            body=body,
            headers=dict(request.headers),
        )
        self.calls.append(call)
        await self._note_arrival()
        queued = self._failures.get(kind)
        if queued:
            failure = queued.popleft()
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            error = {"error": {"code": failure.code, "message": f"fake connector: {failure.code}"}}
            return web.json_response(error, status=failure.status, headers=headers)
        return None

    def _new_id(self) -> str:
        return f"1{next(self._ids):012d}"

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send") or web.json_response({"id": self._new_id()})

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply") or web.json_response({"id": self._new_id()})

    async def _update(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "update")
        return failed or web.json_response({"id": request.match_info["activity"]})

    async def _create(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "create")
        if failed:
            return failed
        body = self.calls[-1].body
        members = body.get("members") or [{}]
        return web.json_response(
            {"id": f"a:{members[0].get('id', 'someone')}", "activityId": self._new_id()}, status=201
        )

    async def _channels(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "channels")
        if failed:
            return failed
        listed = [{"id": key, "name": name} for key, name in self.channels.items()]
        return web.json_response({"conversations": listed})

    async def _member(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "member")
        if failed:
            return failed
        member = self.members.get(request.match_info["member"])
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFound"}}, status=404)
        return web.json_response(member)
