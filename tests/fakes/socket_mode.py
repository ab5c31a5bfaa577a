"""A local fake of Slack's Socket Mode end: the websocket an app connects to.

The fake Slack Web API answers ``apps.connections.open`` with ``ws_url`` (set
``FakeSlackApi.socket_url``); the app's Socket Mode client connects here and is
greeted with ``hello``, as Slack greets it. A test then sends envelopes as
Slack does and reads the acknowledgements the app sends back::

    async with FakeSocketMode() as socket:
        api.socket_url = socket.ws_url
        ...  # start the app
        await socket.connected()
        envelope = await socket.send("slash_commands", slash_command_payload(...))
        ack = await socket.ack_of(envelope)
        assert ack["payload"]["response_type"] == "in_channel"

``disconnect()`` asks the app to reconnect (Slack's ``disconnect`` message),
which makes it open a new URL and a new connection.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.local_server import LocalServer

PATH = "/link"


@dataclass
class FakeSocketMode(LocalServer):
    """An aiohttp websocket server on 127.0.0.1 playing Slack's Socket Mode."""

    app_id: str = "A1"
    connections: int = 0  # connections opened so far
    acks: list[dict[str, Any]] = field(default_factory=list)  # every message the app sent
    unreadable: list[str] = field(default_factory=list)  # text frames that are not JSON
    _open: list[web.WebSocketResponse] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self._link)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}{PATH}"

    async def stop(self) -> None:
        for ws in list(self._open):
            await ws.close()
        await super().stop()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self._open.append(ws)
        hello = {
            "type": "hello",
            "num_connections": len(self._open),
            "connection_info": {"app_id": self.app_id},
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
        }
        await ws.send_str(json.dumps(hello))
        await self._note_arrival()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    self.acks.append(json.loads(message.data))
                except ValueError:
                    self.unreadable.append(message.data)
                await self._note_arrival()
        finally:
            self._open.remove(ws)
            await self._note_arrival()
        return ws

    # --- driving the app ------------------------------------------------------
    async def connected(self, *, count: int = 1, within: float = 5.0) -> None:
        """Wait until the app has opened ``count`` connections and one is open."""
        await self._wait_until(lambda: self.connections >= count and bool(self._open), within)

    async def send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Send an envelope (``slash_commands``, ``interactive``, ``events_api``) on the
        newest connection; return its ``envelope_id``."""
        assert self._open, "the app is not connected"
        envelope_id = envelope_id or f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._open[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def send_raw(self, text: str) -> None:
        """Send a text frame as it is (whatever it holds)."""
        assert self._open, "the app is not connected"
        await self._open[-1].send_str(text)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to connect again, as Slack does before it recycles a connection."""
        assert self._open, "the app is not connected"
        await self._open[-1].send_str(json.dumps({"type": "disconnect", "reason": reason}))

    def acks_of(self, envelope_id: str) -> list[dict[str, Any]]:
        return [ack for ack in self.acks if ack.get("envelope_id") == envelope_id]

    async def ack_of(
        self, envelope_id: str, *, count: int = 1, within: float = 5.0
    ) -> dict[str, Any]:
        """Wait for the ``count``-th acknowledgement of ``envelope_id``; return the last one."""
        await self._wait_until(lambda: len(self.acks_of(envelope_id)) >= count, within)
        return self.acks_of(envelope_id)[-1]
