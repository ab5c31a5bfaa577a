"""The brief page end to end: ``/deadline brief`` typed in the chat, the page fetched from
the real aiohttp app on 127.0.0.1, read as a person (or a program) would read it."""

from __future__ import annotations

import json
import logging
import statistics
import time
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.brief.page import render_page
from bot.brief import assemble_brief
from bot.clock import ManualClock
from bot.domain import (
    DEFAULT_OFFSETS,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Stance,
)
from bot.messages import Actions, Audience
from bot.negotiation import Silence
from bot.runtime import Runtime
from bot.usecases.positions import MatrixState
from tests.brief.scenario import brief_path, seed
from tests.conftest import NOW, Chat
from tests.feeds.feedcheck import fetch, parse_both, subscribe

Client = TestClient[Any, Any]
GONE = b"No such brief: the link is wrong, or it was revoked.\n"


class Page(HTMLParser):
    """The text of the elements a reader looks at: each deadline card, each matrix row,
    each timeline entry (in document order)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.cards: list[str] = []
        self.rows: list[list[str]] = []
        self.entries: list[str] = []
        self.links: list[dict[str, str | None]] = []
        self._open: list[tuple[str, list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "li" and "deadline" in classes:
            self._open.append(("card", []))
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td") and self.rows:
            self._open.append(("cell", []))
        elif tag == "li" and "data-kind" in found:
            self._open.append(("entry", []))
        elif tag == "a":
            self.links.append(found)

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            return
        kind, parts = self._open[-1]
        text = " ".join(" ".join(parts).split())
        if tag == "li" and kind in ("card", "entry"):
            self._open.pop()
            (self.cards if kind == "card" else self.entries).append(text)
        elif tag in ("th", "td") and kind == "cell":
            self._open.pop()
            self.rows[-1].append(text)

    def handle_data(self, data: str) -> None:
        for _, parts in self._open:
            parts.append(data)


async def page_of(http: Client, path: str) -> Page:
    status, body, headers = await fetch(http, path)
    assert status == 200, body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    return Page(body.decode())


async def test_the_brief_shows_countdowns_matrix_offers_and_timeline(
    chat: Chat, clock: ManualClock, http: Client
) -> None:
    await seed(chat, clock)
    path = await brief_path(chat)
    assert chat.audiences == [Audience.EPHEMERAL] and chat.replies[0].sensitive
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, base64url: far more than 128 bits

    status, body, headers = await fetch(http, path)
    assert status == 200
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "private"
    assert "script-src 'sha256-" in headers["Content-Security-Policy"]
    page = Page(body.decode())
    d1, d2 = page.cards
    assert d1.startswith("D1 Signed usage agreement 3 days 16 hours left")
    assert "Due Mon 30 Nov 2026 09:00 EST (America/New_York)" in d1
    assert "On the table: O2 Best and final offer" in d1 and "Silent: @policy" in d1
    assert "Due Wed 02 Dec 2026 12:00 GMT (Europe/London)" in d2 and "Silent: Anthropic" in d2

    header, *rows = page.rows
    assert header == [
        "Party",
        "D1 Signed usage agreement",
        "D2 Counter-proposal on oversight",
    ]
    assert rows == [
        [
            "Anthropic",
            "conditional on O2 No mass surveillance of Americans; "
            "human judgment in final targeting",
            "Silent",
        ],
        [
            "Department of Defense",
            "support on O1 (an older offer) License for all lawful use",
            "undecided",
        ],
        ["@legal", "support on O2 Fine as drafted", "—"],
        ["@policy", "Silent", "—"],
    ]
    offers = [link for link in page.links if (link.get("href") or "").startswith("https://")]
    assert [(o["href"], o["rel"]) for o in offers] == [
        ("https://docs.example.com/draft.pdf", "noreferrer noopener"),
        ("https://docs.example.com/bafo.pdf", "noreferrer noopener"),
    ]
    assert "(docs.example.com)" in body.decode()

    newest, extension, *_, first = page.entries
    assert newest.startswith("Thu 26 Nov 2026 21:50 GMT D2 Department of Defense: undecided")
    assert extension.startswith("Thu 26 Nov 2026 16:40 EST D1 extended by @alex from ")
    assert "to Mon 30 Nov 2026 09:00 EST" in extension
    assert "because best and final offer under review" in extension
    assert first.startswith("Thu 26 Nov 2026 12:40 EST D1 created by @alex")
    changed = next(e for e in page.entries if "Anthropic: conditional" in e)
    assert "terms removed “Americans”; added “Americans; human judgment" in changed


async def test_json_is_the_same_data_and_ics_the_feed(
    chat: Chat, clock: ManualClock, http: Client
) -> None:
    await seed(chat, clock)
    path = await brief_path(chat)
    status, body, headers = await fetch(http, path + "?format=json")
    assert (status, headers["Content-Type"]) == (200, "application/json; charset=utf-8")
    assert headers["Referrer-Policy"] == "no-referrer"
    data = json.loads(body)
    assert [d["ref"] for d in data["deadlines"]] == ["D1", "D2"]
    assert data["deadlines"][0]["due_at"] == "2026-11-30T14:00:00Z"
    anthropic = data["matrix"][0]
    assert anthropic["party"] == "Anthropic"
    assert anthropic["positions"]["D1"]["offer"] == "O2"
    assert anthropic["positions"]["D2"] == {
        "stance": None,
        "terms": "",
        "offer": "",
        "stale": False,
        "silent": True,
        "commitment": "",
    }
    stamps = [entry["at"] for entry in data["timeline"]]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 11

    status, body, headers = await fetch(http, path + "?format=ics")
    assert (status, headers["Content-Type"]) == (200, "text/calendar; charset=utf-8")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert sorted(event.summary for event in parse_both(body).values()) == [
        "D1 Signed usage agreement",
        "D2 Counter-proposal on oversight",
    ]
    assert (await fetch(http, path + "?format=pdf"))[0] == 400


async def test_one_deadline_brief_and_its_calendar(
    chat: Chat, clock: ManualClock, http: Client
) -> None:
    await seed(chat, clock)
    path = await brief_path(chat, "/deadline brief D2")
    page = await page_of(http, path)
    assert [card.split(" 5 days")[0] for card in page.cards] == ["D2 Counter-proposal on oversight"]
    assert page.rows[0] == ["Party", "D2 Counter-proposal on oversight"]
    assert all(" D2 " in entry for entry in page.entries)
    status, body, _ = await fetch(http, path + "?format=ics")
    assert status == 200
    assert [e.summary for e in parse_both(body).values()] == ["D2 Counter-proposal on oversight"]


async def test_revoke_ends_every_brief_link_of_the_channel_and_nothing_else(
    chat: Chat, clock: ManualClock, http: Client
) -> None:
    await seed(chat, clock)
    channel = await brief_path(chat)
    one = await brief_path(chat, "/deadline brief D1")
    feed = await subscribe(chat)
    elsewhere = await brief_path(chat, "/deadline brief", channel_id="other")
    renewed = await brief_path(chat, "/deadline brief revoke")
    assert "no longer work" in chat.text()
    for gone in (channel, one):
        for suffix in ("", "?format=json", "?format=ics"):
            assert (await fetch(http, gone + suffix))[:2] == (404, GONE)
    assert (await fetch(http, renewed))[0] == 200
    assert (await fetch(http, elsewhere))[0] == 200
    assert (await fetch(http, feed))[0] == 200


async def test_tokens_open_only_their_own_kind_of_page(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    feed_token = (await subscribe(chat)).rsplit("/", 1)[1].removesuffix(".ics")
    brief_token = (await brief_path(chat)).rsplit("/", 1)[1]
    assert (await fetch(http, f"/brief/{feed_token}"))[:2] == (404, GONE)
    assert (await fetch(http, f"/calendar/{brief_token}.ics"))[:2] == (404, b"")
    for wrong in ("x", "A" * 43, brief_token[:-1] + "%00", "%2e%2e%2f" + brief_token):
        assert (await fetch(http, f"/brief/{wrong}"))[:2] == (404, GONE)


async def test_a_deadline_of_another_channel_cannot_be_briefed(chat: Chat) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    said = await chat.say("/deadline brief D1", channel_id="other")
    assert "/brief/" not in said


async def test_conditional_requests_and_changes(
    chat: Chat, clock: ManualClock, http: Client
) -> None:
    await seed(chat, clock)
    path = await brief_path(chat)
    for suffix in ("", "?format=json"):
        status, _, headers = await fetch(http, path + suffix)
        again = await fetch(http, path + suffix, **{"If-None-Match": headers["ETag"]})
        assert (again[0], again[1], again[2]["Cache-Control"]) == (304, b"", "private")
        assert again[2]["Referrer-Policy"] == "no-referrer"
    _, _, headers = await fetch(http, path)
    await chat.say("/position D2 oppose as Anthropic Not before the audit", user="dana")
    status, body, _ = await fetch(http, path, **{"If-None-Match": headers["ETag"]})
    assert status == 200 and "Not before the audit" in body.decode()


async def test_text_from_the_chat_is_escaped(chat: Chat, http: Client) -> None:
    await chat.say('/deadline add <script>alert(1)</script> & "co" due 2026-11-27 17:00 UTC')
    await chat.say("/position D1 oppose <img src=x onerror=alert(1)>")
    body = (await fetch(http, await brief_path(chat)))[1].decode()
    assert "<script>alert" not in body and "<img" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;" in body


async def test_alerts_sent_are_in_the_timeline(
    chat: Chat, clock: ManualClock, http: Client, runtime: Runtime
) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    clock.advance(timedelta(hours=6))  # past the 1-day reminder
    repository = runtime.repository
    claimed = await repository.claim_due_alerts(now=clock.now(), lease_seconds=60, limit=10)
    assert [alert.offset for alert in claimed] == [timedelta(days=1)]
    await repository.mark_alerts_sent(alert_ids=[claimed[0].id], sent_at=clock.now())
    page = await page_of(http, await brief_path(chat))
    assert page.entries[0] == "Thu 26 Nov 2026 18:00 EST D1 alert sent: 1d before the deadline"
    assert DEFAULT_OFFSETS[1] == timedelta(days=1)


async def test_the_brief_and_show_offer_a_button_that_mints_a_new_link(
    chat: Chat, http: Client
) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    await chat.say("/deadline show D1")
    (button,) = [
        b
        for m in chat.replies
        for block in m.blocks
        if isinstance(block, Actions)
        for b in block.buttons
        if b.label == "Brief"
    ]
    paths = []
    for _ in range(2):
        chat.replies = await chat.runtime.service.press(
            ctx=chat.context(user="sam"), action_id=button.action_id, value=button.value
        )
        assert chat.replies[0].sensitive and chat.replies[0].user_id == "sam"
        paths.append(chat.text().split("localhost:3000", 1)[1].split()[0])
    assert paths[0] != paths[1]
    for path in paths:
        assert (await page_of(http, path)).cards[0].startswith("D1 Signed usage agreement")
    elsewhere = await chat.runtime.service.press(
        ctx=chat.context(user="sam", channel_id="other"),
        action_id=button.action_id,
        value=button.value,
    )
    assert "/brief/" not in elsewhere[0].fallback


async def test_tokens_are_never_logged(
    chat: Chat, http: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    path = await brief_path(chat)
    token = path.rsplit("/", 1)[1]
    await fetch(http, path)
    await fetch(http, path + "?format=json")
    await fetch(http, path.replace(token[:6], "AAAAAA"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged and token[6:] not in logged
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any("/brief/~" in line for line in access), access
    metrics = (await fetch(http, "/metrics"))[1].decode()
    assert 'route="/brief/{token}"' in metrics and token not in metrics


def test_a_thousand_event_timeline_renders_in_under_50_ms() -> None:
    deadline = Deadline(
        id=1,
        workspace_id="shell:test",
        number=1,
        channel_id="negotiation",
        platform="shell",
        title="Signed usage agreement",
        due_at=NOW + timedelta(days=3),
        tz="America/New_York",
        owner_id="alex",
        status=DeadlineStatus.OPEN,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=NOW,
        updated_at=NOW,
    )
    events = [
        Event(
            deadline_id=1,
            kind=EventKind.POSITION_RECORDED,
            at=NOW + timedelta(minutes=n),
            actor_id=f"U{n % 7}",
            data={
                "stakeholder": f"party:p{n % 5}",
                "label": f"Party {n % 5}",
                "stance": Stance.CONDITIONAL.value,
                "terms": f"Clause {n}: no mass surveillance; review every {n % 9 + 1} months",
            },
        )
        for n in range(1000)
    ]
    state = MatrixState(positions=[], requests=[], silence=Silence(), offers=[])
    timings = []
    for _ in range(7):
        # CPU time of this thread: what the rendering costs, whatever else the machine runs.
        started = time.thread_time()
        brief = assemble_brief(
            title="Brief",
            now=NOW,
            deadlines=[deadline],
            states=[state],
            histories=[events],
            alerts=[],
        )
        html = render_page(brief, token_path="/brief/x")
        timings.append(time.thread_time() - started)
    assert html.count('<li data-kind="position_recorded">') == 1000
    assert statistics.median(timings) < 0.050, timings
