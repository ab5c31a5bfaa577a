"""bot.when's time rules: bare times, extend's "after", vague phrases, zones and new phrasings.

Expected instants are computed here with zoneinfo alone (``next_occurrence``),
independently of how bot.when places them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import VagueTime, WhenError
from bot.when import parse_when

NY = "America/New_York"
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # Thursday 12:00 in New York
DUE = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)  # Friday 4 Dec 17:00 EST

# Zones with odd offsets, no DST, DST both ways round the year, and DST in half hours.
ZONES = [
    "Pacific/Auckland",
    "Asia/Kolkata",
    "America/St_Johns",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Europe/London",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
]
# Two days each: New York and Los Angeles change clocks on 8 March 2026, Sydney and
# Auckland on 5 April, London on 25 October.
DAY_PAIRS = [date(2026, 3, 7), date(2026, 4, 4), date(2026, 10, 24)]
BARE = [("5pm", time(17)), ("17:00", time(17)), ("noon", time(12)), ("end of day", time(17))]


def next_occurrence(wall: time, zone: str, now: datetime) -> datetime:
    """The first instant after ``now`` whose wall time in ``zone`` is ``wall``."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    for ahead in range(3):
        candidate = datetime.combine(today + timedelta(days=ahead), wall, tzinfo=tz)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable")


@pytest.mark.parametrize("first_day", DAY_PAIRS)
@pytest.mark.parametrize("zone", ZONES)
def test_a_bare_time_is_its_next_occurrence_every_hour_of_two_days(
    zone: str, first_day: date
) -> None:
    start = datetime.combine(first_day, time(0), tzinfo=UTC)
    for hour in range(48):
        # On the hour, and a few milliseconds after it (where a clock stands in reality).
        for now in (start + timedelta(hours=hour), start + timedelta(hours=hour, milliseconds=3)):
            for text, wall in BARE:
                when = parse_when(text, now=now, tz=zone)
                expected = next_occurrence(wall, zone, now)
                assert when.at == expected, (text, zone, now)
                assert when.at.astimezone(UTC) == expected.astimezone(UTC)
                assert when.tz == zone


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    zone=st.sampled_from(ZONES),
    now=st.datetimes(datetime(2026, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 59]),
)
def test_a_bare_time_named_in_a_zone_is_read_there(
    zone: str, now: datetime, hour: int, minute: int
) -> None:
    wall = time(hour, minute)
    try:
        when = parse_when(f"{wall:%H:%M} {zone}", now=now, tz="Asia/Tokyo")
    except WhenError as error:  # only a wall time the zone skips or repeats
        assert "daylight saving" in error.message or "happens twice" in error.message
        return
    expected = next_occurrence(wall, zone, now)
    assert when.at.astimezone(UTC) == expected.astimezone(UTC)
    assert (when.tz, when.zone_named) == (zone, True)


@pytest.mark.parametrize(
    ("now", "zone", "text", "expected"),
    [
        # Monday 19:30 in New York: 5pm is Tuesday's.
        (datetime(2026, 11, 30, 19, 30), NY, "5pm", datetime(2026, 12, 1, 17)),
        # Tokyo at 12:30: 5pm is today's.
        (datetime(2026, 11, 30, 12, 30), "Asia/Tokyo", "5pm", datetime(2026, 11, 30, 17)),
        (datetime(2026, 11, 30, 16, 59), "Asia/Tokyo", "17:00", datetime(2026, 11, 30, 17)),
        (datetime(2026, 11, 30, 17, 0), "Asia/Tokyo", "17:00", datetime(2026, 12, 1, 17)),
        (datetime(2026, 11, 30, 23, 0), "Australia/Sydney", "noon", datetime(2026, 12, 1, 12)),
        (datetime(2026, 11, 30, 8, 0), NY, "first thing", datetime(2026, 11, 30, 9)),
        (datetime(2026, 11, 30, 9, 0), NY, "midnight", datetime(2026, 12, 1, 0)),
    ],
)
def test_bare_times_seen_from_the_users_clock(
    now: datetime, zone: str, text: str, expected: datetime
) -> None:
    tz = ZoneInfo(zone)
    when = parse_when(text, now=now.replace(tzinfo=tz), tz=zone)
    assert when.at == expected.replace(tzinfo=tz)


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(
    ("text", "user_tz", "expected"),
    [
        ("5pm Pacific", NY, local("America/Los_Angeles", 2026, 11, 26, 17)),
        ("17:00 Pacific", NY, local("America/Los_Angeles", 2026, 11, 26, 17)),
        ("5pm Pacific time", NY, local("America/Los_Angeles", 2026, 11, 26, 17)),
        ("Friday 5pm Eastern", "Europe/Paris", local(NY, 2026, 11, 27, 17)),
        ("Friday 17h", NY, local(NY, 2026, 11, 27, 17)),
        ("Friday 17h30", NY, local(NY, 2026, 11, 27, 17, 30)),
        ("Friday 1700", NY, local(NY, 2026, 11, 27, 17)),
        ("Friday 17.00", NY, local(NY, 2026, 11, 27, 17)),
        ("Friday at 5:30 pm", NY, local(NY, 2026, 11, 27, 17, 30)),
        ("Friday 5 p.m.", NY, local(NY, 2026, 11, 27, 17)),
        ("a week from Friday", NY, local(NY, 2026, 12, 4, 17)),
        ("a week from Friday 9am", NY, local(NY, 2026, 12, 4, 9)),
        ("2 days from tomorrow", NY, local(NY, 2026, 11, 29, 17)),
        ("in 3 business days", NY, local(NY, 2026, 12, 1, 17)),  # Fri, Mon, Tue
        ("in 3 working days", NY, local(NY, 2026, 12, 1, 17)),
        ("in 2 weeks", NY, local(NY, 2026, 12, 10, 17)),
        ("3 days from now", NY, local(NY, 2026, 11, 29, 17)),
        ("in 3h", NY, local(NY, 2026, 11, 26, 15)),
        ("first thing Monday", NY, local(NY, 2026, 11, 30, 9)),
        ("Monday first thing", NY, local(NY, 2026, 11, 30, 9)),
        ("COB Friday", NY, local(NY, 2026, 11, 27, 17)),
        ("EOD Friday", NY, local(NY, 2026, 11, 27, 17)),
        ("Friday close of business", NY, local(NY, 2026, 11, 27, 17)),
        ("end of day", NY, local(NY, 2026, 11, 26, 17)),
        ("end of week 15:00", NY, local(NY, 2026, 11, 27, 15)),
        ("Friday evening 7pm", NY, local(NY, 2026, 11, 27, 19)),
        ("tonight 9pm", NY, local(NY, 2026, 11, 26, 21)),
        ("Friday 5pm JST", NY, local("Asia/Tokyo", 2026, 11, 27, 17)),
        ("Friday 5pm AEST", NY, local("Australia/Sydney", 2026, 11, 27, 17)),
        ("Friday 5pm AEDT", NY, local("Australia/Sydney", 2026, 11, 27, 17)),
        ("the 4th of December at noon", NY, local(NY, 2026, 12, 4, 12)),
        ("December 4th, 2026 5pm", NY, local(NY, 2026, 12, 4, 17)),
        ("Fri Dec 4 5pm", NY, local(NY, 2026, 12, 4, 17)),
        ("Jan 5", NY, local(NY, 2027, 1, 5, 17)),  # the next 5 January
    ],
)
def test_phrasings_people_use(text: str, user_tz: str, expected: datetime) -> None:
    when = parse_when(text, now=NOW, tz=user_tz)
    assert when.at.astimezone(UTC) == expected.astimezone(UTC)
    assert when.tz == expected.tzinfo.key  # type: ignore[union-attr]


def test_close_of_business_and_first_thing_say_how_they_were_read() -> None:
    assert "(close of business)" in parse_when("COB Friday", now=NOW, tz=NY).understood
    assert "(first thing)" in parse_when("first thing Monday", now=NOW, tz=NY).understood


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monday 09:00", local(NY, 2026, 12, 7, 9)),  # the Monday after Friday 4 Dec
        ("Monday 09:00 America/New_York", local(NY, 2026, 12, 7, 9)),
        ("09:00", local(NY, 2026, 12, 5, 9)),
        ("Friday 18:00", local(NY, 2026, 12, 4, 18)),  # the same Friday, later
        ("Friday 16:00", local(NY, 2026, 12, 11, 16)),
        ("Friday", local(NY, 2026, 12, 11, 17)),  # 17:00 on the 4th is not after it
        ("next Friday", local(NY, 2026, 12, 11, 17)),
        ("Dec 7 9am", local(NY, 2026, 12, 7, 9)),
    ],
)
def test_after_the_current_due_time(text: str, expected: datetime) -> None:
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    when = parse_when(text, now=saturday, tz=NY, after=DUE)
    assert when.at == expected
    assert when.after_due


def test_explicit_dates_ignore_the_current_due_time() -> None:
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    for text in ("tomorrow 9am", "in 3 days", "2026-11-30 09:00", "Dec 1 2026 9am"):
        when = parse_when(text, now=saturday, tz=NY, after=DUE)
        assert when.at < DUE, text
        assert not when.after_due


def test_after_a_due_time_already_past_counts_from_now() -> None:
    missed = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    when = parse_when("Monday 09:00", now=NOW, tz=NY, after=missed)
    assert when.at == local(NY, 2026, 11, 30, 9)
    assert not when.after_due


def vague(text: str, *, now: datetime = NOW, tz: str = NY, **kw: datetime) -> VagueTime:
    with pytest.raises(VagueTime) as caught:
        parse_when(text, now=now, tz=tz, **kw)
    return caught.value


@pytest.mark.parametrize(
    ("text", "guess", "labels"),
    [
        (
            "Friday evening",
            "Fri 27 Nov 2026 18:00 EST (America/New_York)?",
            ["Fri 27 Nov 17:00", "Fri 27 Nov 18:00", "Fri 27 Nov 21:00", "Fri 27 Nov 23:59"],
        ),
        ("tonight", "Thu 26 Nov 2026 18:00 EST", ["Thu 26 Nov 17:00", "Thu 26 Nov 18:00"]),
        ("this evening", "Thu 26 Nov 2026 18:00 EST", ["Thu 26 Nov 17:00", "Thu 26 Nov 18:00"]),
        ("morning", "Fri 27 Nov 2026 09:00 EST", ["Fri 27 Nov 08:00", "Fri 27 Nov 09:00"]),
        # At noon, "afternoon" offers what is still ahead of it.
        ("afternoon", "Thu 26 Nov 2026 15:00 EST", ["Thu 26 Nov 14:00", "Thu 26 Nov 15:00"]),
        ("tomorrow morning", "Fri 27 Nov 2026 09:00 EST", ["Fri 27 Nov 08:00"]),
        ("end of week", "Fri 27 Nov 2026 17:00 EST", ["Fri 27 Nov 17:00", "Fri 27 Nov 23:59"]),
        ("EOW", "Fri 27 Nov 2026 17:00 EST", ["Fri 27 Nov 17:00", "Fri 27 Nov 23:59"]),
        ("next week", "Fri 4 Dec 2026 17:00 EST", ["Mon 30 Nov 09:00", "Fri 4 Dec 17:00"]),
        ("end of month", "Mon 30 Nov 2026 17:00 EST", ["Mon 30 Nov 17:00", "Mon 30 Nov 23:59"]),
        (
            "Friday midnight",
            "Fri 27 Nov 2026 23:59 EST",
            ["Fri 27 Nov 00:00", "Fri 27 Nov 23:59", "Sat 28 Nov 00:00"],
        ),
    ],
)
def test_vague_phrases_are_confirmed_not_guessed(text: str, guess: str, labels: list[str]) -> None:
    error = vague(text)
    assert "nothing was set" in error.message
    assert f"Did you mean {guess}" in error.message
    shown = [label for label, _ in error.choices]
    assert shown[: len(labels)] == labels
    for label, exact in error.choices:
        # Each choice reads back as exactly the time its label names, in the user's zone.
        when = parse_when(exact, now=NOW, tz=NY)
        assert label == f"{when.at:%a} {when.at.day} {when.at:%b %H:%M}"
        assert when.tz == NY


def test_vague_choices_after_the_current_due_time_are_later_than_it() -> None:
    error = vague("Friday evening", now=datetime(2026, 11, 28, 15, tzinfo=UTC), after=DUE)
    labels = [label for label, _ in error.choices]
    assert labels == ["Fri 4 Dec 18:00", "Fri 4 Dec 21:00", "Fri 4 Dec 23:59"]


def test_vague_choices_keep_a_zone_the_text_named() -> None:
    error = vague("Friday evening Asia/Tokyo")
    assert error.choices[0] == ("Fri 27 Nov 17:00", "2026-11-27 17:00 Asia/Tokyo")


def test_tonight_after_its_last_choice_is_in_the_past() -> None:
    late = datetime(2026, 11, 27, 4, 59, 30, tzinfo=UTC)  # 23:59:30 in New York
    with pytest.raises(WhenError) as caught:
        parse_when("tonight", now=late, tz=NY)
    assert not isinstance(caught.value, VagueTime)
    assert "in the past" in caught.value.message


@pytest.mark.parametrize(
    ("text", "zones"),
    [
        ("5pm IST", ["Asia/Kolkata", "Asia/Jerusalem", "Europe/Dublin"]),
        ("Friday 17:00 CST", ["America/Chicago", "Asia/Shanghai", "America/Havana"]),
        ("Friday 17:00 BST", ["Europe/London", "Asia/Dhaka"]),
    ],
)
def test_ambiguous_abbreviations_ask_which_zone(text: str, zones: list[str]) -> None:
    error = vague(text)
    assert "could mean" in error.message and "nothing was set" in error.message
    assert [parse_when(exact, now=NOW, tz=NY).tz for _, exact in error.choices] == zones


def test_an_ambiguous_zone_on_an_unreadable_time_names_the_time() -> None:
    with pytest.raises(WhenError) as caught:
        parse_when("blorp IST", now=NOW, tz=NY)
    assert not isinstance(caught.value, VagueTime)
    assert "couldn't understand" in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Friday 5", 'I can\'t tell what "5" means'),
        ("13pm", "with am or pm the hour is 1 to 12"),
        ("Friday 25:00", "not a time of day"),
        ("4th", "as a day of the month, but no month"),
        ("Friday Monday", "which is a Friday, not a Monday"),
        ("tomorrow Dec 4", "names two days"),
        ("5pm 6pm", "names two times of day"),
        ("in 3 hours Friday", "a duration and a day"),
        ("next", "no weekday after it"),
        ("Feb 30", "not a real date"),
        ("in 99999 days", "more than 10 years away"),
    ],
)
def test_refusals_say_what_was_wrong(text: str, message: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_when(text, now=NOW, tz=NY)
    assert message in caught.value.message
