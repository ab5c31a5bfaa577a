"""Who may talk to Parley in Teams, and how Parley proves itself when it answers.

Incoming: with ``MICROSOFT_APP_ID`` set, botbuilder validates the Bot
Framework JWT of every activity; its key refresh is replaced by
``SigningKeys``, which fetches the OpenID metadata with aiohttp instead of
blocking the event loop with ``requests``. Without an app id (the Bot
Framework Emulator) only requests from this machine naming a loopback
serviceUrl are served (``local_only``): botbuilder would otherwise post
replies to whatever serviceUrl an anonymous caller names.

Outgoing: token fetches for calls to the Bot Connector (MSAL, blocking too)
run in a thread, and the credentials (with MSAL's token cache) are kept
between requests (``_CredentialsFactory``).

This module and ``connection`` are the only ones that know botbuilder's
authentication and adapter classes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from typing import Any
from urllib.parse import urlparse

import aiohttp
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.auth import (
    AuthenticationConstants,
    GovernmentConstants,
    JwtTokenExtractor,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from jwt.algorithms import RSAAlgorithm

from bot.config import Settings

KEYS_MAX_AGE = 24 * 3600.0  # botbuilder's own refresh period
UNKNOWN_KEY_REFRESH = 300.0  # an unknown key id refreshes the keys at most this often


# --- signing keys ------------------------------------------------------------------


class KeysUnavailable(Exception):
    """The Bot Framework signing keys could not be fetched."""


class _Key:
    """What botbuilder's ``JwtTokenExtractor`` reads from its metadata: a key and its channels."""

    def __init__(self, public_key: Any, endorsements: list[str]) -> None:
        self.public_key = public_key
        self.endorsements = endorsements


class SigningKeys:
    """Drop-in for botbuilder's OpenID metadata cache, fetching with aiohttp.

    Keys are refreshed once a day, and when a token names an unknown key id
    (at most every few minutes). ``seed`` sets the keys without fetching them.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.keys: list[dict[str, Any]] = []
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    def seed(self, keys: list[dict[str, Any]]) -> None:
        self.keys = list(keys)
        self._fetched_at = time.monotonic()

    async def get(self, key_id: str | None) -> _Key:
        if time.monotonic() - self._fetched_at > KEYS_MAX_AGE:
            await self._refresh()
        key = self._find(key_id)
        if key is None and time.monotonic() - self._fetched_at > UNKNOWN_KEY_REFRESH:
            await self._refresh()
            key = self._find(key_id)
        if key is None:
            raise PermissionError(f"unknown signing key {key_id!r}")
        return key

    def _find(self, key_id: str | None) -> _Key | None:
        for jwk in self.keys:
            if jwk.get("kid") == key_id:
                public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
                return _Key(public_key, list(jwk.get("endorsements") or []))
        return None

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1.0:
                return  # another request refreshed them while this one waited
            timeout = aiohttp.ClientTimeout(total=10)
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    async with session.get(self.url) as response:
                        response.raise_for_status()
                        jwks_uri = (await response.json(content_type=None))["jwks_uri"]
                    async with session.get(jwks_uri) as response:
                        response.raise_for_status()
                        keys = (await response.json(content_type=None))["keys"]
            except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as error:
                raise KeysUnavailable(f"{self.url}: {error}") from error
            self.seed(keys)


_METADATA_URLS = (
    AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
    GovernmentConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    GovernmentConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
)


def signing_keys(
    url: str = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
) -> SigningKeys:
    """The key cache botbuilder uses for ``url`` (installed on first use)."""
    cache: dict[str, Any] = JwtTokenExtractor.metadataCache
    current = cache.get(url)
    if not isinstance(current, SigningKeys):
        current = SigningKeys(url)
        cache[url] = current
    return current


def install_signing_keys() -> None:
    for url in _METADATA_URLS:
        signing_keys(url)


# --- unauthenticated local mode ----------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_only(remote: str | None, service_url: str | None) -> bool:
    """Whether an unauthenticated activity may be served: it comes from this machine
    and names a serviceUrl on it (parsed as the sender of the replies parses it)."""
    return _is_loopback(remote) and _is_loopback(urlparse(service_url or "").hostname)


# --- outgoing credentials ----------------------------------------------------------


class _Config:
    """The configuration object botbuilder's factories read."""

    def __init__(self, *, app_id: str, password: str, app_type: str, tenant_id: str) -> None:
        self.APP_ID = app_id
        self.APP_PASSWORD = password
        self.APP_TYPE = app_type
        self.APP_TENANTID = tenant_id


class _CredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """botbuilder's factory, made to keep its credentials (and so MSAL's token cache)
    between requests and to fetch tokens in a thread: MSAL's HTTP calls block."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._made: dict[tuple[str, str, str], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        key = (app_id or "", oauth_scope or "", login_endpoint or "")
        credentials = self._made.get(key)
        if credentials is None:
            credentials = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
            self._made[key] = credentials
        if isinstance(credentials, MicrosoftAppCredentials) and credentials.microsoft_app_id:
            # Fills MSAL's cache off the event loop; the connector's own (synchronous)
            # call then reads the cached token.
            await asyncio.to_thread(credentials.get_access_token)
        return credentials


def bot_framework_authentication(settings: Settings) -> ConfigurationBotFrameworkAuthentication:
    """botbuilder's authentication for Parley's app registration (see the module docstring)."""
    config = _Config(
        app_id=settings.microsoft_app_id,
        password=settings.microsoft_app_password,
        app_type=settings.microsoft_app_type,
        tenant_id=settings.microsoft_app_tenant_id,
    )
    install_signing_keys()
    return ConfigurationBotFrameworkAuthentication(
        config,
        credentials_factory=_CredentialsFactory(
            ConfigurationServiceClientCredentialFactory(config)
        ),
    )
