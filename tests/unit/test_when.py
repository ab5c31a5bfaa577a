"""bot.when: every accepted form gives the exact instant; every refusal says what was understood."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import WhenError
from bot.when import parse_when, warm_up

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # Thursday; 12:00 in New York, 17:00 in London
NY = "America/New_York"
LONDON = "Europe/London"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


@pytest.mark.parametrize(
    ("text", "user_tz", "expected", "expected_tz"),
    [
        # ISO 8601
        ("2026-11-27T17:00-05:00", NY, utc(2026, 11, 27, 22), NY),
        ("2026-11-27T17:00:00.000-05:00", NY, utc(2026, 11, 27, 22), NY),
        ("2026-11-27T17:00-0500", NY, utc(2026, 11, 27, 22), NY),
        ("2026-11-27T17:00-05:00", LONDON, utc(2026, 11, 27, 22), "UTC"),  # offset not London's
        ("2026-11-27T17:00+00:00", LONDON, utc(2026, 11, 27, 17), LONDON),
        ("2026-11-27T22:00Z", NY, utc(2026, 11, 27, 22), "UTC"),
        ("2026-11-27 17:00", NY, utc(2026, 11, 27, 22), NY),
        ("2026-11-27 17:00", LONDON, utc(2026, 11, 27, 17), LONDON),
        ("2026-11-27 17:00 America/New_York", LONDON, utc(2026, 11, 27, 22), NY),
        ("2026-11-27 17:00 america/new_york", LONDON, utc(2026, 11, 27, 22), NY),
        ("2026-11-27 17:00 Europe/London", NY, utc(2026, 11, 27, 17), LONDON),
        ("2026-11-27T17:00-05:00 Europe/London", NY, utc(2026, 11, 27, 22), LONDON),
        ("2026-11-27", NY, utc(2026, 11, 27, 22), NY),  # no time: 17:00
        # natural language, in the user's zone or the one named
        ("Friday 17:00 America/New_York", LONDON, utc(2026, 11, 27, 22), NY),
        ("Friday 17:00 (America/New_York)", LONDON, utc(2026, 11, 27, 22), NY),
        ("Friday at 17:00 in Europe/London", NY, utc(2026, 11, 27, 17), LONDON),
        ("Friday 17:00", NY, utc(2026, 11, 27, 22), NY),
        ("Friday 17:00", LONDON, utc(2026, 11, 27, 17), LONDON),
        ("Fri 5pm ET", LONDON, utc(2026, 11, 27, 22), NY),
        ("fri 5pm et", LONDON, utc(2026, 11, 27, 22), NY),
        ("Fri 5pm PT", NY, utc(2026, 11, 28, 1), "America/Los_Angeles"),
        ("Fri 5pm CT", NY, utc(2026, 11, 27, 23), "America/Chicago"),
        ("Fri 5pm MST", NY, utc(2026, 11, 28, 0), "America/Denver"),
        ("Friday 17:00 CET", NY, utc(2026, 11, 27, 16), "Europe/Paris"),
        ("Friday 17:00 GMT", LONDON, utc(2026, 11, 27, 17), "UTC"),
        ("Friday 17:00 JST", NY, utc(2026, 11, 27, 8), "Asia/Tokyo"),
        ("Friday 17:00 AEDT", NY, utc(2026, 11, 27, 6), "Australia/Sydney"),
        ("Friday 17:00 AEST", NY, utc(2026, 11, 27, 6), "Australia/Sydney"),  # Sydney's clock
        ("Friday 17:00 UTC", NY, utc(2026, 11, 27, 17), "UTC"),
        ("Friday 17:00 GMT", NY, utc(2026, 11, 27, 17), "UTC"),
        ("Friday 5pm UTC+2", NY, utc(2026, 11, 27, 15), "UTC"),  # not New York's offset
        ("Friday 5pm UTC-5", NY, utc(2026, 11, 27, 22), NY),  # New York's offset that day
        ("tomorrow 9am", NY, utc(2026, 11, 27, 14), NY),
        ("tomorrow", NY, utc(2026, 11, 27, 22), NY),
        ("in 3 days", NY, utc(2026, 11, 29, 22), NY),  # a day, no time: 17:00
        ("in 3 hours", NY, utc(2026, 11, 26, 20), NY),
        ("in 90 minutes", NY, utc(2026, 11, 26, 18, 30), NY),
        ("2 hours from now", LONDON, utc(2026, 11, 26, 19), LONDON),
        ("next Monday 09:00", NY, utc(2026, 11, 30, 14), NY),
        ("monday 09:00", NY, utc(2026, 11, 30, 14), NY),
        ("Nov 30 5pm", NY, utc(2026, 11, 30, 22), NY),
        ("30 November 17:00", NY, utc(2026, 11, 30, 22), NY),
        ("Friday", NY, utc(2026, 11, 27, 22), NY),
        ("friday eod", NY, utc(2026, 11, 27, 22), NY),
        # a weekday name: today if still ahead, else the next one
        ("Thursday 18:00", NY, utc(2026, 11, 26, 23), NY),
        ("Thursday", NY, utc(2026, 11, 26, 22), NY),
        ("Thursday 9:00", NY, utc(2026, 12, 3, 14), NY),
        ("Thursday 11:00 America/New_York", LONDON, utc(2026, 12, 3, 16), NY),
        ("next Thursday 18:00", NY, utc(2026, 12, 3, 23), NY),
        ("Wednesday 10:00", NY, utc(2026, 12, 2, 15), NY),
        # all-numeric dates that only one way round are dates
        ("27/11/2026 17:00", NY, utc(2026, 11, 27, 22), NY),
        ("11/27/2026 17:00", NY, utc(2026, 11, 27, 22), NY),
        ("27.11.2026 17:00", NY, utc(2026, 11, 27, 22), NY),
        ("12/12/2026 9am", NY, utc(2026, 12, 12, 14), NY),
        ("11/30 5pm", NY, utc(2026, 11, 30, 22), NY),
    ],
)
def test_accepted_forms(text: str, user_tz: str, expected: datetime, expected_tz: str) -> None:
    when = parse_when(text, now=NOW, tz=user_tz)
    assert when.at == expected
    assert when.tz == expected_tz
    assert isinstance(when.at.tzinfo, ZoneInfo)
    assert when.at.tzinfo.key == expected_tz


def test_understood_names_the_local_time_and_zone() -> None:
    when = parse_when("Friday 17:00 America/New_York", now=NOW, tz=LONDON)
    assert when.understood == "Fri 27 Nov 2026 17:00 EST (America/New_York)"
    assert parse_when("Friday 17:00 UTC", now=NOW, tz=NY).understood == "Fri 27 Nov 2026 17:00 UTC"


def test_a_day_without_a_time_is_close_of_business_and_says_so() -> None:
    when = parse_when("Friday", now=NOW, tz=NY)
    assert when.at.hour == 17
    assert "no time given, so 17:00" in when.understood


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-12-01 12:00", NY, utc(2026, 12, 1, 17)),  # after 2026-11-01: UTC-5
        ("2027-07-01 12:00", NY, utc(2027, 7, 1, 16)),  # summer: UTC-4
        ("2026-12-01 12:00", LONDON, utc(2026, 12, 1, 12)),  # after 2026-10-25: UTC+0
        ("2027-07-01 12:00", LONDON, utc(2027, 7, 1, 11)),  # summer: UTC+1
        ("Jul 1 2027 12:00", NY, utc(2027, 7, 1, 16)),
        ("Jul 1 2027 12:00", LONDON, utc(2027, 7, 1, 11)),
        ("2027-07-01T12:00-04:00", NY, utc(2027, 7, 1, 16)),
    ],
)
def test_daylight_saving_offsets(text: str, tz: str, expected: datetime) -> None:
    when = parse_when(text, now=NOW, tz=tz)
    assert when.at == expected
    assert when.tz == tz


def test_summer_offset_seen_from_another_zone_falls_back_to_utc() -> None:
    when = parse_when("2027-07-01T12:00-04:00", now=NOW, tz="America/Chicago")
    assert (when.at, when.tz) == (utc(2027, 7, 1, 16), "UTC")


def test_durations_are_exact_across_a_dst_change() -> None:
    now = utc(2027, 3, 14, 6, 30)  # 01:30 EST; at 02:00 New York jumps to 03:00 EDT
    assert parse_when("in 1 hour", now=now, tz=NY).at == utc(2027, 3, 14, 7, 30)


def test_tomorrow_across_a_dst_change_keeps_the_wall_time() -> None:
    now = utc(2027, 3, 13, 17)  # Saturday 12:00 EST
    assert parse_when("tomorrow 9am", now=now, tz=NY).at == utc(2027, 3, 14, 13)  # 09:00 EDT


def test_user_zone_unknown_but_text_names_one() -> None:
    when = parse_when("Friday 17:00 America/New_York", now=NOW, tz="Mars/Olympus")
    assert when.at == utc(2026, 11, 27, 22)
    assert parse_when("2026-11-27T17:00-05:00", now=NOW, tz="Mars/Olympus").tz == "UTC"


@pytest.mark.parametrize(
    ("text", "tz", "message"),
    [
        (
            "blorp",
            NY,
            'I couldn\'t understand "blorp" as a time. Try "Friday 17:00", "tomorrow 9am", '
            '"in 3 days" or "2026-11-27 17:00 America/New_York".',
        ),
        (
            "yesterday 5pm",
            NY,
            '"yesterday 5pm" is Wed 25 Nov 2026 17:00 EST (America/New_York), '
            "which is in the past.",
        ),
        ("now", NY, "which is now, not in the future"),
        ("2026-11-26 12:00", NY, "which is now, not in the future"),
        ("2026-11-26T16:59Z", NY, "in the past"),
        ("03/04/2026", NY, "could be 4 Mar 2026 or 3 Apr 2026"),
        ("3/4 5pm", NY, "ambiguous"),
        ("03.04.2027 17:00", NY, "ambiguous"),
        ("5", NY, "just a number"),
        ("1s", NY, "couldn't understand"),  # lenient date parsers read these as dates
        ("0d", NY, "couldn't understand"),
        ("f.r", NY, "couldn't understand"),
        ("Friday 17:00 XST", NY, "couldn't understand"),  # abbreviations beyond the table
        ("Friday 5pm UTC+15", NY, "not a UTC offset"),
        ("Friday 17:00 BST", NY, 'BST in "Friday 17:00 BST" could mean'),
        ("2026", NY, "just a number"),
        ("12 30", NY, "just a number"),
        ("next month", NY, "not a day"),
        ("November", NY, "not a day"),
        ("Friday 30 Nov", NY, "which is a Monday, not a Friday"),
        ("2026-02-30", NY, "not a real date"),
        ("9999-12-31T23:00-05:00", NY, "more than 10 years away"),
        ("0001-01-01T00:00+05:00", NY, "in the past"),
        ("Friday 17:00 America/Nowhere", NY, 'I don\'t know the time zone "America/Nowhere"'),
        ("Friday 17:00 ET CET", NY, "more than one time zone"),
        ("America/New_York", NY, "but no time"),
        ("Friday 17:00", "Mars/Olympus", 'Your time zone "Mars/Olympus" is not one I know'),
        ("", NY, "I need a time"),
        ("   ", NY, "I need a time"),
        ("Friday 17:00 " + "x" * 200, NY, "too long"),
        # a wall time that New York or London repeats (fold) or skips (gap)
        ("2027-11-07 01:30 America/New_York", NY, "happens twice in America/New_York"),
        ("Nov 7 2027 1:30am", NY, "happens twice"),
        ("2027-03-14 02:30 America/New_York", NY, "does not exist in America/New_York"),
        ("2027-10-31 01:30", LONDON, "happens twice in Europe/London"),
        ("2027-03-28 01:30", LONDON, "does not exist in Europe/London"),
    ],
)
def test_refused(text: str, tz: str, message: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_when(text, now=NOW, tz=tz)
    assert message in caught.value.message
    assert caught.value.hint


def test_an_exact_offset_resolves_a_fold() -> None:
    first = parse_when("2027-11-07T01:30-04:00", now=NOW, tz=NY)
    second = parse_when("2027-11-07T01:30-05:00", now=NOW, tz=NY)
    # Compare in UTC: Python never calls an aware time in a fold equal to one in another zone.
    assert first.at.astimezone(UTC) == utc(2027, 11, 7, 5, 30)
    assert second.at.astimezone(UTC) == utc(2027, 11, 7, 6, 30)
    assert (first.tz, second.tz) == (NY, NY)
    assert (first.at.tzname(), second.at.tzname()) == ("EDT", "EST")


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_when("Friday", now=datetime(2026, 11, 26, 17), tz=NY)


def test_parsing_is_fast_after_warm_up() -> None:
    # A guard against losing the warm-up (2.6 s first call), not a benchmark: measured
    # ~0.3-0.5 ms per natural-language parse and ~0.02 ms per ISO parse on the dev machine.
    texts = ["Friday 17:00", "Fri 5pm ET", "tomorrow 9am", "in 3 days", "next Monday 09:00"]
    start = time.perf_counter()
    for _ in range(40):
        for text in texts:
            parse_when(text, now=NOW, tz=NY)
    assert (time.perf_counter() - start) / 200 < 0.005


FRAGMENTS = [
    "Friday", "fri", "17:00", "5pm", "9am", "tomorrow", "yesterday", "next", "in", "3", "days",
    "hours", "minutes", "ET", "CET", "Z", "UTC", "America/New_York", "Europe/London",
    "America/Nowhere", "2026-11-27", "2027-03-14", "02:30", "T", "-05:00", "+05:00", "/", ".",
    "03/04/2026", "27/11", "31/02/2026", "Nov", "30", "at", "(", ")", '"', "\u201c", "eod",
    "9999-12-31", "0001-01-01", "now", "week", "month", "2026", "\u00e9t\u00e9", "\u0663",
    "evening", "tonight", "eow", "end of week", "IST", "JST", "Pacific", "17h", "1700", "noon",
    "midnight", "business", "first thing", "a week from", "UTC+2", "from now", "3h", "4th",
]  # fmt: skip


@settings(
    max_examples=3000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(FRAGMENTS), max_size=7).map(" ".join),
        st.lists(st.sampled_from(FRAGMENTS), max_size=5).map("".join),
    ),
    tz=st.sampled_from([NY, LONDON, "UTC", "Asia/Kolkata", "Australia/Lord_Howe", "nope", ""]),
    now=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_only_when_errors_escape(text: str, tz: str, now: datetime) -> None:
    try:
        when = parse_when(text, now=now, tz=tz)
    except WhenError as error:
        assert error.message
        return
    assert when.at > now
    assert isinstance(when.at.tzinfo, ZoneInfo)
    assert when.at.tzinfo.key == when.tz
