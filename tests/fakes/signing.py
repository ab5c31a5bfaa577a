"""Sign request bodies exactly as Slack does, and build the bodies Slack sends.

Slack signs ``v0:{timestamp}:{raw body}`` with HMAC-SHA256 under the app's
signing secret and sends ``X-Slack-Request-Timestamp`` and
``X-Slack-Signature: v0=<hex digest>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"


def signature(body: str, *, secret: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str, *, secret: str, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """Headers Slack would send with ``body`` (timestamp: now, unless given)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret=secret, timestamp=ts),
    }


def slash_command_body(
    *,
    command: str,
    text: str,
    team_id: str = "T1",
    channel_id: str = "C1",
    user_id: str = "U1",
    user_name: str = "alice",
    response_url: str = "",
    trigger_id: str = "trigger-1",
) -> str:
    """The form-encoded body of a slash command (``command`` like ``/deadline``)."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "team_domain": "acme",
            "channel_id": channel_id,
            "channel_name": "negotiation",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interactive_body(payload: Mapping[str, Any]) -> str:
    """The form-encoded body of an interactivity request (``payload=<json>``)."""
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: Mapping[str, Any], *, team_id: str = "T1", event_id: str = "Ev1") -> str:
    """The JSON body of an Events API callback."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "api_app_id": "A1",
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team_id, "user_id": "UBOT", "is_bot": True, "enterprise_id": None}
            ],
        }
    )
