"""A Teams world for tests: the real aiohttp app (``bot.main.build_app``) on a SQLite
runtime with a manual clock, and a local fake Bot Connector that every activity names
as its ``serviceUrl``. Activities are the captured JSON in ``activities/``.

Posting an activity returns once Parley has answered it, and Parley answers through
the connector before it responds, so what a test reads at the fake is complete:
no waiting is needed for replies (proactive sends are awaited by the dispatcher).
"""

from __future__ import annotations

import copy
import itertools
import json
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft6Validator

from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.main import build_app, open_runtime
from bot.runtime import Runtime
from tests.fakes.bot_connector import Call, FakeBotConnector

ACTIVITIES = Path(__file__).parent / "activities"
REPO_ROOT = Path(__file__).resolve().parents[3]
CARD_SCHEMA = REPO_ROOT.parent / "shared" / "data" / "adaptive-card-1.5.schema.json"

TENANT = "9b2f5c1e-7d4a-4c3b-a1e2-f3d4c5b6a7e8"
WORKSPACE = f"teams:{TENANT}"
TEAM = "19:team5a6b7c8d9e@thread.tacv2"
CHANNEL = "19:negotiation0b1c2d3e4f@thread.tacv2"
APP_ID = "00000000-0000-0000-0000-0000000000aa"
BOT_ID = f"28:{APP_ID}"
ALEX = "6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a51"  # AAD object ids
DANA = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
ALEX_TEAMS_ID = "29:1hBQm3sT0aLexRivera9kP2vYt7wXzN4qFcD8uJ6eG5iH"
DANA_TEAMS_ID = "29:1danaInTeam"
PERSONAL = "a:1Xo3vN8qPersonalDanaOkafor2kLm7Rt5Yw9Zc4Bd6Fg1Hj0"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ACTIVITIES / f"{name}.json").read_text())
    return data


def mention(member_id: str, name: str, aad_object_id: str | None = None) -> dict[str, Any]:
    """The entity Teams sends for ``<at>name</at>`` in a message's text."""
    mentioned = {"id": member_id, "name": name}
    if aad_object_id:
        mentioned["aadObjectId"] = aad_object_id
    return {"type": "mention", "mentioned": mentioned, "text": f"<at>{name}</at>"}


def card_validator() -> Draft6Validator:
    if not CARD_SCHEMA.is_file():
        pytest.fail(
            f"The Adaptive Card 1.5 schema is missing: expected {CARD_SCHEMA} "
            "(shared/ sits beside the repository clone)."
        )
    schema = json.loads(CARD_SCHEMA.read_text())
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


@contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse every connection that is not to this machine (DNS lookups included)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    allowed = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and str(host) not in allowed:
            raise OSError(f"test network guard: lookup of {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple) and str(address[0]) not in allowed:
            raise OSError(f"test network guard: connection to {address!r} refused")

    def connect(self: socket.SocketType, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.SocketType, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


def teams_settings(sqlite_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": sqlite_url,
        "teams_enabled": True,
        "teams_allow_anonymous": True,
        "microsoft_app_id": "",
        "microsoft_app_password": "",
        "microsoft_app_tenant_id": "",
        "slack_signing_secret": "",
        "slack_bot_token": "",
        "slack_client_id": "",
        "slack_client_secret": "",
    }
    return load_settings(**(values | overrides))


@dataclass
class Posted:
    """What came back from one activity: the HTTP answer and the connector calls it made."""

    status: int
    body: Any
    calls: list[Call]

    @property
    def messages(self) -> list[Call]:
        return [c for c in self.calls if c.kind in ("send", "reply")]

    @property
    def text(self) -> str:
        return "\n".join(c.card_text for c in self.calls if c.cards)


@dataclass
class TeamsWorld:
    runtime: Runtime
    client: TestClient[Any, Any]
    connector: FakeBotConnector
    invoke_cards: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.runtime.clock, ManualClock)
        return self.runtime.clock

    def activity(self, name: str, **changes: Any) -> dict[str, Any]:
        """A captured activity, addressed to the fake connector, with a fresh id."""
        activity = copy.deepcopy(load(name))
        activity["serviceUrl"] = self.connector.service_url
        activity["id"] = f"{activity['id']}-{next(self._ids)}"
        activity.update(changes)
        return activity

    async def post(self, activity: dict[str, Any], *, token: str | None = None) -> Posted:
        before = len(self.connector.calls)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post("/api/messages", json=activity, headers=headers)
        text = await response.text()
        body = json.loads(text) if text and response.content_type == "application/json" else text
        if isinstance(body, dict) and body.get("type") == "application/vnd.microsoft.card.adaptive":
            self.invoke_cards.append(body["value"])
        # The team's channel list (asked once per channel for names) is no answer.
        calls = [c for c in self.connector.calls[before:] if c.kind != "channels"]
        return Posted(response.status, body, calls)

    async def say(
        self,
        text: str,
        *,
        personal: bool = False,
        token: str | None = None,
        mentions: Sequence[dict[str, Any]] = (),
    ) -> Posted:
        """Type ``text`` after @Parley in the channel, or in Dana's personal chat;
        ``mentions`` are the entities of the ``<at>…</at>`` people in ``text``."""
        if personal:
            activity = self.activity("personal_message", text=text)
        else:
            activity = self.activity("channel_message", text=f"<at>Parley</at> {text}\n")
        activity["entities"] = [*activity["entities"], *mentions]
        return await self.post(activity, token=token)

    async def click(self, data: dict[str, Any], *, reply_to: str = "1764176400999") -> Posted:
        return await self.post(self.activity("card_submit", value=data, replyToId=reply_to))

    def validate_cards(self, validator: Draft6Validator) -> int:
        cards = [card for call in self.connector.calls for card in call.cards] + self.invoke_cards
        for card in cards:
            validator.validate(card)
        return len(cards)


@asynccontextmanager
async def open_world(
    settings: Settings, clock: ManualClock, connector: FakeBotConnector
) -> AsyncIterator[TeamsWorld]:
    async with open_runtime(settings, clock=clock) as runtime:
        app = build_app(runtime)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield TeamsWorld(runtime=runtime, client=client, connector=connector)
