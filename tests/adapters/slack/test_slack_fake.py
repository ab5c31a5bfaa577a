"""The fake Slack Web API itself: what it records and how it fails on demand."""

from __future__ import annotations

import itertools

import aiohttp
import pytest

from tests.fakes.slack_api import FakeSlackApi


async def post(fake: FakeSlackApi, method: str, **params: str) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake.api_url + method, data=params, headers={"Authorization": "Bearer xoxb-1"}
        ) as response,
    ):
        return response.status, dict(response.headers), await response.text()


async def test_calls_are_recorded_with_how_they_were_answered() -> None:
    async with FakeSlackApi() as fake:
        fake.fail("chat.postMessage", status=429, retry_after=7)
        fake.fail("chat.postMessage", status=500)
        fake.fail("chat.postMessage", error="channel_not_found")
        answers = [await post(fake, "chat.postMessage", channel="C1") for _ in range(4)]
        assert [a[0] for a in answers] == [429, 500, 200, 200]
        assert answers[0][1]["Retry-After"] == "7"
        assert '"channel_not_found"' in answers[2][2]
        calls = fake.calls_to("chat.postMessage")
        assert [(c.status, c.error, c.accepted) for c in calls] == [
            (429, None, False),
            (500, None, False),
            (200, "channel_not_found", False),
            (200, None, True),
        ]
        assert all(c.token == "xoxb-1" and c.params["channel"] == "C1" for c in calls)
        assert calls[0].at <= calls[-1].at


async def test_chaos_answers_by_the_chooser() -> None:
    choices = itertools.cycle([None, 429, 503, "fatal_error"])
    async with FakeSlackApi() as fake:
        fake.chaos("chat.postMessage", lambda: next(choices), retry_after=2)
        statuses = [(await post(fake, "chat.postMessage", channel="C1"))[0] for _ in range(4)]
        assert statuses == [200, 429, 503, 200]
        assert [c.accepted for c in fake.calls_to("chat.postMessage")] == [
            True,
            False,
            False,
            False,
        ]


async def test_wait_for_gives_up_after_its_time() -> None:
    async with FakeSlackApi() as fake:
        with pytest.raises(TimeoutError):
            await fake.wait_for("chat.postMessage", within=0.05)
