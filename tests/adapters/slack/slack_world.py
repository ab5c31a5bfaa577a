"""``SlackWorld``: Parley's HTTP app as Slack sees it, for the Slack adapter tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.app import SLACK, SlackApp
from bot.main import build_app
from bot.runtime import Runtime
from tests.adapters.slack.blockkit import check_message, check_view
from tests.fakes.signing import (
    event_body,
    interactive_body,
    signed_headers,
    slash_command_body,
)
from tests.fakes.slack_api import RESPONSE_URL, FakeSlackApi

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-single-workspace"


@dataclass
class SlackWorld:
    """Parley's HTTP app as Slack sees it: send signed requests, read the fake's calls."""

    http: TestClient[Any, Any]
    api: FakeSlackApi
    runtime: Runtime
    secret: str = SECRET
    team_id: str = "T1"
    channel_id: str = "C1"
    user_id: str = "U1"
    acks: list[dict[str, Any]] = field(default_factory=list)
    _responses: int = 0

    @property
    def adapter(self) -> SlackApp:
        server = self.http.server
        assert isinstance(server, TestServer)
        return server.app[SLACK]

    async def post(
        self, body: str, *, content_type: str = "application/x-www-form-urlencoded", **sign: Any
    ) -> ClientResponse:
        headers = signed_headers(body, secret=self.secret, content_type=content_type, **sign)
        return await self.http.post("/slack/events", data=body, headers=headers)

    def next_response_url(self) -> str:
        self._responses += 1
        return self.api.response_url(f"r{self._responses}")

    async def command(
        self, line: str, *, user_id: str | None = None, channel_id: str | None = None
    ) -> dict[str, Any]:
        """Type ``/deadline ...`` or ``/position ...``; return the ack body (``{}`` if empty)."""
        command, _, text = line.partition(" ")
        body = slash_command_body(
            command=command,
            text=text,
            team_id=self.team_id,
            channel_id=channel_id or self.channel_id,
            user_id=user_id or self.user_id,
            response_url=self.next_response_url(),
            trigger_id=f"trigger-{self._responses}",
        )
        response = await self.post(body)
        assert response.status == 200, await response.text()
        raw = await response.text()
        ack = json.loads(raw) if raw else {}
        if ack:
            check_message(ack)
        self.acks.append(ack)
        return ack

    async def interact(self, payload: dict[str, Any]) -> ClientResponse:
        return await self.post(interactive_body(payload))

    async def event(self, event: dict[str, Any], *, event_id: str = "Ev1") -> ClientResponse:
        body = event_body(event, team_id=self.team_id, event_id=event_id)
        return await self.post(body, content_type="application/json")

    @property
    def last_response_url(self) -> str:
        return self.api.response_url(f"r{self._responses}")

    def response_key(self) -> str:
        return f"r{self._responses}"


async def open_world(runtime: Runtime, api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    app = build_app(runtime)
    async with TestClient(TestServer(app)) as http:
        yield SlackWorld(http=http, api=api, runtime=runtime)


MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", RESPONSE_URL)
VIEW_METHODS = ("views.open", "views.publish", "views.update", "views.push")


def check_everything_sent(api: FakeSlackApi) -> None:
    """Every message and view the app sent to the fake passes the Block Kit checks."""
    for call in api.calls:
        if call.method in MESSAGE_METHODS:
            check_message(call.params)
        elif call.method in VIEW_METHODS:
            check_view(call.params["view"])
