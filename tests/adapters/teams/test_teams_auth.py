"""Bot Framework authentication, offline: tokens are signed here with RS256 and the
signing keys seeded into Parley's key cache, so nothing is fetched from the internet.

With MICROSOFT_APP_ID set, an activity without a valid token gets 401 and changes
nothing; a valid one is served, and Parley's replies carry its own bearer token.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jsonschema import Draft6Validator
from jwt.algorithms import RSAAlgorithm

from adapters.teams.auth import signing_keys
from bot.clock import ManualClock
from tests.adapters.teams.teams_world import (
    APP_ID,
    CHANNEL,
    WORKSPACE,
    TeamsWorld,
    open_world,
    teams_settings,
)
from tests.fakes.bot_connector import FakeBotConnector

ISSUER = "https://api.botframework.com"
KEY_ID = "parley-test-key"
OUTBOUND_TOKEN = "token-from-the-fake-login-service"
ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


TRUSTED = _key()
FORGER = _key()


def token(
    service_url: str,
    *,
    key: rsa.RSAPrivateKey = TRUSTED,
    audience: str = APP_ID,
    issuer: str = ISSUER,
    expires_in: int = 3600,
    kid: str = KEY_ID,
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "serviceurl": service_url,
        "nbf": now - 60,
        "iat": now - 60,
        "exp": now + expires_in,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def secured(
    sqlite_url: str,
    clock: ManualClock,
    connector: FakeBotConnector,
    cards: Draft6Validator,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[TeamsWorld]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(TRUSTED.public_key()))
    signing_keys().seed([{**jwk, "kid": KEY_ID, "use": "sig", "endorsements": ["msteams"]}])
    # Parley's own token for its replies comes from Microsoft's login service through
    # MSAL; the test stands in for that service at the library's edge.
    monkeypatch.setattr(
        "botframework.connector.auth.microsoft_app_credentials."
        "MicrosoftAppCredentials.get_access_token",
        lambda self, force_refresh=False: OUTBOUND_TOKEN,
    )
    settings = teams_settings(
        sqlite_url, microsoft_app_id=APP_ID, microsoft_app_password="app-secret"
    )
    async with open_world(settings, clock, connector) as world:
        yield world
        world.validate_cards(cards)


async def _nothing_changed(world: TeamsWorld, before: int = 0) -> None:
    assert len(world.connector.calls) == before
    assert not await world.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert (
        await world.runtime.repository.get_conversation_reference(
            workspace_id=WORKSPACE, conversation_id=CHANNEL
        )
        is None
    )


async def test_a_valid_token_is_served_and_replies_carry_parleys_token(secured: TeamsWorld) -> None:
    posted = await secured.say(ADD, token=token(secured.connector.service_url))
    assert posted.status == 200
    [reply] = posted.messages
    assert reply.token == OUTBOUND_TOKEN
    assert "New deadline set by @Alex Rivera" in reply.card_text
    [deadline] = await secured.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert deadline.channel_id == CHANNEL


async def test_without_a_token_nothing_happens(secured: TeamsWorld) -> None:
    posted = await secured.say(ADD)
    assert posted.status == 401
    await _nothing_changed(secured)


@pytest.mark.parametrize(
    "why",
    [
        "forged signature",
        "another bot's audience",
        "another issuer",
        "another service url",
        "expired",
        "unknown key",
        "not a JWT",
    ],
)
async def test_a_bad_token_is_refused_with_401(secured: TeamsWorld, why: str) -> None:
    url = secured.connector.service_url
    make_token: dict[str, Callable[[], str]] = {
        "forged signature": lambda: token(url, key=FORGER),
        "another bot's audience": lambda: token(
            url, audience="11111111-2222-3333-4444-555555555555"
        ),
        "another issuer": lambda: token(url, issuer="https://evil.example.com"),
        "another service url": lambda: token("http://127.0.0.1:1/"),
        "expired": lambda: token(url, expires_in=-3600),
        "unknown key": lambda: token(url, kid="rotated-away"),
        "not a JWT": lambda: "abc.def.ghi",
    }
    bad = make_token[why]()
    posted = await secured.say(ADD, token=bad)
    assert posted.status == 401
    await _nothing_changed(secured)


async def test_a_refused_installation_stores_no_reference(secured: TeamsWorld) -> None:
    posted = await secured.post(secured.activity("installation_add"), token=token("http://x/"))
    assert posted.status == 401
    assert (
        await secured.runtime.repository.latest_conversation_reference(workspace_id=WORKSPACE)
        is None
    )


async def test_signing_keys_are_fetched_without_blocking_from_the_openid_metadata() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from adapters.teams.auth import KeysUnavailable, SigningKeys

    jwk = {**json.loads(RSAAlgorithm.to_jwk(TRUSTED.public_key())), "kid": KEY_ID}
    fetched: list[str] = []

    async def metadata(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.json_response({"jwks_uri": str(request.url.with_path("/keys"))})

    async def keys(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/.well-known/openidconfiguration", metadata)
    app.router.add_get("/keys", keys)
    async with TestServer(app, host="127.0.0.1") as server:
        url = str(server.make_url("/.well-known/openidconfiguration"))
        cache = SigningKeys(url)
        found = await cache.get(KEY_ID)
        assert found.public_key.public_numbers() == TRUSTED.public_key().public_numbers()
        await cache.get(KEY_ID)
        assert fetched == ["/.well-known/openidconfiguration", "/keys"]  # then cached

    gone = SigningKeys(url)  # the server has stopped
    with pytest.raises(KeysUnavailable):
        await gone.get(KEY_ID)


@pytest.mark.parametrize("signed", [True, False], ids=["with a token", "without a token"])
async def test_an_ill_typed_activity_gets_400_with_an_app_id_too(
    secured: TeamsWorld, signed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    activity = secured.activity("channel_message", text=f"<at>Parley</at> {ADD}", entities="x")
    posted = await secured.post(
        activity, token=token(secured.connector.service_url) if signed else None
    )
    assert posted.status == 400
    await _nothing_changed(secured)
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_the_reported_service_url_bypass_is_refused_with_an_app_id_too(
    secured: TeamsWorld,
) -> None:
    bypass = "http://10.255.255.1\\@127.0.0.1:9/"
    activity = secured.activity("channel_message", text=f"<at>Parley</at> {ADD}")
    activity["serviceUrl"] = bypass
    posted = await secured.post(activity, token=token(bypass))
    assert posted.status == 400
    await _nothing_changed(secured)


async def test_a_failed_key_fetch_is_remembered_briefly() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from adapters.teams.auth import FAILED_FETCH_RETRY, KeysUnavailable, SigningKeys

    fetches: list[str] = []

    async def metadata(request: web.Request) -> web.Response:
        fetches.append(request.path)
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/.well-known/openidconfiguration", metadata)
    now = [1000.0]
    async with TestServer(app, host="127.0.0.1") as server:
        keys = SigningKeys(
            str(server.make_url("/.well-known/openidconfiguration")), monotonic=lambda: now[0]
        )
        for _ in range(20):  # twenty requests with tokens Parley cannot check yet
            with pytest.raises(KeysUnavailable):
                await keys.get("some-key")
        assert len(fetches) == 1
        now[0] += FAILED_FETCH_RETRY + 1
        with pytest.raises(KeysUnavailable):
            await keys.get("some-key")
        assert len(fetches) == 2
