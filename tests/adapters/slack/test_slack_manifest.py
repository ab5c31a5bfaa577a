"""infra/slack/manifest.yml agrees with what the adapter serves and asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.slack.app import EVENTS_PATH
from adapters.slack.oauth import BOT_SCOPES, REDIRECT_PATH
from bot.grammar import COMMAND_WORDS

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[3] / "infra" / "slack" / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def test_commands_point_at_the_events_endpoint(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {f"/{word}" for word in COMMAND_WORDS}
    for command in commands.values():
        assert command["url"] == f"PUBLIC_URL{EVENTS_PATH}"
        assert command["should_escape"] is True  # mentions arrive as <@U123|name>
        assert 0 < len(command["usage_hint"]) <= 100
        assert 0 < len(command["description"]) <= 100


def test_interactivity_events_and_oauth_urls(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": f"PUBLIC_URL{EVENTS_PATH}",
    }
    assert settings["event_subscriptions"]["request_url"] == f"PUBLIC_URL{EVENTS_PATH}"
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert manifest["oauth_config"]["redirect_urls"] == [f"PUBLIC_URL{REDIRECT_PATH}"]
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_slack_length_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000


# --- the Socket Mode variant -----------------------------------------------------------
SOCKET_MANIFEST = MANIFEST.with_name("manifest.socket.yml")


def without_urls(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with every request URL (and the OAuth redirect) taken out."""
    copy: dict[str, Any] = yaml.safe_load(yaml.safe_dump(manifest))
    for command in copy["features"]["slash_commands"]:
        command.pop("url", None)
    copy["settings"]["interactivity"].pop("request_url", None)
    copy["settings"]["event_subscriptions"].pop("request_url", None)
    copy["oauth_config"].pop("redirect_urls", None)
    copy["settings"]["socket_mode_enabled"] = True
    return copy


def test_the_socket_mode_manifest_is_the_http_one_without_urls(
    manifest: dict[str, Any],
) -> None:
    text = SOCKET_MANIFEST.read_text(encoding="utf-8")
    assert "PUBLIC_URL" not in text and "http" not in text.split("_metadata:")[1]
    socket: dict[str, Any] = yaml.safe_load(text)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is False
    # Same commands, scopes, events and texts: only how Slack reaches Parley differs.
    assert socket == without_urls(manifest)
