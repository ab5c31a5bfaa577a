"""Turn what a user typed after ``due`` or ``to`` into an aware instant in an IANA zone.

``parse_when("Friday 17:00 America/New_York", now=..., tz="Europe/London")``
returns a ``When`` whose ``at`` carries a ``zoneinfo.ZoneInfo`` (never a fixed
offset: a fixed offset written to a calendar becomes ``TZID=UTC-05:00``, which
readers take for the wrong instant). Zone rules come from the ``tzdata``
package (``bot.zones``); no other library ever applies a zone here.

How a text is read, in order:

1. A zone named in the text wins over the user's: an IANA name
   (``America/New_York``, any case), an abbreviation or word (``ET``, ``JST``,
   ``AEST``, ``Pacific`` ...) or ``UTC+2``. It is taken off the text. An
   abbreviation used for several zones (``IST``, ``CST``, ``BST``) raises
   ``VagueTime`` with a choice per zone.
2. All-numeric dates: ``27/11/2026`` and ``11/27/2026`` are clear,
   ``03/04/2026`` is refused as ambiguous.
3. ISO 8601 (``2026-11-27T17:00-05:00``, ``2026-11-27 17:00``) goes to
   ``datetime.fromisoformat``. A numeric offset keeps its instant; the zone is
   then the user's if it has that offset at that instant, else UTC.
4. Words are read by ``bot.timewords`` and placed here, in the zone:

   - a bare time of day (``5pm``, ``17:00``, ``noon``, ``end of day``) is its
     next occurrence: today if that instant is still ahead, else tomorrow;
   - a weekday is the next such day, today included if the time is ahead;
     ``next`` skips today; a day without a time means 17:00;
   - ``after`` (the current due time, for ``extend``): a phrase without an
     explicit date (a weekday, a bare time, a month day without a year) is the
     first match after it, so "Monday 09:00" on a Friday deadline is the
     Monday after that Friday;
   - vague words (``Friday evening``, ``tonight``, ``end of week``) are never
     guessed: ``VagueTime`` names the likeliest reading and offers choices.

A local time that a DST change repeats or skips is refused, as is anything
not strictly after ``now``, a bare number, a month or year without a day, and
a date more than ``MAX_YEARS_AHEAD`` years away. Every refusal is a
``WhenError`` whose message says what was understood.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from bot import zones
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
    read_phrase,
)

MAX_TEXT = 100  # longer than any time anyone types
MAX_YEARS_AHEAD = 10
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NO_TIME = "no time given, so 17:00, close of business"

_ZONE_RE = re.compile(r"(?<![\w/])[A-Za-z][\w+\-]*(?:/[\w+\-]+)+(?![\w/])")
_ABBREVIATION_RE = re.compile(
    r"(?<![\w/+\-])("
    + "|".join(sorted([*zones.ABBREVIATIONS, *zones.AMBIGUOUS], key=len, reverse=True))
    + r")(?:\s+time)?(?![\w/])(?!\s*[+\-][0-9])",
    re.IGNORECASE,
)
_OFFSET_RE = re.compile(
    r"(?<![\w/+\-])(?:utc|gmt)\s*([+\-])([0-9]{1,2})(?::?([0-9]{2}))?(?![\w:])", re.IGNORECASE
)
_DANGLING_RE = re.compile(r"(?:\s+(?:in|at))+$", re.IGNORECASE)
_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]")
# Only [0-9]: ``\d`` also matches other scripts' digits, which int() accepts silently.
_NUMERIC_DATE_RE = re.compile(
    r"(?<![0-9/.\-:])([0-9]{1,2})([/.\-])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?(?![0-9/.\-:])"
)
_ISO_RE = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)"
    r"\s*(?P<offset>[Zz]|[+\-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.ASCII,
)
_BARE_NUMBER_RE = re.compile(r"[0-9\s.,+\-]+")


@dataclass(frozen=True, slots=True)
class When:
    """An instant and the zone it was meant in."""

    at: datetime  # aware; tzinfo is ZoneInfo(tz)
    tz: str  # IANA name
    understood: str  # e.g. "Fri 27 Nov 2026 17:00 EST (America/New_York)"
    zone_named: bool = False  # the text named the zone (an offset alone does not)
    after_due: bool = False  # placed as the first match after ``after``


def parse_when(text: str, *, now: datetime, tz: str, after: datetime | None = None) -> When:
    """Read ``text`` as a future instant; ``tz`` is the user's zone, used when the text names none.

    ``after`` (aware) is the current due time when a deadline is extended: a
    phrase without an explicit date is the first match after it. ``now`` must be
    aware. Raises ``WhenError`` (``VagueTime`` for a phrase that needs a choice),
    and nothing else, with a message that says what was understood.
    """
    if now.tzinfo is None or (after is not None and after.tzinfo is None):
        raise ValueError("now and after must be timezone-aware")
    shown = _quote(text)
    cleaned = " ".join(text.split())
    if not cleaned:
        raise WhenError(f"I need a time. {EXAMPLES}", hint=HINT)
    if len(cleaned) > MAX_TEXT:
        raise WhenError(f"{shown} is too long to be a time. {EXAMPLES}", hint=HINT)
    rest, named = _take_zone(cleaned, shown, now=now, tz=tz, after=after)
    return _read(rest, named, shown=shown, now=now, tz=tz, after=after)


def warm_up() -> None:
    """Load the zone list and compile what the first command would, before it arrives."""
    zones.load_names()
    now = datetime.now(UTC)
    for sample in ("Friday 17:00", "tomorrow 9am", "in 3 days", "Nov 30 5pm", "5pm ET"):
        # A refusal ("Friday 17:00" late on a Friday) is fine: only the loading matters.
        with contextlib.suppress(WhenError):
            parse_when(sample, now=now, tz="UTC")


def describe(at: datetime, tz: str) -> str:
    """``Fri 27 Nov 2026 17:00 EST (America/New_York)``; the zone name only where it adds."""
    label = at.tzname() or ""
    suffix = f" {label}" if label else ""
    if tz != label:
        suffix += f" ({tz})"
    return f"{_describe_naive(at)}{suffix}"


# --- zones in the text ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Named:
    """The zone a text names: an IANA zone, or a bare UTC offset."""

    name: str | None = None
    offset: timedelta | None = None


def _take_zone(
    text: str, shown: str, *, now: datetime, tz: str, after: datetime | None
) -> tuple[str, _Named | None]:
    """Remove the zone from ``text``; return the rest and the zone named."""
    found: list[_Named] = []
    ambiguous: list[re.Match[str]] = []

    def iana(match: re.Match[str]) -> str:
        token = match.group(0)
        canonical = zones.known_zone(token)
        if canonical is not None:
            found.append(_Named(name=canonical))
            return " "
        if zones.is_area(token.split("/", 1)[0]):
            raise WhenError(
                f"I don't know the time zone {_quote(token)} in {shown}. "
                "Use an IANA name such as America/New_York, Europe/London or Asia/Tokyo.",
                hint=HINT,
            )
        return token

    def offset(match: re.Match[str]) -> str:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise WhenError(f"{_quote(match.group(0))} in {shown} is not a UTC offset.", hint=HINT)
        size = timedelta(hours=hours, minutes=minutes)
        found.append(_Named(offset=-size if sign == "-" else size))
        return " "

    def abbreviation(match: re.Match[str]) -> str:
        word = match.group(1).lower()
        if word in zones.AMBIGUOUS:
            ambiguous.append(match)
            return match.group(0)
        found.append(_Named(name=zones.ABBREVIATIONS[word]))
        return " "

    rest = _ZONE_RE.sub(iana, text)
    rest = _OFFSET_RE.sub(offset, rest)
    rest = _ABBREVIATION_RE.sub(abbreviation, rest)
    distinct = list(dict.fromkeys(found))
    if len(distinct) + min(len(ambiguous), 1) > 1:
        names = [z.name or _offset_text(z.offset) for z in distinct]
        names += [m.group(1) for m in ambiguous]
        raise WhenError(
            f"{shown} names more than one time zone ({', '.join(names)}); name one.", hint=HINT
        )
    if ambiguous:
        raise _which_zone(rest, ambiguous[0], shown, now=now, tz=tz, after=after)
    if not distinct:
        return rest, None
    rest = _tidy(rest)
    if not rest:
        zone = distinct[0].name or _offset_text(distinct[0].offset)
        raise WhenError(f"I found the time zone {zone} in {shown}, but no time.", hint=HINT)
    return rest, distinct[0]


def _which_zone(
    rest: str,
    match: re.Match[str],
    shown: str,
    *,
    now: datetime,
    tz: str,
    after: datetime | None,
) -> WhenError:
    """``5pm IST``: a choice per zone the abbreviation is used for, unless the rest is wrong."""
    word = match.group(1)
    candidates = zones.AMBIGUOUS[word.lower()]
    start, end = match.span()
    # The rest of the text must read as a time before anyone is asked about its zone.
    try:
        without = _tidy(rest[:start] + " " + rest[end:])
        _read(without, _Named(name=candidates[0][1]), shown=shown, now=now, tz=tz, after=after)
    except VagueTime:
        pass  # vague in itself too: settle the zone first, then the time
    except WhenError as error:
        return error
    texts = tuple(" ".join((rest[:start] + name + rest[end:]).split()) for _, name in candidates)
    places = ", ".join(f"{label} ({name})" for label, name in candidates[:-1])
    places += f" or {candidates[-1][0]} ({candidates[-1][1]})"
    return VagueTime(
        f"{word.upper()} in {shown} could mean {places}, so nothing was set. "
        f'Pick one, or name the zone, e.g. "{texts[0]}".',
        choices=tuple(
            (label, choice) for (label, _), choice in zip(candidates, texts, strict=True)
        ),
        hint=HINT,
    )


def _tidy(rest: str) -> str:
    """What is left once a zone is taken off: no empty brackets, no dangling "in"/"at"."""
    rest = _EMPTY_BRACKETS_RE.sub(" ", rest)
    return _DANGLING_RE.sub("", " ".join(rest.split())).strip(" ,;")


def _zone_to_use(named: _Named | None, user_tz: str) -> str:
    """The zone named in the text, else the user's; refuse a user zone we do not know."""
    zone_name = named.name if named is not None and named.name else zones.known_zone(user_tz)
    if zone_name is None:
        raise WhenError(
            f"Your time zone {_quote(user_tz)} is not one I know. Name a zone in the time, "
            'e.g. "Friday 17:00 America/New_York".',
            hint=HINT,
        )
    return zone_name


# --- reading --------------------------------------------------------------------


def _read(
    text: str, named: _Named | None, *, shown: str, now: datetime, tz: str, after: datetime | None
) -> When:
    text = _rewrite_numeric_dates(text, shown)
    iso = _ISO_RE.fullmatch(text)
    if iso:
        return _from_iso(iso, named, shown=shown, now=now, user_tz=tz)
    if _BARE_NUMBER_RE.fullmatch(text):
        raise WhenError(f"{shown} is just a number; I need a day and a time. {EXAMPLES}", hint=HINT)
    phrase = read_phrase(text, shown=shown)
    if named is not None and named.offset is not None:
        wall_zone: tzinfo = timezone(named.offset)
        display = _Display(user_zone=zones.known_zone(tz), named=None)
    else:
        zone_name = _zone_to_use(named, tz)
        wall_zone = ZoneInfo(zone_name)
        display = _Display(user_zone=zone_name, named=zone_name if named else None)
    placer = _Placer(shown=shown, now=now, zone=wall_zone, after=after, display=display)
    at, note = placer.place(phrase)
    zone_name = display.zone_for(at)
    return _finish(
        at.astimezone(ZoneInfo(zone_name)),
        zone_name,
        shown=shown,
        now=now,
        note=note,
        zone_named=display.named is not None,
        after_due=placer.used_after and not _explicit(phrase),
    )


def _explicit(phrase: Phrase) -> bool:
    """Whether the phrase fixes its date without an anchor: today, in 3 days, a dated day."""
    if phrase.now or phrase.duration is not None:
        return True
    return isinstance(phrase.day, FromToday) or (
        isinstance(phrase.day, CalendarDay) and phrase.day.year is not None
    )


@dataclass(frozen=True, slots=True)
class _Display:
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


class _Placer:
    """Puts a ``Phrase`` on the calendar in one zone, after ``now`` (or after ``after``)."""

    def __init__(
        self, *, shown: str, now: datetime, zone: tzinfo, after: datetime | None, display: _Display
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
        note = phrase.time_note or ("" if phrase.time is not None or day is None else _NO_TIME)
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
                f"I read {self.shown} as {_describe_naive(datetime.combine(found, wall))}, "
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
        said = f"{day} {_MONTHS[month - 1] if 1 <= month <= 12 else month} {year}"
        if year > self.now.year + MAX_YEARS_AHEAD:
            raise WhenError(
                f"{self.shown} is {said}, more than {MAX_YEARS_AHEAD} years away.", hint=HINT
            )
        if year < self.now.year - 1:
            raise WhenError(f"{self.shown} is {said}, which is in the past.", hint=HINT)

    def _at(self, day: date, wall: time) -> datetime:
        return _localize(datetime.combine(day, wall), self.zone, shown=self.shown)

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
        return f"{local:%Y-%m-%dT%H:%M}{_offset(local)}"


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


def _rewrite_numeric_dates(text: str, shown: str) -> str:
    """``27/11/2026`` -> ``2026-11-27``; ``11/27`` -> ``Nov 27``; refuse ``03/04/2026``.

    ``.`` and ``-`` count as date separators only with a year (``1.5 hours`` is no date).
    """

    def rewrite(match: re.Match[str]) -> str:
        first, separator, second, year_text = match.groups()
        if separator != "/" and year_text is None:
            return match.group(0)
        a, b = int(first), int(second)
        if not (1 <= a <= 31 and 1 <= b <= 31) or (a > 12 and b > 12):
            return match.group(0)  # no reading is a date; the readers below will say so
        year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
        if a <= 12 and b <= 12 and a != b:
            suffix = "" if year is None else f" {year}"
            piece = "it" if match.group(0) == text else match.group(0)
            raise WhenError(
                f"{shown} is ambiguous: {piece} could be {b} {_MONTHS[a - 1]}{suffix} "
                f"or {a} {_MONTHS[b - 1]}{suffix}. Write the month as a word "
                f'("{a} {_MONTHS[b - 1]}") or use ISO order (year-month-day).',
                hint=HINT,
            )
        month, day = (a, b) if a <= 12 else (b, a)
        if year is None:
            return f"{_MONTHS[month - 1]} {day}"
        return f"{year:04d}-{month:02d}-{day:02d}"

    return _NUMERIC_DATE_RE.sub(rewrite, text)


def _from_iso(
    match: re.Match[str], named: _Named | None, *, shown: str, now: datetime, user_tz: str
) -> When:
    text = match.group("date")
    if match.group("time"):
        text += "T" + match.group("time") + (match.group("offset") or "")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise WhenError(f"{shown} is not a real date or time. {EXAMPLES}", hint=HINT) from None
    _check_range(parsed, shown=shown, now=now)
    no_time = not match.group("time")
    if no_time:
        parsed = datetime.combine(parsed.date(), CLOSE_OF_BUSINESS)
    if parsed.utcoffset() is None and named is not None and named.offset is not None:
        parsed = parsed.replace(tzinfo=timezone(named.offset))
    offset = parsed.utcoffset()
    note = _NO_TIME if no_time else ""
    if offset is None:
        zone_name = _zone_to_use(named, user_tz)
        at = _localize(parsed, ZoneInfo(zone_name), shown=shown)
        return _finish(at, zone_name, shown=shown, now=now, note=note, zone_named=named is not None)
    instant = parsed.astimezone(UTC)
    if named is not None and named.name is not None:
        zone_name = named.name
    elif match.group("offset") in ("Z", "z"):
        zone_name = "UTC"
    else:
        zone_name = _Display(user_zone=zones.known_zone(user_tz), named=None).zone_for(parsed)
    at = instant.astimezone(ZoneInfo(zone_name))
    named_zone = named is not None and named.name is not None
    return _finish(at, zone_name, shown=shown, now=now, note=note, zone_named=named_zone)


# --- shared checks ----------------------------------------------------------


def _check_range(value: datetime, *, shown: str, now: datetime) -> None:
    """Refuse years far from now before any zone arithmetic can overflow on them."""
    if value.year > now.year + MAX_YEARS_AHEAD:
        raise WhenError(
            f"{shown} is {_describe_naive(value)}, more than {MAX_YEARS_AHEAD} years away.",
            hint=HINT,
        )
    if value.year < now.year - 1:
        raise WhenError(f"{shown} is {_describe_naive(value)}, which is in the past.", hint=HINT)


def _localize(naive: datetime, zone: tzinfo, *, shown: str) -> datetime:
    """Attach ``zone``; refuse a wall time that the zone repeats (fold) or skips (gap)."""
    naive = naive.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    wall = _describe_naive(naive)
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
        f"time or give the offset, e.g. {naive:%Y-%m-%dT%H:%M}{_offset(first)}.",
        hint=HINT,
    )


def _finish(
    at: datetime,
    zone_name: str,
    *,
    shown: str,
    now: datetime,
    note: str = "",
    zone_named: bool = False,
    after_due: bool = False,
) -> When:
    understood = describe(at, zone_name)
    if note:
        understood += f" ({note})"
    if at <= now:
        tense = "in the past" if at < now else "now, not in the future"
        raise WhenError(f"{shown} is {understood}, which is {tense}.", hint=HINT)
    return When(
        at=at, tz=zone_name, understood=understood, zone_named=zone_named, after_due=after_due
    )


def _describe_naive(value: datetime) -> str:
    return f"{value:%a} {value.day} {value:%b %Y %H:%M}"


def _short(value: datetime) -> str:
    """``Fri 4 Dec 18:00``: a choice's label."""
    return f"{value:%a} {value.day} {value:%b %H:%M}"


def _offset(value: datetime) -> str:
    return _offset_text(value.utcoffset() or timedelta(0))


def _offset_text(offset: timedelta | None) -> str:
    offset = offset or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= 60 else text[:57] + "..."}"'
