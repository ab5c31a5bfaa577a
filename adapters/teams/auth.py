"""Who may talk to Parley in Teams, and how Parley proves itself when it answers.

Incoming: with ``MICROSOFT_APP_ID`` set, botbuilder validates the Bot
Framework JWT of every activity; its key refresh is replaced by
``SigningKeys``, which fetches the OpenID metadata with aiohttp instead of
blocking the event loop with ``requests``, and remembers a failed fetch for
``FAILED_FETCH_RETRY`` seconds (a flood of bad tokens must not become a flood
of fetches). Without an app id, ``/api/messages`` is served only with
TEAMS_ALLOW_ANONYMOUS (the Bot Framework Emulator), and then only to requests
from this machine naming a loopback serviceUrl: botbuilder would otherwise
post replies to whatever serviceUrl an anonymous caller names. Every
serviceUrl is checked the way the sender will read it (``service_url_problem``).

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
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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
from urllib3.util import parse_url
from yarl import URL

from bot.config import Settings

KEYS_MAX_AGE = 24 * 3600.0  # botbuilder's own refresh period
UNKNOWN_KEY_REFRESH = 300.0  # an unknown key id refreshes the keys at most this often
FAILED_FETCH_RETRY = 30.0  # after a failed fetch, requests are refused this long without one


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
    (at most every few minutes). A failed fetch is not tried again for
    ``FAILED_FETCH_RETRY`` seconds: meanwhile tokens that need it are refused
    with the same error. ``seed`` sets the keys without fetching them;
    ``monotonic`` is the clock the ages are measured with.
    """

    def __init__(self, url: str, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.keys: list[dict[str, Any]] = []
        self.monotonic = monotonic
        self._fetched_at = float("-inf")
        self._failed: tuple[float, str] | None = None  # when the last fetch failed, and why
        self._lock = asyncio.Lock()

    def seed(self, keys: list[dict[str, Any]]) -> None:
        self.keys = list(keys)
        self._fetched_at = self.monotonic()
        self._failed = None

    async def get(self, key_id: str | None) -> _Key:
        if self.monotonic() - self._fetched_at > KEYS_MAX_AGE:
            try:
                await self._refresh()
            except KeysUnavailable:
                if not self.keys:
                    raise
                # Yesterday's keys still check today's tokens until a fetch works.
        key = self._find(key_id)
        if key is None and self.monotonic() - self._fetched_at > UNKNOWN_KEY_REFRESH:
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
            now = self.monotonic()
            if now - self._fetched_at < 1.0:
                return  # another request refreshed them while this one waited
            if self._failed is not None and now - self._failed[0] < FAILED_FETCH_RETRY:
                raise KeysUnavailable(self._failed[1])
            timeout = aiohttp.ClientTimeout(total=10)
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    async with session.get(self.url) as response:
                        response.raise_for_status()
                        jwks_uri = (await response.json(content_type=None))["jwks_uri"]
                    async with session.get(jwks_uri) as response:
                        response.raise_for_status()
                        keys = (await response.json(content_type=None))["keys"]
            except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError) as error:
                why = f"{self.url}: {error or type(error).__name__}"
                self._failed = (self.monotonic(), why)
                raise KeysUnavailable(why) from error
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


# --- where replies go -----------------------------------------------------------

SERVICE_URL_MAX = 2048
_PRINTABLE = re.compile(r"[!-~]+")  # visible ASCII: no spaces, no control characters
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LABEL = re.compile(r"[a-z][a-z0-9-]*")


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _plain_host(host: str) -> bool:
    """A DNS name or an IP literal in its usual form, nothing a resolver reads otherwise
    (``2130706433`` and ``0x7f.1`` are both 127.0.0.1 to ``getaddrinfo``)."""
    try:
        ipaddress.ip_address(host.strip("[]") if host.startswith("[") else host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return all(_LABEL.fullmatch(label) for label in labels) and bool(
            _TOP_LABEL.fullmatch(labels[-1])
        )
    return True


def service_url_problem(url: object, *, loopback_only: bool) -> str | None:
    """Why Parley must not post replies to the activity's ``serviceUrl``, or None.

    The URL is read by the parser that will send to it (botbuilder's connector
    sends with requests, which parses with urllib3), and must read the same to
    the standard library and to yarl: ``http://10.255.255.1\\@127.0.0.1:9/``
    is 127.0.0.1 to ``urlsplit`` but 10.255.255.1 to urllib3. Only http(s)
    with a plain host, no user info; ``loopback_only`` (anonymous mode) also
    wants this machine."""
    if not isinstance(url, str) or not url:
        return "no serviceUrl"
    if len(url) > SERVICE_URL_MAX or not _PRINTABLE.fullmatch(url) or "\\" in url:
        return "a serviceUrl with characters no URL has"
    try:
        sent = parse_url(url)
        split = urlsplit(url)
        seen_by_aiohttp = URL(url)
        split_port = split.port
    except Exception:  # yarl may raise IndexError too: whatever fails to parse is refused
        return "a serviceUrl that does not parse"
    host = (sent.host or "").lower()
    if sent.scheme not in ("http", "https") or split.scheme not in ("http", "https"):
        return "a serviceUrl that is not http(s)"
    if sent.auth is not None or split.username is not None or seen_by_aiohttp.user is not None:
        return "a serviceUrl with user info"
    readings = {host.strip("[]"), (split.hostname or ""), (seen_by_aiohttp.host or "").lower()}
    if not host or len(readings) != 1 or sent.port != split_port:
        return "a serviceUrl that parsers read differently"
    if not _plain_host(host):
        return "a serviceUrl without a plain host"
    if loopback_only and not _is_loopback(host):
        return "a serviceUrl off this machine (anonymous mode serves loopback only)"
    return None


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
