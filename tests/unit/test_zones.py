"""Zone rules come from the pinned tzdata package, not the operating system's older copy.

Morocco left permanent +01 in September 2026 (tzdata 2026 releases); the OS
database on the development machine (2025b) still has it at +01, so there these
tests fail if any zone is read from the OS. Every place Parley shows or writes a
time uses the package's rules.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import bot
from bot.calendar import vtimezone
from bot.messages import format_local
from bot.when import parse_when

CASABLANCA = "Africa/Casablanca"
OCTOBER = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def packaged(name: str) -> ZoneInfo:
    """The zone read straight from the tzdata package's own file."""
    area, city = name.split("/")
    with resources.files("tzdata.zoneinfo").joinpath(area, city).open("rb") as data:
        return ZoneInfo.from_file(data, key=name)


def test_parley_never_searches_the_os_tz_database() -> None:
    assert bot.__name__ == "bot"
    assert zoneinfo.TZPATH == ()


def test_casablanca_2026_follows_the_package() -> None:
    rules = packaged(CASABLANCA)
    assert OCTOBER.astimezone(rules).utcoffset() == timedelta(0)
    assert OCTOBER.astimezone(ZoneInfo(CASABLANCA)).utcoffset() == timedelta(0)


def test_a_casablanca_deadline_is_placed_shown_and_written_with_the_package_rules() -> None:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    when = parse_when("2026-10-01 17:00 Africa/Casablanca", now=now, tz="UTC")
    assert when.at.astimezone(UTC) == datetime(2026, 10, 1, 17, 0, tzinfo=UTC)
    assert format_local(when.at.astimezone(UTC), CASABLANCA) == "Thu 01 Oct 2026 17:00 +00"
    feed = vtimezone(CASABLANCA, 2026, 2026).decode()
    assert "DTSTART:20260920T020000\r\nTZNAME:+00\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000" in feed
