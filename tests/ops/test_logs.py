"""Logs: LOG_FORMAT=json gives one JSON object per line with the request id, workspace,
command and outcome; no secret reaches any log line at any level, aiohttp's access
log included. Real requests carry secrets in headers, paths and query strings; a
raw handler (no filters, ahead of Parley's) proves the secrets were really logged
before redaction, so the check is not vacuous."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.logs import (
    _PATTERNS,
    EXCEPTION_MAX,
    MESSAGE_MAX,
    REDACTED,
    Redactor,
    configured_secrets,
    make_handler,
    may_match,
)
from bot.main import build_app, open_runtime
from tests.fakes.slack_api import FakeSlackApi
from tests.ops.opskit import BOT_TOKEN, SECRET, Captured, capture, slack_settings, slash

DUE = "2026-11-27T17:00-05:00"
APP_PASSWORD = "ms-app-password-Zq9"
BEARER = "bearer-credential-7d1f"
FEED_TOKEN = "AbCdEfGhIjKlMnOpQrStUv0123456789"
QUERY_TOKEN = "query-token-41b2"
USER_TOKEN = "xoxp-9999-8888-usertokenvalue"


@pytest.fixture(params=["json", "text"])
def settings(request: pytest.FixtureRequest, sqlite_url: str, slack_api: FakeSlackApi) -> Settings:
    return load_settings(
        database_url=sqlite_url,
        log_format=request.param,
        log_level="DEBUG",
        **slack_settings(slack_api)
        | {"microsoft_app_id": "00000000-app", "microsoft_app_password": APP_PASSWORD},
    )


@pytest.fixture
def logs(settings: Settings) -> Iterator[Captured]:
    yield from capture(settings)


@pytest.fixture
async def http(
    settings: Settings, clock: ManualClock, logs: Captured
) -> AsyncIterator[TestClient[Any, Any]]:
    async with (
        open_runtime(settings, clock=clock) as runtime,
        TestClient(TestServer(build_app(runtime))) as client,
    ):
        yield client


SECRETS = (SECRET, BOT_TOKEN, APP_PASSWORD, BEARER, FEED_TOKEN, QUERY_TOKEN, USER_TOKEN)


async def drive(
    http: TestClient[Any, Any], api: FakeSlackApi, settings: Settings
) -> Mapping[str, str]:
    """Requests and log calls that put every secret in front of the logging system."""
    auth = {"Authorization": f"Bearer {BEARER}", "X-Request-Id": "req-ops-42"}
    status, ack, headers = await slash(
        http, f"/deadline add Signed usage agreement due {DUE}", api=api, headers=auth
    )
    assert status == 200 and ack["response_type"] == "in_channel"
    forged = await http.post(
        "/slack/events",
        data="command=%2Fdeadline&text=list",
        headers={"X-Slack-Signature": "v0=" + "ab" * 32, "X-Slack-Request-Timestamp": "1"},
    )
    assert forged.status == 401
    await http.get(f"/calendar/{FEED_TOKEN}.ics", headers={"Authorization": f"Basic {BEARER}"})
    await http.get(f"/calendar/event/{FEED_TOKEN}.ics")
    await http.get(f"/healthz?token={QUERY_TOKEN}&client_secret={APP_PASSWORD}")

    # What a library or a careless line might log, at every level.
    log = logging.getLogger("parley.test")
    log.debug("settings: %r", settings)
    log.info("calling Slack with token=%s for %s", BOT_TOKEN, USER_TOKEN)
    log.warning("headers: %s", {"Authorization": f"Bearer {BEARER}", "X-Other": "ok"})
    try:
        raise RuntimeError(f"signing secret {SECRET} rejected; password {APP_PASSWORD}")
    except RuntimeError:
        log.error("request failed", exc_info=True)
        log.critical("still failing: %s", SECRET, stack_info=True)
    return headers


async def test_no_secret_in_any_line_at_any_level(
    http: TestClient[Any, Any], slack_api: FakeSlackApi, logs: Captured, settings: Settings
) -> None:
    await drive(http, slack_api, settings)
    raw = logs.raw.getvalue()
    for secret in (SECRET, BOT_TOKEN, APP_PASSWORD, BEARER, FEED_TOKEN, QUERY_TOKEN):
        assert secret in raw, f"the test never logged {secret!r}"
    assert f"/calendar/{FEED_TOKEN}.ics" in raw, "the access log saw the feed token"
    out = logs.out.getvalue()
    assert REDACTED in out
    for secret in SECRETS:
        assert secret not in out, f"{secret!r} leaked into the {settings.log_format} log"


@pytest.mark.parametrize("settings", ["json"], indirect=True)
async def test_json_lines_carry_request_id_workspace_command_and_outcome(
    http: TestClient[Any, Any], slack_api: FakeSlackApi, logs: Captured, settings: Settings
) -> None:
    headers = await drive(http, slack_api, settings)
    assert headers["X-Request-Id"] == "req-ops-42"
    entries = [json.loads(line) for line in logs.lines()]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
    levels = {entry["level"] for entry in entries}
    assert {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} <= levels

    ours = [e for e in entries if e.get("request_id") == "req-ops-42"]
    [command] = [e for e in ours if e["logger"] == "parley.command"]
    assert command["workspace"] == "slack:T1"
    assert command["command"] == "deadline add"
    assert command["outcome"] == "ok"
    [access] = [e for e in ours if e["logger"] == "aiohttp.access"]
    assert access["command"] == "deadline add" and access["outcome"] == "ok"
    assert "POST /slack/events" in access["message"]

    # Other requests got ids of their own, echoed in the response.
    others = {e["request_id"] for e in entries if e["logger"] == "aiohttp.access"}
    assert len(others) >= 5
    response = await http.get("/healthz")
    assert response.headers["X-Request-Id"] not in others
    [error] = [e for e in entries if e["message"] == "request failed"]
    assert "RuntimeError" in error["exception"] and REDACTED in error["exception"]


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("token xoxb-123-456-abcdef here", "token  here"),
        ("app token xapp-1-A0-123-abc", "app token "),
        ("Authorization: Bearer abc.def.ghi", "Authorization: "),
        ("{'authorization': 'Basic dXNlcjpwYXNz'}", "{'authorization': ''}"),
        ("jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl", "jwt "),
        (
            "postgresql+asyncpg://parley:s3cret@db:5432/parley",
            "postgresql+asyncpg://parley:@db:5432/parley",
        ),
        ('"GET /calendar/tok123.ics HTTP/1.1" 200', '"GET /calendar/.ics HTTP/1.1" 200'),
        ("GET /calendar/event/uid-1.ics", "GET /calendar/event/.ics"),
        (
            "GET /calendar/event/3f2a9c1d0b7e4a5f8c6d2e1f0a9b8c7d."
            "0123456789abcdef0123456789abcdef.ics",
            "GET /calendar/event/.ics",
        ),
        ("GET /calendar/~3f2a.ics", "GET /calendar/~3f2a.ics"),
        ("/slack/oauth_redirect?code=123.456&state=xyz", "/slack/oauth_redirect?code=&state="),
        (
            "wss://wss.example/link/?ticket=4f2a-9b&app_id=A1",
            "wss://wss.example/link/?ticket=&app_id=A1",
        ),
        ("X-Slack-Signature: v0=" + "0a" * 32, "X-Slack-Signature: v0="),
        (
            "POST https://hooks.slack.com/commands/T1/123/AbCd returned 200",
            "POST https://hooks.slack.com/ returned 200",
        ),
        (
            "response_url=https%3A%2F%2Fhooks.slack.com%2Factions%2FT1%2F9%2Fx&text=list",
            "response_url=&text=list",
        ),
        ("{'response_url': 'http://127.0.0.1:9/r1', 'x': 1}", "{'response_url': '', 'x': 1}"),
        ('{"response_url": "https://example.com/r"}', '{"response_url": ""}'),
    ],
)
def test_redaction_patterns(line: str, kept: str) -> None:
    redacted = Redactor().redact(line)
    assert redacted.replace(REDACTED, "") == kept


# Pieces of what the patterns look for, spelt in several cases, and letters that a
# case-insensitive pattern also reads as ASCII ones (ſ as s, K as k, ı and İ as i).
_PIECES = [
    "Authorization", "proxy-authorization", "Bearer ", "BASIC ", "baſic ", "xoxb-1-a",
    "xoxp-", "xapp-1-A", "xoxe.1-a", "eyJhbGciO", ".eyJzdWIi", ".c2ln", "v0=", "0a" * 8,
    "hooks.slack.com/", "HOOKS.SLACK.COM%2F", "response_url", "RESPONSE_URL", "https://",
    "u:p@h", "/calendar/", "/calendar/event/", "~3f", ".ics", "token", "Client_Secret",
    "code", "STATE", "pasſword", "signature", "sig", "api_key", "toKen", "TICKET", "=", ":", "/",
    "@", "'", '"', " ", "&", "?", "x", "1", "K", "ı", "İ", "é", "\n", "[10/Oct/2025:13:55:36]",
]  # fmt: skip


def redacted_by_every_pattern(line: str) -> str:
    for pattern, replacement, _ in _PATTERNS:
        line = pattern.sub(replacement, line)
    return line


@examples(derandomize=True, max_examples=1500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=14).map("".join))
def test_the_quick_check_skips_only_lines_that_no_pattern_changes(line: str) -> None:
    assert Redactor().redact(line) == redacted_by_every_pattern(line)


def test_ordinary_lines_skip_the_patterns() -> None:
    access = '127.0.0.1 [28/Nov/2026:06:54:42 +0000] "POST /slack/events HTTP/1.1" 200 1893 "-"'
    assert not may_match(access)
    assert not may_match("/deadline list: ok in 1.2 ms")
    assert may_match("GET /slack/oauth_redirect?code=1")


def test_configured_secrets_include_the_database_password() -> None:
    settings = load_settings(
        database_url="postgresql+asyncpg://parley:p%40ss-w0rd@db.example.com/parley",
        slack_signing_secret="signing-secret-xyz",
        slack_bot_token="xoxb-1",
    )
    redactor = Redactor(configured_secrets(settings))
    line = redactor.redact("connect p@ss-w0rd p%40ss-w0rd signing-secret-xyz")
    assert line == f"connect {REDACTED} {REDACTED} {REDACTED}"


def test_a_huge_record_is_cut_before_redaction_and_a_secret_at_the_cut_goes_whole() -> None:
    secret = "s3cret-" + "k" * 40
    redactor = Redactor([secret])
    for cut_at in (MESSAGE_MAX - 10, MESSAGE_MAX - 1, MESSAGE_MAX):
        text = "a" * cut_at + secret + "b" * 1_000_000
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s", (text,), None)
        assert redactor.filter(record)
        message = record.getMessage()
        assert len(message) < MESSAGE_MAX + 100
        assert "more characters not logged" in message
        assert "s3cret" not in message and "kkkkk" not in message


def test_exceptions_are_cut_too() -> None:
    try:
        raise ValueError("x" * 1_000_000)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    Redactor().filter(record)
    assert record.exc_text is not None and len(record.exc_text) < EXCEPTION_MAX + 100


@pytest.mark.parametrize(
    "name",
    [
        "slack_bolt",
        "slack_bolt.AsyncApp",
        "slack_sdk.web",
        "slack_sdk.socket_mode",
        "msrest.http_logger",
    ],
)
def test_sdk_records_below_warning_are_never_written(name: str, settings: Settings) -> None:
    out = io.StringIO()
    handler = make_handler(settings, out)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING):
        handler.handle(logging.LogRecord(name, level, __file__, 1, f"body at {level}", (), None))
    assert "body at 10" not in out.getvalue() and "body at 20" not in out.getvalue()
    assert "body at 30" in out.getvalue()
