"""Calendar feeds end to end: commands typed in the chat, feeds fetched from the real
aiohttp app on 127.0.0.1, and every feed parsed back with icalendar and vobject."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.domain import DEFAULT_OFFSETS
from bot.messages import Audience
from bot.runtime import Runtime
from tests.conftest import Chat
from tests.feeds.feedcheck import fetch, link_in, parse_both, subscribe

Client = TestClient[Any, Any]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def test_channel_feed_reads_the_same_in_both_parsers(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    await chat.say("/position D1 oppose as Anthropic No mass surveillance; a human in targeting")
    await chat.say('/position D1 support as "Department of Defense" License for all lawful use')
    await chat.say("/position ask D1 @legal @policy")
    await chat.say("/deadline add Counter-offer due 2026-12-01 09:00 Europe/London remind 1d,1h")
    path = await subscribe(chat)
    assert chat.audiences == [Audience.EPHEMERAL]

    status, body, headers = await fetch(http, path)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Cache-Control"] == "private, max-age=300"
    events = parse_both(body)

    deadlines = await chat.runtime.repository.list_deadlines(workspace_id=chat.workspace)
    d1, d2 = sorted(deadlines, key=lambda d: d.number)
    first, second = events[f"{d1.uid}@parley"], events[f"{d2.uid}@parley"]
    assert len(d1.uid) == 32 and d1.uid != d2.uid
    assert first.summary == "D1 Signed usage agreement"
    assert (first.start_zone, first.start_utc) == ("America/New_York", at(2026, 11, 27, 22))
    assert (second.start_zone, second.start_utc) == ("Europe/London", at(2026, 12, 1, 9))
    assert first.duration == timedelta(minutes=15)
    assert (first.sequence, first.status) == (0, "CONFIRMED")
    assert sorted(-t for t in first.triggers) == sorted(DEFAULT_OFFSETS)
    assert sorted(second.triggers) == [-timedelta(days=1), -timedelta(hours=1)]
    description = first.description
    assert "Status" not in description or "open" in description
    assert "D1 Signed usage agreement — open" in description
    assert "1 support, 1 oppose; 0 of 2 asked have answered" in description
    assert "Anthropic: oppose — No mass surveillance; a human in targeting" in description
    assert "Waiting for: @legal, @policy" in description
    assert "/position D1 <support|oppose|conditional|undecided>" in description

    cal = __import__("icalendar").Calendar.from_ical(body)
    assert str(cal["name"]) == str(cal["x-wr-calname"]) == "Parley: negotiation"
    assert cal["refresh-interval"].params["VALUE"] == "DURATION"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in body
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in body
    assert str(cal["version"]) == "2.0" and "Parley" in str(cal["prodid"])
    assert b"RDATE" not in body
    assert body.count(b"BEGIN:VTIMEZONE") == 2
    stamp = cal.walk("VEVENT")[0].decoded("dtstamp")
    assert stamp == cal.walk("VEVENT")[0].decoded("last-modified") == chat.runtime.clock.now()


@pytest.mark.parametrize(
    ("when", "utc"),
    [
        # After the 2026-11-01 change New York is on EST (UTC-5) ...
        ("2026-11-27 17:00 America/New_York", at(2026, 11, 27, 22)),
        ("2027-01-15 09:30 America/New_York", at(2027, 1, 15, 14, 30)),
        # ... and after 2026-10-25 London is on GMT (UTC+0).
        ("2026-11-30 17:00 Europe/London", at(2026, 11, 30, 17)),
        ("2027-02-01 08:00 Europe/London", at(2027, 2, 1, 8)),
        # Next summer both are back on daylight time.
        ("2027-07-01 17:00 America/New_York", at(2027, 7, 1, 21)),
        ("2027-07-01 09:00 Europe/London", at(2027, 7, 1, 8)),
    ],
)
async def test_dst_instants_are_right_in_both_parsers(
    chat: Chat, http: Client, when: str, utc: datetime
) -> None:
    await chat.say(f"/deadline add Offer due {when}")
    events = parse_both((await fetch(http, await subscribe(chat)))[1])
    (event,) = events.values()
    assert event.start_utc == utc
    assert event.start_zone == when.rsplit(" ", 1)[1]


async def test_all_zones_of_a_feed_at_once(chat: Chat, http: Client) -> None:
    """Both DST examples in one feed, plus a zone without DST and plain UTC."""
    await chat.say("/deadline add New York due 2026-11-27 17:00 America/New_York")
    await chat.say("/deadline add London due 2026-10-30 09:00 Europe/London")  # in the past
    await chat.say("/deadline add London late due 2026-11-30 09:00 Europe/London")
    await chat.say("/deadline add Tokyo due 2026-12-02 09:00 Asia/Tokyo")
    await chat.say("/deadline add Zulu due 2026-12-03T09:00:00Z")
    _, body, _ = await fetch(http, await subscribe(chat))
    by_summary = {e.summary: e for e in parse_both(body).values()}
    assert by_summary["D1 New York"].start_utc == at(2026, 11, 27, 22)
    assert by_summary["D2 London late"].start_utc == at(2026, 11, 30, 9)
    assert by_summary["D3 Tokyo"].start_utc == at(2026, 12, 2, 0)
    assert by_summary["D4 Zulu"].start_utc == at(2026, 12, 3, 9)


async def test_extend_raises_sequence_and_cancel_marks_cancelled(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    path = await subscribe(chat)
    (before,) = parse_both((await fetch(http, path))[1]).values()
    assert before.sequence == 0

    chat.runtime.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    await chat.say("/deadline extend D1 to 2026-11-30 09:00 America/New_York because BAFO review")
    (extended,) = parse_both((await fetch(http, path))[1]).values()
    assert extended.uid == before.uid
    assert extended.sequence == 1
    assert extended.start_utc == at(2026, 11, 30, 14)

    await chat.say("/deadline cancel D1")
    (cancelled,) = parse_both((await fetch(http, path))[1]).values()
    assert (cancelled.uid, cancelled.sequence, cancelled.status) == (before.uid, 2, "CANCELLED")
    assert cancelled.triggers == ()  # no alarms for a cancelled deadline
    assert "[cancelled]" in cancelled.summary

    # Cancelled deadlines stay in the feed for 30 days, then leave it.
    chat.runtime.clock.advance(timedelta(days=29, hours=23))  # type: ignore[attr-defined]
    assert len(parse_both((await fetch(http, path))[1])) == 1
    chat.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    assert parse_both((await fetch(http, path))[1]) == {}


async def test_a_recorded_position_changes_the_feed(chat: Chat, http: Client) -> None:
    """Positions do not raise the deadline's sequence, but the feed must still change."""
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    path = await subscribe(chat)
    headers = (await fetch(http, path))[2]
    await chat.say("/position D1 support", user_id="dario")
    _, second, new_headers = await fetch(http, path)
    assert new_headers["ETag"] != headers["ETag"]
    (event,) = parse_both(second).values()
    assert "@dario: support" in event.description
    await chat.say("/position D1 oppose", user_id="dario")  # same instant, new stance
    (event,) = parse_both((await fetch(http, path))[1]).values()
    assert "@dario: oppose" in event.description


async def test_offers_are_listed_and_the_current_link_is_attached(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    path = await subscribe(chat)
    _, body, headers = await fetch(http, path)
    (event,) = parse_both(body).values()
    assert "Offers:" not in event.description and event.attach == ()

    chat.runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    await chat.say("/party add Anthropic @dana")
    await chat.say("/offer D1 Draft usage terms https://docs.example.com/draft?v=1&lang=en")
    await chat.say(
        "/offer D1 Best and final offer https://files.example.org/bafo.pdf from anthropic"
    )
    status, body, changed = await fetch(
        http, path, **{"If-Modified-Since": headers["Last-Modified"]}
    )
    assert status == 200 and changed["Last-Modified"] != headers["Last-Modified"]
    (event,) = parse_both(body).values()
    assert event.attach == ("https://files.example.org/bafo.pdf",)
    assert b"\r\nATTACH:https://files.example.org/bafo.pdf\r\n" in body  # a URI, the default
    assert event.url is None or event.url not in event.attach  # URL stays the chat link
    lines = event.description.splitlines()
    offers = lines[lines.index("Offers:") + 1 :][:2]
    assert offers == [
        "• O1 Draft usage terms (docs.example.com)",
        "• O2 Best and final offer (files.example.org) from Anthropic"
        " — current: https://files.example.org/bafo.pdf",
    ]
    assert "https://docs.example.com" not in event.description  # older links: by host only

    chat.runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    await chat.say("/offer D1 Counter-proposal")  # no link: nothing on the table to attach
    (event,) = parse_both((await fetch(http, path))[1]).values()
    assert event.attach == ()
    assert "• O3 Counter-proposal — current" in event.description.splitlines()


async def test_revoked_wrong_and_malformed_tokens_get_a_bare_404(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    first = await subscribe(chat)
    second = await subscribe(chat)
    assert first != second  # only hashes are stored: each request issues a new URL
    for path in (first, second):
        assert (await fetch(http, path))[0] == 200

    replacement = await subscribe(chat, "/deadline feed revoke")
    assert "previous URLs no longer work" in chat.text()
    assert (await fetch(http, replacement))[0] == 200
    token = first.rsplit("/", 1)[1].removesuffix(".ics")
    wrong = "A" * len(token)
    for path in (first, second, f"/calendar/{wrong}.ics", "/calendar/short.ics"):
        status, body, headers = await fetch(http, path)
        assert (status, body) == (404, b""), path
        assert "ETag" not in headers
    assert (await fetch(http, "/calendar/.ics"))[0] == 404
    # A revoked token stays dead when the channel asks for a URL again.
    await subscribe(chat)
    assert (await fetch(http, first))[0] == 404


async def test_feeds_never_cross_channels_or_workspaces(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Ours due 2026-11-27 17:00 America/New_York")
    await chat.say(
        "/deadline add Other channel due 2026-11-28 17:00 America/New_York", channel_id="elsewhere"
    )
    await chat.say(
        "/deadline add Other workspace due 2026-11-29 17:00 America/New_York",
        workspace_id="slack:T999",
        channel_id="elsewhere",
    )
    # The same channel id in another workspace is another channel.
    await chat.say(
        "/deadline add Same name, other workspace due 2026-11-29 17:00 America/New_York",
        workspace_id="slack:T999",
        channel_id=chat.channel,
    )
    events = parse_both((await fetch(http, await subscribe(chat)))[1])
    assert [e.summary for e in events.values()] == ["D1 Ours"]
    other = parse_both((await fetch(http, await subscribe(chat, workspace_id="slack:T999")))[1])
    assert [e.summary for e in other.values()] == ["D1 Same name, other workspace"]


async def test_mine_is_what_i_own_or_was_asked_about_in_this_workspace(
    chat: Chat, http: Client
) -> None:
    await chat.say("/deadline add Mine due 2026-11-27 17:00 America/New_York", user_id="ana")
    await chat.say("/deadline add Not mine due 2026-11-28 17:00 America/New_York", user_id="bo")
    await chat.say(
        "/deadline add Asked elsewhere due 2026-11-29 17:00 America/New_York",
        user_id="bo",
        channel_id="elsewhere",
    )
    await chat.say("/position ask D1 @ana", user_id="bo", channel_id="elsewhere")
    await chat.say(
        "/deadline add Other workspace due 2026-11-29 17:00 America/New_York",
        user_id="ana",
        workspace_id="slack:T999",
    )
    path = await subscribe(chat, "/deadline feed mine", user_id="ana")
    events = parse_both((await fetch(http, path))[1])
    assert sorted(e.summary for e in events.values()) == ["D1 Asked elsewhere", "D1 Mine"]
    assert b"Parley: my deadlines" in (await fetch(http, path))[1]
    # Revoking the channel's feed leaves personal feeds alone.
    await chat.say("/deadline feed revoke", user_id="ana")
    assert (await fetch(http, path))[0] == 200


async def test_conditional_requests(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    path = await subscribe(chat)
    status, body, headers = await fetch(http, path)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert modified == format_datetime(chat.runtime.clock.now(), usegmt=True)

    for condition in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", W/{etag}'},  # weak comparison, as RFC 9110 says
        {"If-None-Match": "*"},
        {"If-Modified-Since": modified},
        {"If-Modified-Since": format_datetime(at(2030, 1, 1), usegmt=True)},
    ):
        status, body, answer = await fetch(http, path, **condition)
        assert (status, body) == (304, b""), condition
        assert answer["ETag"] == etag
        assert answer["Cache-Control"] == "private, max-age=300"

    earlier = format_datetime(chat.runtime.clock.now() - timedelta(seconds=1), usegmt=True)
    for condition in (
        {"If-None-Match": '"something-else"'},
        {"If-Modified-Since": earlier},
        # If-None-Match decides when both are sent.
        {"If-None-Match": '"something-else"', "If-Modified-Since": modified},
    ):
        status, body, _ = await fetch(http, path, **condition)
        assert status == 200 and body, condition

    chat.runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    await chat.say("/deadline extend D1 to 2026-11-30 09:00 America/New_York")
    status, _, changed = await fetch(http, path, **{"If-None-Match": etag})
    assert status == 200
    assert changed["ETag"] != etag
    assert (await fetch(http, path, **{"If-Modified-Since": modified}))[0] == 200

    response = await http.head(path)
    assert response.status == 200 and response.headers["ETag"] == changed["ETag"]


async def test_add_to_calendar_link_serves_one_event(chat: Chat, http: Client) -> None:
    reply = await chat.say(
        "/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York"
    )
    buttons = [
        button
        for message in chat.replies
        for block in message.blocks
        for button in getattr(block, "buttons", ())
        if button.label == "Add to calendar"
    ]
    assert len(buttons) == 1 and buttons[0].url
    path = link_in(buttons[0].url)
    assert path.startswith("/calendar/event/")
    await chat.say("/deadline add Another due 2026-11-28 17:00 America/New_York")

    status, body, headers = await fetch(http, path)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Content-Disposition"].startswith("attachment;")
    (event,) = parse_both(body).values()
    assert event.summary == "D1 Signed usage agreement"
    assert event.start_utc == at(2026, 11, 27, 22)
    assert (await fetch(http, path, **{"If-None-Match": headers["ETag"]}))[0] == 304
    assert (await fetch(http, "/calendar/event/" + "0" * 32 + ".ics"))[:2] == (404, b"")
    assert "Add to calendar" in reply


async def test_tokens_are_stored_only_as_hashes_and_never_logged(
    chat: Chat, http: Client, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    path = await subscribe(chat)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes, base64url
    await fetch(http, path)
    await fetch(http, path.replace(token[:6], "AAAAAA"))  # a wrong token is logged too

    database = runtime.settings.database_url.split("///", 1)[1]
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT token_hash, kind, subject FROM feed_token").fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "channel", chat.channel)]
    for name in (database, database + "-wal"):
        assert token.encode() not in await asyncio.to_thread(Path(name).read_bytes)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged
    assert hashlib.sha256(token.encode()).hexdigest()[:8] in logged
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any("/calendar/~" in line for line in access), access


async def test_large_feeds_are_assembled_in_a_worker_thread_and_cached(
    chat: Chat, http: Client, runtime: Runtime
) -> None:
    from bot.calendar import EventCache
    from bot.feeds import THREAD_RENDER_AT, Feeds

    feeds = runtime.service.feeds
    assert isinstance(feeds, Feeds)
    for n in range(THREAD_RENDER_AT + 6):
        await chat.say(f"/deadline add Item {n} due 2026-12-{1 + n % 28:02d} 09:00 Europe/London")
    path = await subscribe(chat)
    _, body, headers = await fetch(http, path)
    assert len(parse_both(body)) == THREAD_RENDER_AT + 6
    cache: EventCache = feeds.events
    assert len(cache) == THREAD_RENDER_AT + 6
    # One change renders one event again; the rest come from the cache.
    chat.runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    await chat.say("/deadline extend D7 to 2026-12-24 09:00 Europe/London")
    scope = await feeds.scope_for(path.rsplit("/", 1)[1][:-4])
    assert scope is not None
    items = await runtime.repository.list_feed_items(
        scope=scope,
        cancelled_since=chat.runtime.clock.now() - timedelta(days=30),
    )
    fresh = [item for item in items if cache.get(item, None) is None]
    assert [item.deadline.ref for item in fresh] == ["D7"]
    _, changed, new_headers = await fetch(http, path)
    assert new_headers["ETag"] != headers["ETag"]
    assert parse_both(changed)[f"{fresh[0].deadline.uid}@parley"].sequence == 1


async def test_a_write_the_quick_check_misses_shows_within_a_minute(
    chat: Chat, http: Client, runtime: Runtime
) -> None:
    """Cached feeds are served while the workspace's newest history event is
    unchanged. On PostgreSQL a write can commit under an older event id, so the
    feed's own rows are checked again at least every minute. Simulated here by a
    write that adds no history event."""
    await chat.say("/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York")
    await chat.say("/position D1 oppose as Anthropic No mass surveillance")
    path = await subscribe(chat)
    etag = (await fetch(http, path))[2]["ETag"]
    database = runtime.settings.database_url.split("///", 1)[1]

    def rewrite_terms() -> None:
        with sqlite3.connect(database) as conn:
            conn.execute("UPDATE position SET terms = 'Human judgment in targeting'")

    await asyncio.to_thread(rewrite_terms)
    assert (await fetch(http, path))[2]["ETag"] == etag
    runtime.clock.advance(timedelta(seconds=61))  # type: ignore[attr-defined]
    _, body, headers = await fetch(http, path)
    assert headers["ETag"] != etag
    (event,) = parse_both(body).values()
    assert "Anthropic: oppose — Human judgment in targeting" in event.description


async def test_simultaneous_requests_for_a_cold_feed_get_the_same_answer(
    chat: Chat, http: Client
) -> None:
    for n in range(5):
        await chat.say(f"/deadline add Item {n} due 2026-12-0{n + 1} 09:00 Europe/London")
    path = await subscribe(chat)
    answers = await asyncio.gather(*(fetch(http, path) for _ in range(8)))
    assert {status for status, _, _ in answers} == {200}
    assert len({headers["ETag"] for _, _, headers in answers}) == 1
    assert len({body for _, body, _ in answers}) == 1


async def test_mine_revoke_replaces_only_my_personal_feed(chat: Chat, http: Client) -> None:
    await chat.say("/deadline add Mine due 2026-11-27 17:00 America/New_York", user_id="ana")
    channel_feed = await subscribe(chat, user_id="ana")
    personal = await subscribe(chat, "/deadline feed mine", user_id="ana")
    someone_else = await subscribe(chat, "/deadline feed mine", user_id="bo")
    replacement = await subscribe(chat, "/deadline feed mine revoke", user_id="ana")
    assert "your previous personal URLs no longer work" in chat.text()
    assert (await fetch(http, personal))[0] == 404
    for path in (replacement, channel_feed, someone_else):
        assert (await fetch(http, path))[0] == 200, path
