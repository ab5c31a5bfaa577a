"""Helpers for the operations tests: Slack settings for the fake, signed slash
commands through Parley's real aiohttp app, Prometheus text as a dict, what
Parley's log handler wrote (``capture``), and the JSON log of a `parley`
process (``ServerLog``)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Settings
from bot.logs import make_handler
from tests.fakes.signing import signed_headers, slash_command_body
from tests.fakes.slack_api import FakeSlackApi

SECRET = "ops-signing-secret-5f1c0e9a7b"
BOT_TOKEN = "xoxb-1234-5678-opsbottokensecret"
TEAM = "T1"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def slack_settings(api: FakeSlackApi) -> dict[str, Any]:
    """Settings overrides for single-workspace Slack against the fake."""
    return {
        "slack_signing_secret": SECRET,
        "slack_bot_token": BOT_TOKEN,
        "slack_api_url": api.api_url,
        "slack_client_id": "",
        "slack_client_secret": "",
        "microsoft_app_id": "",
        "microsoft_app_password": "",
        "teams_enabled": False,
    }


async def slash(
    http: TestClient[Any, Any],
    line: str,
    *,
    api: FakeSlackApi,
    headers: dict[str, str] | None = None,
    channel_id: str = "C1",
) -> tuple[int, dict[str, Any], Mapping[str, str]]:
    """POST a signed ``/deadline ...`` command; return status, ack body and headers."""
    command, _, words = line.partition(" ")
    body = slash_command_body(
        command=command,
        text=words,
        team_id=TEAM,
        channel_id=channel_id,
        response_url=api.response_url(secrets.token_hex(4)),
    )
    sent = signed_headers(body, secret=SECRET) | (headers or {})
    response = await http.post("/slack/events", data=body, headers=sent)
    raw = await response.text()
    return response.status, (json.loads(raw) if raw else {}), response.headers


def samples(exposition: str) -> Samples:
    """Prometheus text -> {(sample name, labels): value}."""
    found: Samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


@dataclass
class Captured:
    out: io.StringIO  # what Parley's handler wrote
    raw: io.StringIO  # the same records, unfiltered

    def lines(self) -> list[str]:
        return [line for line in self.out.getvalue().splitlines() if line.strip()]


def capture(settings: Settings) -> Iterator[Captured]:
    root = logging.getLogger()
    captured = Captured(out=io.StringIO(), raw=io.StringIO())
    raw = logging.StreamHandler(captured.raw)
    raw.setFormatter(logging.Formatter("%(name)s %(message)s"))
    parley = make_handler(settings, captured.out)
    level = root.level
    root.addHandler(raw)  # before Parley's handler, which rewrites the records
    root.addHandler(parley)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(parley)
        root.removeHandler(raw)
        root.setLevel(level)


class ServerLog:
    """The JSON lines a subprocess writes to stderr, awaitable by content."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode())
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], within: float
    ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for line in self.lines:
                entry = json.loads(line)
                if match(entry):
                    return entry  # type: ignore[no-any-return]
            return None

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        entry = found()
        assert entry is not None
        return entry

    async def close(self) -> None:
        await self._task
