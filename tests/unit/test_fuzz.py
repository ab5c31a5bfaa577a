"""Arbitrary text through grammar and service: a reply or a helpful error, never a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import Context
from bot.errors import UserError
from bot.grammar import parse_command
from bot.main import open_runtime
from bot.runtime import Runtime
from tests.conftest import NOW

WORDS = st.sampled_from(
    [
        "add",
        "list",
        "all",
        "show",
        "extend",
        "to",
        "because",
        "done",
        "cancel",
        "remind",
        "feed",
        "mine",
        "revoke",
        "help",
        "ask",
        "due",
        "as",
        "D1",
        "1",
        "D2",
        "Sig",
        "support",
        "oppose",
        "maybe",
        "tomorrow",
        "9am",
        "Friday",
        "17:00",
        "ET",
        "America/New_York",
        "7d,1h",
        "0m",
        "99w",
        "@legal",
        "<@U1|x>",
        '"',
        "“Dept”",
        "in 3 days",
        "2026-11-27",
    ]
)
LINES = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=10).map(" ".join),
)


@pytest.fixture(scope="module")
def loop_and_runtime(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[asyncio.AbstractEventLoop, Runtime]]:
    loop = asyncio.new_event_loop()
    db = Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.db"
    manager = open_runtime(
        load_settings(database_url=f"sqlite+aiosqlite:///{db}"), clock=ManualClock(NOW)
    )
    runtime = loop.run_until_complete(manager.__aenter__())
    ctx = Context(workspace_id="shell:fuzz", channel_id="c", user_id="u", tz="America/New_York")
    loop.run_until_complete(
        runtime.service.handle(
            ctx=ctx, command="deadline", text="add Signed usage due Friday 17:00"
        )
    )
    yield loop, runtime
    loop.run_until_complete(manager.__aexit__(None, None, None))
    loop.close()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(["deadline", "position"]), text=LINES)
def test_any_text_gets_a_reply_or_a_helpful_error(
    loop_and_runtime: tuple[asyncio.AbstractEventLoop, Runtime], command: str, text: str
) -> None:
    loop, runtime = loop_and_runtime
    ctx = Context(workspace_id="shell:fuzz", channel_id="c", user_id="u", tz="America/New_York")
    replies = loop.run_until_complete(runtime.service.handle(ctx=ctx, command=command, text=text))
    assert replies and all(m.fallback.strip() for m in replies)
    try:
        parse_command(command, text)
    except UserError as error:
        # The grammar refused it: the reply is that error, and it says how to fix the input.
        assert replies[0].fallback == str(error)
        assert error.hint or "help" in error.message.lower() or "usage" in error.message.lower()
