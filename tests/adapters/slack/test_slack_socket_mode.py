"""Slack through Socket Mode: Parley's real app connected to a local fake Socket Mode
websocket (the fake Web API hands out its ws:// URL); commands, buttons, forms and
events arrive as envelopes and are acknowledged through the socket."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import views
from bot.clock import ManualClock
from bot.config import load_settings
from bot.errors import ConfigurationError
from bot.main import build_app, open_runtime
from bot.runtime import Runtime
from tests.adapters.slack.blockkit import check_message, check_view, texts
from tests.adapters.slack.slack_world import BOT_TOKEN, check_everything_sent
from tests.fakes.slack_api import RESPONSE_URL, FakeSlackApi
from tests.fakes.socket_mode import FakeSocketMode

APP_TOKEN = "xapp-1-A1-1234-socketmodetoken"
ISO_DUE = "2026-11-27T17:00-05:00"


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


@dataclass
class SocketWorld:
    """Parley's app as Slack sees it through Socket Mode."""

    http: TestClient[Any, Any]
    api: FakeSlackApi
    socket: FakeSocketMode
    runtime: Runtime
    team_id: str = "T1"
    channel_id: str = "C1"
    user_id: str = "U1"
    acks: list[dict[str, Any]] = field(default_factory=list)
    _commands: int = 0

    def command_payload(
        self, line: str, *, user_id: str | None = None, channel_id: str | None = None
    ) -> dict[str, Any]:
        self._commands += 1
        command, _, text = line.partition(" ")
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "acme",
            "channel_id": channel_id or self.channel_id,
            "channel_name": "negotiation",
            "user_id": user_id or self.user_id,
            "user_name": (user_id or self.user_id).lower(),
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": self.api.response_url(f"r{self._commands}"),
            "trigger_id": f"trigger-{self._commands}",
        }

    async def command(self, line: str, **who: Any) -> dict[str, Any]:
        """Type a command; return what its acknowledgement carries (``{}`` if nothing)."""
        envelope = await self.socket.send("slash_commands", self.command_payload(line, **who))
        ack = await self.socket.ack_of(envelope)
        payload: dict[str, Any] = ack.get("payload") or {}
        if payload:
            check_message(payload)
        self.acks.append(payload)
        return payload

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        envelope = await self.socket.send("interactive", payload)
        ack = await self.socket.ack_of(envelope)
        result: dict[str, Any] = ack.get("payload") or {}
        return result

    def press(self, *, user_id: str, action_id: str, value: str, channel_id: str) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "A1",
            "team": {"id": self.team_id, "domain": "acme"},
            "trigger_id": "trigger-press",
            "container": {"type": "message", "channel_id": channel_id},
            "channel": {"id": channel_id, "name": "directmessage"},
            "response_url": self.api.response_url(f"press-{user_id}"),
            "actions": [
                {"action_id": action_id, "value": value, "type": "button", "block_id": "b"}
            ],
        }

    def submission(
        self, view: dict[str, Any], *, user_id: str, values: dict[str, str | None]
    ) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input":
                continue
            element, value = block["element"], values.get(block["block_id"])
            if element["type"] == "static_select":
                option = None if value is None else {"value": value}
                entry: dict[str, Any] = {"type": "static_select", "selected_option": option}
            else:
                entry = {"type": "plain_text_input", "value": value}
            state[block["block_id"]] = {element["action_id"]: entry}
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "acme"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "A1",
            "trigger_id": "trigger-submit",
            "view": {**view, "id": "VMODAL", "team_id": self.team_id, "state": {"values": state}},
        }


def socket_settings(sqlite_url: str, api: FakeSlackApi, **more: Any) -> Any:
    return load_settings(
        database_url=sqlite_url,
        slack_app_token=APP_TOKEN,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="",
        slack_api_url=api.api_url,
        slack_client_id="",
        slack_client_secret="",
        **more,
    )


@pytest.fixture
async def socket_mode() -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode() as fake:
        yield fake


@pytest.fixture
async def socket_api(socket_mode: FakeSocketMode) -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(socket_url=socket_mode.ws_url) as fake:
        yield fake


@pytest.fixture
async def socket_runtime(
    sqlite_url: str, clock: ManualClock, socket_api: FakeSlackApi
) -> AsyncIterator[Runtime]:
    async with open_runtime(socket_settings(sqlite_url, socket_api), clock=clock) as runtime:
        yield runtime


@pytest.fixture
async def world(
    socket_runtime: Runtime, socket_api: FakeSlackApi, socket_mode: FakeSocketMode
) -> AsyncIterator[SocketWorld]:
    async with TestClient(TestServer(build_app(socket_runtime))) as http:
        await socket_mode.connected()
        yield SocketWorld(http=http, api=socket_api, socket=socket_mode, runtime=socket_runtime)
    check_everything_sent(socket_api)


def buttons(call_params: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in call_params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


# --- connecting ---------------------------------------------------------------------
async def test_it_connects_with_the_app_token_and_serves_no_events_url(world: SocketWorld) -> None:
    [opened] = world.api.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    response = await world.http.post("/slack/events", data="{}")
    assert response.status == 404  # nothing to sign or forge: Slack comes through the socket
    assert (await world.http.get("/healthz")).status == 200


async def test_a_refused_app_token_stops_the_start_with_one_line(
    sqlite_url: str, clock: ManualClock, socket_api: FakeSlackApi, socket_mode: FakeSocketMode
) -> None:
    socket_api.answer("apps.connections.open", {"ok": False, "error": "invalid_auth"})
    settings = socket_settings(sqlite_url, socket_api)
    async with open_runtime(settings, clock=clock) as runtime:
        server = TestServer(build_app(runtime))
        with pytest.raises(ConfigurationError, match="SLACK_APP_TOKEN: Slack refused it"):
            await server.start_server()
        await server.close()
    assert socket_mode.connections == 0


async def test_the_worker_does_not_connect(
    socket_runtime: Runtime, socket_api: FakeSlackApi, socket_mode: FakeSocketMode
) -> None:
    async with TestClient(TestServer(build_app(socket_runtime, receive=False))):
        assert "slack" in socket_runtime.gateways  # alerts still go out through the Web API
    assert socket_api.calls_to("apps.connections.open") == []
    assert socket_mode.connections == 0


async def test_it_connects_again_when_slack_asks(
    world: SocketWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="parley.slack"):
        await world.socket.disconnect()
        await world.socket.connected(count=2)
        await world.command("/deadline list")  # the greeting has been read by then
    assert "Slack Socket Mode: connected" in caplog.text
    assert len(world.api.calls_to("apps.connections.open")) == 2
    ack = await world.command("/deadline help")
    assert "/deadline add" in shown(ack)


# --- commands -----------------------------------------------------------------------
async def test_the_grammar_through_socket_mode(world: SocketWorld) -> None:
    """Every command of the grammar arrives as an envelope; its reply is the ack."""
    lines = [
        ("/deadline help", "ephemeral", "/deadline add"),
        ("/position help", "ephemeral", "/position ask"),
        ("/party help", "ephemeral", "/party add"),
        ("/offer help", "ephemeral", "/offer"),
        ("/party add Anthropic <@U1|alice>", "in_channel", "Anthropic"),
        ('/party add "Department of Defense" <@U2|bob>', "in_channel", "Department of Defense"),
        ("/party list", "ephemeral", "Department of Defense"),
        (f"/deadline add Signed usage agreement due {ISO_DUE}", "in_channel", "*D1*"),
        (f"/deadline add Term sheet due {ISO_DUE.replace('27', '30')}", "in_channel", "*D2*"),
        ("/deadline list", "ephemeral", "Open deadlines (2)"),
        ("/deadline show D1", "ephemeral", "History"),
        ("/deadline extend D1 to 2026-11-30T09:00-05:00 because review", "in_channel", "review"),
        ("/deadline move D2 to 2026-11-29T09:00-05:00", "in_channel", "D2"),
        ("/deadline remind D1 2d,1h", "ephemeral", "2d, 1h"),
        ("/deadline owners D1 <@U3|carol>", "in_channel", "<@U3>"),
        ("/deadline expect D1 Anthropic", "in_channel", "Anthropic"),
        ("/deadline escalate D1 1d:dm,1h:channel", "in_channel", "set escalation for D1"),
        ("/offer D1 Final offer https://example.com/bafo.pdf from Anthropic", "in_channel", "O1"),
        ("/offer list D1", "ephemeral", "O1"),
        ("/position D1 oppose as Anthropic No mass surveillance", "in_channel", "Anthropic"),
        ("/position ask D1 <@U4|dana>", "in_channel", "<@U4>"),
        ("/position nudge D1", "ephemeral", "Nudged <@U4> by direct message"),
        ("/position list D1", "ephemeral", "Anthropic"),
        ("/deadline feed", "ephemeral", "/calendar/"),
        ("/deadline done D1", "in_channel", "marked done"),
        ("/deadline cancel D2", "in_channel", "cancelled"),
        ("/deadline list all", "ephemeral", "All deadlines (2)"),
        ("/deadline frobnicate", "ephemeral", "frobnicate"),
    ]
    for line, response_type, expected in lines:
        ack = await world.command(line)
        assert ack.get("response_type") == response_type, (line, ack)
        assert expected in shown(ack), (line, shown(ack))
    deadlines = await world.runtime.repository.list_deadlines(workspace_id="slack:T1")
    assert {d.title: d.status.value for d in deadlines} == {
        "Signed usage agreement": "met",
        "Term sheet": "cancelled",
    }
    # The asked person's DMs (asked, then nudged) went out through the Web API, with the bot token.
    dms = await world.api.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.params["channel"] == "U4"
    )
    assert len(dms) == 2
    assert {dm.token for dm in dms} == {BOT_TOKEN}


async def test_a_duplicated_envelope_runs_once(world: SocketWorld) -> None:
    payload = world.command_payload(f"/deadline add Signed usage agreement due {ISO_DUE}")
    envelope = await world.socket.send("slash_commands", payload)
    first = await world.socket.ack_of(envelope)
    await world.socket.send("slash_commands", payload, envelope_id=envelope, retry_attempt=1)
    again = await world.socket.ack_of(envelope, count=2)
    assert "*D1*" in shown(first["payload"])
    assert again == {"envelope_id": envelope}  # acknowledged, and nothing ran
    assert len(await world.runtime.repository.list_deadlines(workspace_id="slack:T1")) == 1


async def test_a_payload_parley_cannot_read_is_acknowledged_and_not_run(
    world: SocketWorld, caplog: pytest.LogCaptureFixture
) -> None:
    payload = world.command_payload("/deadline add X due tomorrow")
    del payload["channel_id"]
    with caplog.at_level(logging.WARNING, logger="parley.slack"):
        envelope = await world.socket.send("slash_commands", payload)
        assert await world.socket.ack_of(envelope) == {"envelope_id": envelope}
    assert "channel_id is missing" in caplog.text
    await world.socket.send_raw("not json at all")
    ack = await world.command("/deadline list")  # still connected and answering
    assert "No open deadlines" in shown(ack)
    assert await world.runtime.repository.list_deadlines(workspace_id="slack:T1") == []


# --- buttons and the form ----------------------------------------------------------
async def test_ask_buttons_and_the_position_modal_through_socket_mode(world: SocketWorld) -> None:
    await world.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    await world.command("/position ask D1 <@U2|bob>")
    [dm] = await world.api.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "U2")
    support = next(b for b in buttons(dm.params) if b[1] == "1|support")

    # Bob presses "support" in his DM: acked through the socket, announced in the channel.
    ack = await world.interact(
        world.press(user_id="U2", action_id=support[0], value=support[1], channel_id="DU2")
    )
    assert ack == {}
    [announced] = await world.api.wait_for(
        "chat.postMessage", where=lambda c: c.params["channel"] == "C1"
    )
    assert "<@U2> supports D1" in shown(announced.params)
    [confirmed] = await world.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "press-U2")
    assert "<@U2> supports D1" in shown(confirmed.params)

    # Alice opens the form with /position D1: a modal through the Web API.
    assert await world.command("/position D1") == {}
    [opened] = await world.api.wait_for("views.open")
    view = opened.params["view"]
    check_view(view)
    assert view["callback_id"] == views.FORM_POSITION

    # A submission without a stance: the errors travel back in the ack, nothing recorded.
    errors = await world.interact(world.submission(view, user_id="U1", values={"stance": None}))
    assert errors["response_action"] == "errors" and set(errors["errors"]) == {"stance"}

    # A good one closes the modal (empty ack); the answer goes to the command's response URL.
    good = world.submission(
        view, user_id="U1", values={"stance": "conditional", "terms": "Only with an audit clause"}
    )
    assert await world.interact(good) == {}
    [posted] = await world.api.wait_for(RESPONSE_URL, where=lambda c: c.key == "r3")
    assert "<@U1> is conditional on D1" in shown(posted.params)
    matrix = await world.command("/position list D1")
    assert "Only with an audit clause" in shown(matrix)
    assert "1 of 1 asked have answered" in shown(matrix)


async def test_app_home_event_through_socket_mode_runs_once(world: SocketWorld) -> None:
    await world.command(f"/deadline add Signed usage agreement due {ISO_DUE}")
    event = {
        "token": "legacy-verification-token",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": "Ev42",
        "event_time": 1_800_000_000,
        "event": {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "DU1"},
        "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
    }
    first = await world.socket.send("events_api", event)
    assert await world.socket.ack_of(first) == {"envelope_id": first}
    [published] = await world.api.wait_for("views.publish")
    assert "Signed usage agreement" in json.dumps(published.params["view"])
    # Slack's retry of the same event in a new envelope is acknowledged and not run again.
    retry = await world.socket.send("events_api", event, retry_attempt=1)
    await world.socket.ack_of(retry)
    await world.command("/deadline list")  # something after it, to be sure it was handled
    assert len(world.api.calls_to("views.publish")) == 1
