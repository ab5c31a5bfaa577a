"""Configuration from the environment (and an optional ``.env`` file).

Every setting is checked at start; a value that cannot work raises
``ConfigurationError`` with one line saying which and why.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from urllib.parse import urlparse, urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///parley.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = "http://localhost:3000"
    host: str = "127.0.0.1"
    port: int = 3000
    slack_signing_secret: str = ""
    slack_bot_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_api_url: str = "https://slack.com/api/"
    # An app-level token (xapp-…): Slack through Socket Mode, without a public URL.
    slack_app_token: str = ""
    microsoft_app_id: str = ""
    microsoft_app_password: str = ""
    microsoft_app_type: str = "MultiTenant"
    microsoft_app_tenant_id: str = ""
    teams_enabled: bool = True
    # Local development only (Bot Framework Emulator): serve /api/messages without
    # an app id, to loopback serviceUrls only. Off: no app id, no Teams endpoint.
    teams_allow_anonymous: bool = False
    log_level: str = "INFO"
    log_format: str = "text"
    default_timezone: str = "UTC"
    # How long a replica may hold claimed alerts before another may take them.
    alert_lease_seconds: float = 120.0
    # How long an alert's post may wait for the platform's answer; at most half the lease.
    alert_send_timeout_seconds: float = 30.0
    # How many `parley serve` replicas share this database (compose, k8s set it);
    # only used to refuse SQLite, which serves one process.
    parley_replicas: int = 1

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret or self.slack_app_token)

    @property
    def slack_socket_mode(self) -> bool:
        """Slack delivers through a Socket Mode websocket (SLACK_APP_TOKEN), not
        ``POST /slack/events``."""
        return bool(self.slack_app_token)

    @property
    def slack_oauth(self) -> bool:
        return bool(self.slack_client_id)

    @property
    def teams_served(self) -> bool:
        """Whether ``POST /api/messages`` is mounted: with an app id, or anonymously
        when TEAMS_ALLOW_ANONYMOUS is set for local development."""
        return self.teams_enabled and bool(self.microsoft_app_id or self.teams_allow_anonymous)


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings; ``overrides`` win over the environment."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "setting"
        raise ConfigurationError(f"{name}: {first['msg']}") from None
    check(settings)
    return settings


def check(settings: Settings) -> None:
    url = settings.database_url
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigurationError(
            "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
            f"(got {scheme or url!r})"
        )
    public = urlparse(settings.public_url)
    if public.scheme not in ("http", "https") or not public.netloc:
        raise ConfigurationError(
            "PUBLIC_URL must be an absolute http(s) URL, like https://parley.example.com "
            f"(got {settings.public_url!r})"
        )
    if settings.slack_client_id and not settings.slack_client_secret:
        raise ConfigurationError(
            "SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not; set both for OAuth install"
        )
    if settings.slack_client_secret and not settings.slack_client_id:
        raise ConfigurationError(
            "SLACK_CLIENT_SECRET is set but SLACK_CLIENT_ID is not; set both for OAuth install"
        )
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        raise ConfigurationError(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic "
            "Information > App-Level Tokens, scope connections:write); "
            "leave it unset for HTTP mode"
        )
    if (
        (settings.slack_bot_token or settings.slack_client_id)
        and not settings.slack_signing_secret
        and not settings.slack_app_token
    ):
        raise ConfigurationError(
            "Slack credentials are set but SLACK_SIGNING_SECRET is not; "
            "Slack needs it to verify requests (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    if settings.microsoft_app_id and not settings.microsoft_app_password:
        raise ConfigurationError("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not")
    if settings.log_format not in ("text", "json"):
        raise ConfigurationError(f"LOG_FORMAT must be text or json (got {settings.log_format!r})")
    check_deployment(settings)


def check_deployment(settings: Settings) -> None:
    """Checks for running as a service: database URL shape, replicas, ports, logging."""
    url = settings.database_url
    if url.startswith("postgresql+asyncpg:"):
        try:
            parts = urlsplit(url)
            _ = parts.port  # a port that is not a number raises ValueError
        except ValueError as error:
            raise ConfigurationError(f"DATABASE_URL is malformed: {error}") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigurationError(
                "DATABASE_URL needs a host and a database name, like "
                "postgresql+asyncpg://parley:PASSWORD@db.example.com:5432/parley"
            )
    if settings.parley_replicas < 1:
        raise ConfigurationError(
            f"PARLEY_REPLICAS must be 1 or more (got {settings.parley_replicas})"
        )
    if settings.parley_replicas > 1 and url.startswith("sqlite"):
        raise ConfigurationError(
            f"PARLEY_REPLICAS={settings.parley_replicas} needs PostgreSQL: SQLite serves one "
            "replica; set DATABASE_URL=postgresql+asyncpg://... (see docs/operations.md)"
        )
    if settings.slack_enabled and not settings.slack_bot_token and not settings.slack_client_id:
        named = "SLACK_SIGNING_SECRET" if settings.slack_signing_secret else "SLACK_APP_TOKEN"
        raise ConfigurationError(
            f"{named} is set but neither SLACK_BOT_TOKEN nor "
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: Slack needs one of them"
        )
    if (
        settings.slack_enabled
        and not settings.slack_oauth
        and all(name in os.environ for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"))
    ):
        # slack-bolt reads these two itself and turns its OAuth flow on whenever both
        # are in the environment, even empty, ignoring SLACK_BOT_TOKEN.
        raise ConfigurationError(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but empty: unset them for "
            "SLACK_BOT_TOKEN, or fill both in for OAuth"
        )
    if not 0 <= settings.port <= 65535:
        raise ConfigurationError(f"PORT must be between 0 and 65535 (got {settings.port})")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigurationError(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL "
            f"(got {settings.log_level!r})"
        )
    check_alert_lease(settings.alert_lease_seconds, settings.alert_send_timeout_seconds)
    check_sqlite_directory(url)


def check_alert_lease(lease: float, send_timeout: float) -> None:
    """A post must be over while its lease holds, with time left to record it sent."""
    if not 0 < lease < math.inf:
        raise ConfigurationError(
            f"ALERT_LEASE_SECONDS must be more than 0, a finite number of seconds (got {lease})"
        )
    if not 0 < send_timeout < math.inf:
        raise ConfigurationError(
            "ALERT_SEND_TIMEOUT_SECONDS must be more than 0, a finite number of seconds "
            f"(got {send_timeout})"
        )
    if lease < 2 * send_timeout:
        raise ConfigurationError(
            f"ALERT_LEASE_SECONDS ({lease:g} s) must be at least twice "
            f"ALERT_SEND_TIMEOUT_SECONDS ({send_timeout:g} s), so each post ends while its "
            "lease holds: raise the lease, or lower the send timeout"
        )


def check_sqlite_directory(url: str) -> None:
    """A SQLite file can only be made in a directory that exists."""
    if not url.startswith("sqlite"):
        return
    path = url.split("://", 1)[-1].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    directory = Path(path).parent
    if not directory.is_dir():
        raise ConfigurationError(
            f"DATABASE_URL: the directory {str(directory)!r} of the SQLite file does not "
            "exist; create it, or point DATABASE_URL at another file"
        )
