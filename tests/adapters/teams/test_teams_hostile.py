"""Hostile Teams input changes nothing: ill-typed activities get 400 and no traceback,
serviceUrls are read as the sender reads them, anonymous mode needs its flag, and
text people typed never becomes a markdown link in a card."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url
from yarl import URL

from adapters.teams.auth import service_url_problem
from adapters.teams.render import markdown, plain
from bot.clock import ManualClock
from tests.adapters.teams.teams_world import WORKSPACE, TeamsWorld, open_world, teams_settings
from tests.fakes.bot_connector import FakeBotConnector

ADD = "deadline add Signed usage agreement due Friday 17:00 America/New_York"
LINK = "[click here](https://evil.example/login)"
# A markdown inline link, full reference or link definition: "](", "][" or "]:",
# adjacent, as CommonMark wants them.
_MARKDOWN_LINK = re.compile(r"\][(\[:]")


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "Traceback" not in record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()


async def nothing_changed(world: TeamsWorld) -> None:
    assert world.connector.calls == []
    assert not await world.runtime.repository.list_deadlines(workspace_id=WORKSPACE)
    assert (
        await world.runtime.repository.latest_conversation_reference(workspace_id=WORKSPACE) is None
    )


def ill_typed(world: TeamsWorld, case: str) -> dict[str, Any]:
    activity = world.activity("channel_message", text=f"<at>Parley</at> {ADD}")
    cases: dict[str, dict[str, Any]] = {
        "entities a string": {"entities": "x"},
        "an entity a string": {"entities": ["x"]},
        "mentioned a list": {"entities": [{"type": "mention", "mentioned": ["x"]}]},
        "from a string": {"from": "x"},
        "conversation a number": {"conversation": 5},
        "conversation id a number": {"conversation": {"id": 5}},
        "tenant a string": {"channelData": {"tenant": "x"}},
        "text a list": {"text": ["deadline", "list"]},
        "members a string": {"type": "conversationUpdate", "membersAdded": ["x"]},
        "type missing": {"type": ""},
        "serviceUrl a number": {"serviceUrl": 5},
    }
    changes = cases[case]
    activity.update(changes)
    return activity


CASES = [
    "entities a string",
    "an entity a string",
    "mentioned a list",
    "from a string",
    "conversation a number",
    "conversation id a number",
    "tenant a string",
    "text a list",
    "members a string",
    "type missing",
    "serviceUrl a number",
]


@pytest.mark.parametrize("case", CASES)
async def test_an_ill_typed_activity_gets_400_and_changes_nothing(
    teams: TeamsWorld, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    posted = await teams.post(ill_typed(teams, case))
    assert posted.status == 400
    await nothing_changed(teams)
    no_traceback(caplog)


@pytest.mark.parametrize(
    "body", ["{x", "[" * 100_000 + "]" * 100_000, '"just a string"', "[]", "\xff\xfe"]
)
async def test_a_body_that_is_no_activity_gets_400(
    teams: TeamsWorld, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await teams.client.post(
        "/api/messages",
        data=body.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    await nothing_changed(teams)
    no_traceback(caplog)


BYPASS = "http://10.255.255.1\\@127.0.0.1:9/"


@pytest.mark.parametrize(
    "service_url",
    [
        BYPASS,
        "ftp://127.0.0.1/",
        "http://user@127.0.0.1:9/",
        "http://127.0.0.1%2F@10.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "javascript:alert(1)",
        "http://127.0.0.1 /",
        "//127.0.0.1/",
    ],
)
async def test_a_service_url_the_sender_would_read_otherwise_is_refused(
    teams: TeamsWorld, service_url: str
) -> None:
    activity = teams.activity("channel_message", text=f"<at>Parley</at> {ADD}")
    activity["serviceUrl"] = service_url
    posted = await teams.post(activity)
    assert posted.status in (400, 401)
    await nothing_changed(teams)


def test_the_reported_bypass_is_read_as_another_host_by_the_sender() -> None:
    # Why urlsplit alone was not enough: the sender (requests) goes to 10.255.255.1.
    assert urlsplit(BYPASS).hostname == "127.0.0.1"
    prepared = requests.Request("POST", BYPASS).prepare()
    assert parse_url(prepared.url or "").host == "10.255.255.1"
    assert service_url_problem(BYPASS, loopback_only=True) is not None
    assert service_url_problem(BYPASS, loopback_only=False) is not None


_PIECES = st.sampled_from(
    ["127.0.0.1", "localhost", "[::1]", "10.255.255.1", "example.com", "2130706433",
     "\\", "@", "%40", "%2F", ":", "9", "/", "#", "?", ".", "user", " ", "\t", "[", "]"]
)  # fmt: skip


def _loopback(host: str | None) -> bool:
    import ipaddress

    if host is None:
        return False
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@settings(derandomize=True, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(scheme=st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "http:"]),
       pieces=st.lists(_PIECES, min_size=1, max_size=6))  # fmt: skip
@example(scheme="http://", pieces=["10.255.255.1", "\\", "@", "127.0.0.1", ":", "9", "/"])
def test_an_accepted_loopback_url_is_loopback_to_every_parser(
    scheme: str, pieces: list[str]
) -> None:
    url = scheme + "".join(pieces)
    if service_url_problem(url, loopback_only=True) is not None:
        return
    # The sender: requests prepares the URL and urllib3 connects to its host.
    prepared = requests.Request("POST", url).prepare()
    assert _loopback(parse_url(prepared.url or "").host), url
    assert _loopback(urlsplit(url).hostname), url
    assert _loopback(URL(url).host), url


async def test_without_an_app_id_or_the_flag_teams_is_not_mounted(
    sqlite_url: str, clock: ManualClock, connector: FakeBotConnector
) -> None:
    settings_ = teams_settings(sqlite_url, teams_allow_anonymous=False)
    async with open_world(settings_, clock, connector) as world:
        posted = await world.post(world.activity("channel_message", text=f"<at>Parley</at> {ADD}"))
        assert posted.status == 404
        await nothing_changed(world)
        assert "teams" not in world.runtime.gateways


async def test_a_title_written_as_a_markdown_link_shows_as_text(teams: TeamsWorld) -> None:
    posted = await teams.say(f"deadline add {LINK} due Friday 17:00 America/New_York")
    assert posted.status == 200
    [reply] = posted.messages
    assert "click here" in reply.card_text and "https://evil.example/login" in reply.card_text
    texts = [
        str(element.get("text") or element.get("value") or "")
        for card in reply.cards
        for element in _elements(card)
    ]
    assert any("click here" in text for text in texts)
    for text in texts:
        assert not _MARKDOWN_LINK.search(text), text


def _elements(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock" or {"title", "value"} <= node.keys():
            found.append(node)
        for value in node.values():
            found.extend(_elements(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_elements(value))
    return found


@settings(derandomize=True, max_examples=300)
@given(st.text(alphabet=st.sampled_from("[]():*`_ \nab/h"), max_size=40))
def test_no_typed_text_renders_as_a_markdown_link(text: str) -> None:
    for rendered in (markdown(text), plain(text), markdown(f"<@U1|{text}>", {})):
        assert not _MARKDOWN_LINK.search(rendered), rendered
        # Nothing was taken out: every bracket the person typed is still shown.
        assert rendered.count("]") == text.count("]")


async def test_three_replays_of_one_activity_make_one_deadline(teams: TeamsWorld) -> None:
    activity = teams.activity("channel_message", text=f"<at>Parley</at> {ADD}")
    first = await teams.post(activity)
    assert first.status == 200 and len(first.messages) == 1
    for _ in range(3):
        again = await teams.post(activity)
        assert again.status == 200 and again.calls == []
    assert len(await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)) == 1
    # The same activity id in another conversation is another activity.
    other = {
        **activity,
        "conversation": {**activity["conversation"], "id": "19:other@thread.tacv2"},
    }
    assert (await teams.post(other)).status == 200
    assert len(await teams.runtime.repository.list_deadlines(workspace_id=WORKSPACE)) == 2
