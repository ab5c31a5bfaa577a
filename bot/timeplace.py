"""Put a ``Phrase`` (``bot.timewords``) on the calendar: in one zone, after now or after an anchor.

``Placer(...).place(phrase)`` returns the instant a phrase names and a note on
how it was read, or raises ``VagueTime`` with the choices a vague phrase
offers. The rules (``bot.when`` has the whole list): a bare time of day is its
first occurrence after the anchor; a weekday is the first such day whose time
is after it (``next`` skips the anchor's day); a day without a time is 17:00;
a month day without a year is the next one; ``today``, ``tomorrow`` and ``in
3 days`` count from now, not from the anchor. Wall times are attached with
``localize``, which refuses a time that a DST change skips or repeats.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.errors import VagueTime, WhenError
from bot.timewords import (
    CLOSE_OF_BUSINESS,
    EXAMPLES,
    HINT,
    MONTH_END_CHOICES,
    CalendarDay,
    Day,
    FromToday,
    MonthEnd,
    Phrase,
    Weekday,
    WeekSpan,
)

MAX_YEARS_AHEAD = 10
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NO_TIME = "no time given, so 17:00, close of business"


def describe(at: datetime, tz: str) -> str:
    """``Fri 27 Nov 2026 17:00 EST (America/New_York)``; the zone name only where it adds."""
    label = at.tzname() or ""
    suffix = f" {label}" if label else ""
    if tz != label:
        suffix += f" ({tz})"
    return f"{describe_naive(at)}{suffix}"


@dataclass(frozen=True, slots=True)
class Display:
    """Which IANA zone an instant is shown in: the zone named, else the user's."""

    user_zone: str | None
    named: str | None

    def zone_for(self, at: datetime) -> str:
        if self.named is not None:
            return self.named
        if (
            self.user_zone is not None
            and at.astimezone(ZoneInfo(self.user_zone)).utcoffset() == at.utcoffset()
        ):
            return self.user_zone
        return "UTC"


class Placer:
    """Puts a ``Phrase`` on the calendar in one zone, after ``now`` (or after ``after``)."""

    def __init__(
        self, *, shown: str, now: datetime, zone: tzinfo, after: datetime | None, display: Display
    ) -> None:
        self.shown = shown
        self.now = now
        self.zone = zone
        self.display = display
        self.anchor = now if after is None else max(now, after)
        self.used_after = after is not None and after > now
        self.today = now.astimezone(zone).date()
        self.anchor_day = self.anchor.astimezone(zone).date()

    def place(self, phrase: Phrase) -> tuple[datetime, str]:
        """The instant and a note on how it was read ("" if none)."""
        if phrase.now:
            return self.now.astimezone(self.zone), ""
        if phrase.duration is not None:
            return (self.now + phrase.duration).astimezone(self.zone), ""
        day = phrase.day
        if isinstance(day, WeekSpan) and (phrase.time is None or day.weekday is None):
            raise self._vague_week(day)
        if isinstance(day, MonthEnd) and phrase.time is None:
            raise self._vague_month_end()
        if phrase.vague is not None:
            raise self._vague_day(phrase)
        wall = phrase.time or CLOSE_OF_BUSINESS
        note = phrase.time_note or ("" if phrase.time is not None or day is None else NO_TIME)
        if day is None:
            return self._next(wall), note
        return self._at(self._date(day, wall, phrase.check_weekday), wall), note

    # --- days -------------------------------------------------------------
    def _next(self, wall: time) -> datetime:
        """A bare time of day: its first occurrence after the anchor."""
        for ahead in range(3):
            candidate = self._at(self.anchor_day + timedelta(days=ahead), wall)
            if candidate > self.anchor:
                return candidate
        raise AssertionError("a time of day recurs within three days")

    def _date(self, day: Day, wall: time, check_weekday: int | None) -> date:
        found = self._base_date(day, wall)
        if check_weekday is not None and found.weekday() != check_weekday:
            raise WhenError(
                f"I read {self.shown} as {describe_naive(datetime.combine(found, wall))}, "
                f"which is a {WEEKDAY_NAMES[found.weekday()]}, not a "
                f"{WEEKDAY_NAMES[check_weekday]}.",
                hint=HINT,
            )
        return found

    def _base_date(self, day: Day, wall: time) -> date:
        match day:
            case FromToday(days=days, business=business):
                return (
                    _add_business_days(self.today, days)
                    if business
                    else self.today + timedelta(days=days)
                )
            case Weekday(weekday=weekday, skip_today=skip_today, plus_days=plus):
                for ahead in range(int(skip_today), 15):
                    candidate = self.anchor_day + timedelta(days=ahead)
                    if candidate.weekday() == weekday and self._at(candidate, wall) > self.anchor:
                        return candidate + timedelta(days=plus)
                raise AssertionError("a weekday recurs within two weeks")
            case CalendarDay(month=month, day=day_of_month, year=year, plus_days=plus):
                return self._calendar_day(month, day_of_month, year, wall) + timedelta(days=plus)
            case WeekSpan(weeks=weeks, weekday=weekday):
                monday = self.anchor_day - timedelta(days=self.anchor_day.weekday())
                found = monday + timedelta(days=7 * weeks + (weekday or 0))
                return found if self._at(found, wall) > self.anchor else found + timedelta(days=7)
            case MonthEnd():
                last = _month_end(self.anchor_day)
                return (
                    last
                    if self._at(last, wall) > self.anchor
                    else _month_end(last + timedelta(days=1))
                )

    def _calendar_day(self, month: int, day: int, year: int | None, wall: time) -> date:
        if year is not None:
            self._check_year(year, month, day)
            return self._real_date(year, month, day)
        self._real_date(2024, month, day)  # a leap year: refuses only days no year has
        for candidate_year in range(self.anchor_day.year, self.anchor_day.year + 9):
            with contextlib.suppress(ValueError):
                candidate = date(candidate_year, month, day)
                if self._at(candidate, wall) > self.anchor:
                    return candidate
        raise AssertionError("a day of the year recurs within eight years")

    def _real_date(self, year: int, month: int, day: int) -> date:
        try:
            return date(year, month, day)
        except ValueError:
            raise WhenError(f"{self.shown} is not a real date. {EXAMPLES}", hint=HINT) from None

    def _check_year(self, year: int, month: int, day: int) -> None:
        said = f"{day} {MONTHS[month - 1] if 1 <= month <= 12 else month} {year}"
        if year > self.now.year + MAX_YEARS_AHEAD:
            raise WhenError(
                f"{self.shown} is {said}, more than {MAX_YEARS_AHEAD} years away.", hint=HINT
            )
        if year < self.now.year - 1:
            raise WhenError(f"{self.shown} is {said}, which is in the past.", hint=HINT)

    def _at(self, day: date, wall: time) -> datetime:
        return localize(datetime.combine(day, wall), self.zone, shown=self.shown)

    # --- vague phrases ----------------------------------------------------
    def _vague_day(self, phrase: Phrase) -> VagueTime:
        vague = phrase.vague
        assert vague is not None
        shift, guess_wall = vague.guess
        if phrase.day is None:
            day = next(
                self.anchor_day + timedelta(days=ahead)
                for ahead in range(3)
                if self._at(self.anchor_day + timedelta(days=ahead + shift), guess_wall)
                > self.anchor
            )
        else:
            day = self._date(phrase.day, guess_wall, phrase.check_weekday)
        options = [(day + timedelta(days=s), wall) for s, wall in vague.choices]
        guess = self._at(day + timedelta(days=shift), guess_wall)
        return self._offer(vague.label, guess, options)

    def _vague_week(self, span: WeekSpan) -> VagueTime:
        monday = (
            self.anchor_day
            - timedelta(days=self.anchor_day.weekday())
            + timedelta(weeks=span.weeks)
        )
        for week in range(2):
            start = monday + timedelta(weeks=week)
            options = [(start + timedelta(days=weekday), wall) for weekday, wall in span.choices]
            first_day, first_wall = options[0]
            if self._at(first_day, first_wall) > self.anchor or week == 1:
                return self._offer(span.label, self._at(first_day, first_wall), options)
        raise AssertionError("unreachable")

    def _vague_month_end(self) -> VagueTime:
        last = _month_end(self.anchor_day)
        if self._at(last, MONTH_END_CHOICES[0]) <= self.anchor:
            last = _month_end(last + timedelta(days=1))
        options = [(last, wall) for wall in MONTH_END_CHOICES]
        return self._offer("end of month", self._at(last, MONTH_END_CHOICES[0]), options)

    def _offer(self, label: str, guess: datetime, options: list[tuple[date, time]]) -> VagueTime:
        instants: list[datetime] = []
        for day, wall in options:
            with contextlib.suppress(WhenError):  # a choice that DST skips is not offered
                instant = self._at(day, wall)
                if instant > self.anchor and instant not in instants:
                    instants.append(instant)
        if not instants:
            raise WhenError(
                f"{self.shown} is {self._describe(guess)}, which is in the past.", hint=HINT
            )
        instants.sort()
        if guess not in instants:
            guess = instants[0]
        labels = [_short(at.astimezone(ZoneInfo(self.display.zone_for(at)))) for at in instants]
        listed = ", ".join(labels[:-1]) + (" or " if len(labels) > 1 else "") + labels[-1]
        choices = tuple((text, self._exact(at)) for text, at in zip(labels, instants, strict=True))
        said = self.shown if f'"{label}"' == self.shown.lower() else f'"{label}" in {self.shown}'
        return VagueTime(
            f"{said} is vague, so nothing was set. Did you mean "
            f"{self._describe(guess)}? Choose {listed}, or type an exact time, "
            f'e.g. "{self._exact(guess)}".',
            choices=choices,
            hint=HINT,
        )

    def _describe(self, at: datetime) -> str:
        zone_name = self.display.zone_for(at)
        return describe(at.astimezone(ZoneInfo(zone_name)), zone_name)

    def _exact(self, at: datetime) -> str:
        """Text that reads back as exactly ``at``, in the zone it was meant in."""
        if self.display.named is not None:
            local = at.astimezone(ZoneInfo(self.display.named))
            return f"{local:%Y-%m-%d %H:%M} {self.display.named}"
        local = at.astimezone(self.zone)
        return f"{local:%Y-%m-%dT%H:%M}{offset_of(local)}"


def _add_business_days(start: date, days: int) -> date:
    found = start
    while days > 0:
        found += timedelta(days=1)
        if found.weekday() < 5:
            days -= 1
    return found


def _month_end(day: date) -> date:
    first_of_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next - timedelta(days=1)


# --- numeric dates and ISO 8601 ----------------------------------------------------


def localize(naive: datetime, zone: tzinfo, *, shown: str) -> datetime:
    """Attach ``zone``; refuse a wall time that the zone repeats (fold) or skips (gap)."""
    naive = naive.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    wall = describe_naive(naive)
    name = getattr(zone, "key", str(zone))
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise WhenError(
            f"{shown} is {wall}, a time that does not exist in {name}: the clocks skip "
            "that hour for daylight saving. Pick another time.",
            hint=HINT,
        )
    raise WhenError(
        f"{shown} is {wall}, which happens twice in {name} "
        f"({first.tzname()}, then {second.tzname()}) when the clocks go back. Pick another "
        f"time or give the offset, e.g. {naive:%Y-%m-%dT%H:%M}{offset_of(first)}.",
        hint=HINT,
    )


def describe_naive(value: datetime) -> str:
    return f"{value:%a} {value.day} {value:%b %Y %H:%M}"


def _short(value: datetime) -> str:
    """``Fri 4 Dec 18:00``: a choice's label."""
    return f"{value:%a} {value.day} {value:%b %H:%M}"


def offset_of(value: datetime) -> str:
    return offset_text(value.utcoffset() or timedelta(0))


def offset_text(offset: timedelta | None) -> str:
    offset = offset or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
