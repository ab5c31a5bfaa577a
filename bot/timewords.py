"""The words of a time, read into a ``Phrase``: which day and which time of day they name.

``read_phrase("first thing monday", shown=...)`` returns
``Phrase(day=Weekday(0), time=09:00, ...)``. Nothing here knows a zone or a
clock: ``bot.when`` puts the phrase on the calendar, in a zone, after an
instant. The zone has already been taken off the text, and all-numeric dates
have been rewritten to ``2026-11-27`` or ``nov 27``.

What is read (lower case; ``at``, ``on``, ``by``, ``the``, ``of``, ``@`` and
commas are filler):

- times of day: ``5pm``, ``5 p.m.``, ``5:30pm``, ``17:00``, ``17.00``, ``17h``,
  ``17h30``, ``1700`` (four digits, next to a day and with no month named),
  ``noon``, ``midday``, ``midnight``; ``eod``, ``cob``, ``end of day``,
  ``close of business`` (17:00); ``first thing`` (09:00);
- days: ``today``, ``tomorrow``, ``yesterday``, weekday names (``next``
  skips today, ``this``/``coming`` do not), ``nov 30``, ``30 november 2026``,
  ``the 4th of december``, ``2026-11-27``;
- spans: ``in 3 days``, ``in 2 weeks``, ``in 3 business days`` (Monday to
  Friday; holidays are not known), ``a week from friday``, ``2 days from
  tomorrow``; ``in 90 minutes`` and ``3 hours from now`` are exact durations;
- vague words, which Parley never guesses (``VAGUE`` and ``WEEK_WORDS``):
  ``morning``, ``afternoon``, ``evening``, ``tonight``, ``lunch``,
  ``<day> midnight``, ``end of week``/``eow``, ``this week``, ``next week``,
  ``end of month``/``eom``.

Every refusal is a ``WhenError`` whose message says what was not understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from bot.errors import WhenError

CLOSE_OF_BUSINESS = time(17, 0)
FIRST_THING = time(9, 0)
MAX_DAYS_AHEAD = 3660  # ten years; keeps date arithmetic far from its limits

EXAMPLES = 'Try "Friday 17:00", "tomorrow 9am", "in 3 days" or "2026-11-27 17:00 America/New_York".'
HINT = (
    "Examples: Friday 17:00 · Fri 5pm ET · 5pm Pacific · tomorrow 9am · first thing Monday · "
    "COB Friday · in 3 business days · a week from Friday · 2026-11-27 17:00 America/New_York"
)

# --- what a phrase can say ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class FromToday:
    """``days`` days after today (``business``: counting Monday to Friday only)."""

    days: int
    business: bool = False


@dataclass(frozen=True, slots=True)
class Weekday:
    """The next such weekday (today included unless ``skip_today``), then ``plus_days`` more."""

    weekday: int  # Monday is 0
    skip_today: bool = False
    plus_days: int = 0


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """A day of a month; without a year, the next one."""

    month: int
    day: int
    year: int | None = None
    plus_days: int = 0


@dataclass(frozen=True, slots=True)
class WeekSpan:
    """A vague span of days: ``end of week`` (``weeks`` 0) or ``next week`` (``weeks`` 1)."""

    label: str
    weeks: int
    # The choices, as (weekday, time); the first is the guess.
    choices: tuple[tuple[int, time], ...]
    # The day a time of day falls on ("end of week 15:00" is Friday's); None: still vague.
    weekday: int | None = 4


@dataclass(frozen=True, slots=True)
class MonthEnd:
    """The last day of the month: ``end of month``."""


Day = FromToday | Weekday | CalendarDay | WeekSpan | MonthEnd


@dataclass(frozen=True, slots=True)
class Vague:
    """A vague time of day: a guess and the choices offered, as (days after the day, time)."""

    label: str
    guess: tuple[int, time]
    choices: tuple[tuple[int, time], ...]


@dataclass(frozen=True, slots=True)
class Phrase:
    """What the words name. ``time`` None with a ``day``: close of business."""

    day: Day | None = None
    time: time | None = None
    time_note: str = ""  # how a word was read, e.g. "close of business"
    vague: Vague | None = None
    duration: timedelta | None = None  # exact, from now
    now: bool = False
    # A weekday named beside another day; it must be that day's ("Friday 4 Dec").
    check_weekday: int | None = None


# Vague times of day: the guess, then the choices (days after the named day, time).
_EVENING = ((0, time(17)), (0, time(18)), (0, time(21)), (0, time(23, 59)))
VAGUE: dict[str, Vague] = {
    "morning": Vague(
        "morning", (0, time(9)), ((0, time(8)), (0, time(9)), (0, time(10)), (0, time(12)))
    ),
    "afternoon": Vague(
        "afternoon", (0, time(15)), ((0, time(12)), (0, time(14)), (0, time(15)), (0, time(17)))
    ),
    "evening": Vague("evening", (0, time(18)), _EVENING),
    "tonight": Vague("tonight", (0, time(18)), _EVENING),
    "night": Vague("night", (0, time(21)), _EVENING),
    "lunch": Vague("lunch", (0, time(12)), ((0, time(12)), (0, time(13)), (0, time(14)))),
    # Midnight next to a day: the start of that day, or its end?
    "midnight": Vague(
        "midnight", (0, time(23, 59)), ((0, time(23, 59)), (1, time(0)), (0, time(0)))
    ),
}
_WEEK_END = ((4, CLOSE_OF_BUSINESS), (4, time(23, 59)), (6, time(23, 59)))
WEEK_WORDS: dict[str, WeekSpan] = {
    "eow": WeekSpan("end of week", 0, _WEEK_END),
    "eownext": WeekSpan("end of next week", 1, _WEEK_END),
    "thisweek": WeekSpan("this week", 0, _WEEK_END),
    "nextweek": WeekSpan(
        "next week", 1, ((4, CLOSE_OF_BUSINESS), (0, FIRST_THING), (6, time(23, 59))), None
    ),
}
MONTH_END_CHOICES = (CLOSE_OF_BUSINESS, time(23, 59))

# --- words ------------------------------------------------------------------------

WEEKDAYS: dict[str, int] = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
MONTHS: dict[str, int] = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
_RELATIVE = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "yesterday": -1}
_FILLER = frozenset({"at", "on", "by", "the", "of", "@", ",", "."})
_UNITS: dict[str, str] = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes",
    "minutes": "minutes", "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours",
    "hours": "hours", "d": "days", "day": "days", "days": "days", "w": "weeks", "wk": "weeks",
    "wks": "weeks", "week": "weeks", "weeks": "weeks",
}  # fmt: skip
_SPAN_UNITS = frozenset(_UNITS) | {"bdays"}

# Several words that mean one thing become one word first.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (
            r"\b(?:eod|cob|eob|end of (?:the )?(?:business |work(?:ing)? )?day"
            r"|close of (?:business|play))\b",
            " cob ",
        ),
        (r"\bfirst thing(?: in the morning)?\b", " firstthing "),
        (r"\b(?:the )?day after tomorrow\b", " in 2 days "),
        (r"\b12\s*(noon|midnight)\b", r" \1 "),
        (r"\bend of (?:the )?next week\b", " eownext "),
        (r"\b(?:eow|end of (?:the )?week)\b", " eow "),
        (r"\b(?:eom|end of (?:the )?month)\b", " eom "),
        (r"\bthis week\b", " thisweek "),
        (r"\bnext week\b", " nextweek "),
        (r"\bthis (morning|afternoon|evening)\b", r" today \1 "),
        (r"\b(?:business|working|work) days?\b", " bdays "),
        (r"\b(?:in the |at )?(morning|afternoon|evening|night)\b", r" \1 "),
        (r"\blunch ?time\b", " lunch "),
    )
)
_TOKEN_RE = re.compile(
    r"(?P<iso>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"|(?P<clock>[0-9]{1,2})[:.](?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?"
    r"(?:\s*(?P<clock_half>am|pm|a\.m\.?|p\.m\.?))?(?![0-9])"
    r"|(?P<hours>[0-9]{1,2})h(?P<hours_minute>[0-9]{2})?(?![a-z0-9])"
    r"|(?P<twelve>[0-9]{1,2})\s*(?P<half>am|pm|a\.m\.?|p\.m\.?)(?![a-z])"
    r"|(?P<ordinal>[0-9]{1,2})(?:st|nd|rd|th)(?![a-z0-9])"
    r"|(?P<number>[0-9]{1,6})(?![0-9])"
    r"|(?P<word>[a-z]+)\.?"
    r"|(?P<mark>[,@.])"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "time", "hours" (17h), "number", "ordinal", "date", "word"
    text: str
    number: int = 0  # a number or an ordinal
    clock: time = time(0)  # a time of day
    ymd: tuple[int, int, int] = (0, 0, 0)  # a date


def read_phrase(text: str, *, shown: str) -> Phrase:
    """Read ``text`` (zone already taken off) as a ``Phrase``; ``shown`` quotes it for errors."""
    lowered = text.lower()
    for pattern, replacement in _REWRITES:
        lowered = pattern.sub(replacement, lowered)
    return _Reader(_tokens(lowered, shown), shown).read()


def _not_understood(shown: str, piece: str = "") -> WhenError:
    what = f'"{piece}" in {shown}' if piece and f'"{piece}"' != shown else shown
    return WhenError(f"I couldn't understand {what} as a time. {EXAMPLES}", hint=HINT)


def _tokens(text: str, shown: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return tokens
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise _not_understood(shown, text[position:].split(maxsplit=1)[0])
        position = match.end()
        tokens.append(_token(match, shown))


def _token(match: re.Match[str], shown: str) -> _Token:
    piece = match.group(0)
    if match.group("iso"):
        year, month, day = (int(part) for part in piece.split("-"))
        return _Token("date", piece, ymd=(year, month, day))
    if match.group("clock"):
        hour, minute = int(match.group("clock")), int(match.group("minute"))
        second = int(match.group("second") or 0)
        half = match.group("clock_half")
        return _Token("time", piece, clock=_clock(hour, minute, second, half, piece, shown))
    if match.group("hours"):
        hour, minute = int(match.group("hours")), int(match.group("hours_minute") or 0)
        return _Token("hours", piece, clock=_clock(hour, minute, 0, None, piece, shown))
    if match.group("twelve"):
        hour = int(match.group("twelve"))
        return _Token("time", piece, clock=_clock(hour, 0, 0, match.group("half"), piece, shown))
    if match.group("ordinal"):
        return _Token("ordinal", piece, number=int(match.group("ordinal")))
    if match.group("number"):
        return _Token("number", piece, number=int(match.group("number")))
    if match.group("word"):
        return _Token("word", match.group("word"))
    return _Token("word", piece)  # a comma, "@" or ".": filler


def _clock(hour: int, minute: int, second: int, half: str | None, piece: str, shown: str) -> time:
    if half is not None:
        if not 1 <= hour <= 12:
            raise WhenError(
                f'"{piece}" in {shown} is not a time: with am or pm the hour is 1 to 12.',
                hint=HINT,
            )
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise WhenError(f'"{piece}" in {shown} is not a time of day.', hint=HINT)
    return time(hour, minute, second)


class _Reader:
    """Walks the tokens once, filling in a phrase; each part may be named once."""

    def __init__(self, tokens: list[_Token], shown: str) -> None:
        self.tokens = [t for t in tokens if not (t.kind == "word" and t.text in _FILLER)]
        self.shown = shown
        self.at = 0
        self.day: Day | None = None
        self.check_weekday: int | None = None
        self.time: time | None = None
        self.time_note = ""
        self.vague: Vague | None = None
        self.duration: timedelta | None = None
        self.now = False
        self.month_named = False

    # --- the walk ---------------------------------------------------------
    def read(self) -> Phrase:
        if not self.tokens:
            raise _not_understood(self.shown)
        self.month_named = any(t.kind == "word" and t.text in MONTHS for t in self.tokens)
        while self.at < len(self.tokens):
            self._step()
        if self.duration is not None and (self.day or self.time or self.vague):
            raise WhenError(
                f"{self.shown} names a duration and a day or time; give one of them.", hint=HINT
            )
        if self.vague is not None and self.vague.label == "midnight" and self.day is None:
            self.vague, self.time = None, time(0)  # bare "midnight": the next one
        if self.vague is not None and self.time is not None:
            self.vague = None  # "Friday evening 7pm": the time says which
        if (
            self.day is None
            and self.time is None
            and self.vague is None
            and self.duration is None
            and not self.now
        ):
            raise WhenError(f"{self.shown} names no day and no time. {EXAMPLES}", hint=HINT)
        return Phrase(
            day=self.day,
            time=self.time,
            time_note=self.time_note,
            vague=self.vague,
            duration=self.duration,
            now=self.now,
            check_weekday=self.check_weekday,
        )

    def _peek(self, offset: int = 0) -> _Token | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def _step(self) -> None:
        token = self.tokens[self.at]
        self.at += 1
        if token.kind == "time":
            self._set_time(token.clock, token.text)
        elif token.kind == "hours":
            self._hours(token)
        elif token.kind == "date":
            year, month, day = token.ymd
            self._set_day(CalendarDay(month, day, year), token.text)
        elif token.kind == "ordinal":
            self._day_of_month(token.number, token.text)
        elif token.kind == "number":
            self._number(token)
        else:
            self._word(token.text)

    # --- words ------------------------------------------------------------
    def _word(self, word: str) -> None:
        if word == "in":
            self._span_from()
        elif word in ("next", "this", "coming"):
            following = self._peek()
            if following is not None and following.text in ("month", "months", "year", "years"):
                raise WhenError(
                    f"{self.shown} names a month or a year, not a day. {EXAMPLES}", hint=HINT
                )
            if following is None or following.text not in WEEKDAYS:
                raise WhenError(
                    f'I read "{word}" in {self.shown} but no weekday after it, e.g. '
                    f'"{word} Monday 09:00".',
                    hint=HINT,
                )
            self.at += 1
            weekday = WEEKDAYS[following.text]
            self._set_day(Weekday(weekday, skip_today=word == "next"), f"{word} {following.text}")
        elif word in WEEKDAYS:
            if self.day is not None and not isinstance(self.day, Weekday):
                self._check_weekday(WEEKDAYS[word], word)
            else:
                self._set_day(Weekday(WEEKDAYS[word]), word)
        elif word in _RELATIVE:
            self._set_day(FromToday(_RELATIVE[word]), word)
            if word == "tonight":
                self._set_vague(VAGUE["tonight"], word)
        elif word in MONTHS:
            self._month(MONTHS[word], word)
        elif word in VAGUE:
            self._set_vague(VAGUE[word], word)
        elif word in WEEK_WORDS:
            self._set_day(WEEK_WORDS[word], WEEK_WORDS[word].label)
        elif word == "eom":
            self._set_day(MonthEnd(), "end of month")
        elif word in ("noon", "midday"):
            self._set_time(time(12), word)
        elif word == "cob":
            self._set_time(CLOSE_OF_BUSINESS, "close of business", note="close of business")
        elif word == "firstthing":
            self._set_time(FIRST_THING, "first thing", note="first thing")
        elif word == "now":
            self.now = True
        elif word in ("a", "an"):
            self._amount_span(1, word)
        elif word in ("month", "months", "year", "years"):
            raise WhenError(
                f"{self.shown} names a month or a year, not a day. {EXAMPLES}", hint=HINT
            )
        else:
            raise _not_understood(self.shown, word)

    def _number(self, token: _Token) -> None:
        value = token.number
        following = self._peek()
        if following is not None and following.kind == "word" and following.text in _SPAN_UNITS:
            self._amount_span(value, token.text)
            return
        if following is not None and following.kind == "word" and following.text in MONTHS:
            self._day_of_month(value, token.text)
            return
        if len(token.text) == 4 and self.day is not None and not self.month_named:
            hour, minute = divmod(value, 100)
            if hour <= 23 and minute <= 59:  # "Friday 1700"
                self._set_time(time(hour, minute), token.text)
                return
        if self.month_named and len(token.text) == 4:
            self._set_year(value, token.text)
            return
        if following is not None and following.kind == "word":
            raise _not_understood(self.shown, f"{token.text}{following.text}")
        raise WhenError(
            f'I can\'t tell what "{token.text}" means in {self.shown}: write a time as 5pm or '
            '17:00, and a date as "4 Dec" or 2026-12-04.',
            hint=HINT,
        )

    def _hours(self, token: _Token) -> None:
        following, then = self._peek(), self._peek(1)
        if following is not None and following.text == "from" and then and then.text == "now":
            self.at += 2  # "3h from now": a duration, not 03:00
            self._set_duration(_as_duration(token), token.text)
            return
        self._set_time(token.clock, token.text)

    # --- spans ------------------------------------------------------------
    def _span_from(self) -> None:
        """``in <n> <unit>``: the word "in" has been read."""
        count = self._peek()
        unit = self._peek(1)
        if count is not None and count.kind == "hours":  # "in 3h"
            self.at += 1
            self._set_duration(_as_duration(count), count.text)
            return
        if count is None or unit is None:
            raise _not_understood(self.shown, "in")
        if count.kind == "number":
            value = count.number
        elif count.kind == "word" and count.text in ("a", "an"):
            value = 1
        else:
            raise _not_understood(self.shown, f"in {count.text}")
        self.at += 2
        self._apply_amount(value, unit.text, from_now=True)

    def _amount_span(self, value: int, said: str) -> None:
        """``<n> <unit> from <day|now>``; the number has been read."""
        unit = self._peek()
        after = self._peek(1)
        if unit is None or after is None or after.text != "from":
            raise _not_understood(self.shown, said)
        self.at += 2
        target = self._peek()
        if target is None:
            raise _not_understood(self.shown, "from")
        if target.text == "now":
            self.at += 1
            self._apply_amount(value, unit.text, from_now=True)
            return
        self._apply_amount(value, unit.text, from_now=False)

    def _apply_amount(self, value: int, unit_word: str, *, from_now: bool) -> None:
        unit = "bdays" if unit_word == "bdays" else _UNITS.get(unit_word)
        if unit is None:
            raise _not_understood(self.shown, unit_word)
        days = {"days": value, "weeks": 7 * value, "bdays": value}.get(unit)
        if days is None:  # minutes or hours: an exact duration
            if not from_now:
                raise _not_understood(self.shown, f"{value} {unit_word} from")
            delta = timedelta(minutes=value) if unit == "minutes" else timedelta(hours=value)
            self._set_duration(delta, f"{value} {unit_word}")
            return
        if days > MAX_DAYS_AHEAD:
            raise WhenError(f"{self.shown} is more than 10 years away.", hint=HINT)
        if from_now:
            self._set_day(FromToday(days, business=unit == "bdays"), f"in {value} {unit_word}")
            return
        if unit == "bdays":
            raise _not_understood(self.shown, "business days from")
        start = self.at
        self._step()  # the day it counts from: "a week from Friday"
        if self.day is None or start == self.at:
            raise _not_understood(self.shown, "from")
        self.day = _plus(self.day, days, self.shown)

    # --- setters ----------------------------------------------------------
    def _set_time(self, value: time, said: str, *, note: str = "") -> None:
        if self.time is not None:
            raise WhenError(f'{self.shown} names two times of day (also "{said}").', hint=HINT)
        self.time, self.time_note = value, note

    def _set_vague(self, value: Vague, said: str) -> None:
        if self.vague is not None and self.vague != value:
            raise WhenError(f'{self.shown} names two times of day (also "{said}").', hint=HINT)
        self.vague = value

    def _set_day(self, value: Day, said: str) -> None:
        if self.day is not None:
            if isinstance(value, Weekday) and not value.skip_today and not value.plus_days:
                self._check_weekday(value.weekday, said)
                return
            if isinstance(self.day, Weekday) and isinstance(value, CalendarDay | FromToday):
                self._check_weekday(self.day.weekday, said)
                self.day = value
                return
            raise WhenError(f'{self.shown} names two days (also "{said}").', hint=HINT)
        self.day = value

    def _check_weekday(self, weekday: int, said: str) -> None:
        if self.check_weekday is not None and self.check_weekday != weekday:
            raise WhenError(f'{self.shown} names two days (also "{said}").', hint=HINT)
        self.check_weekday = weekday

    def _set_duration(self, value: timedelta, said: str) -> None:
        if self.duration is not None:
            raise WhenError(f'{self.shown} names two durations (also "{said}").', hint=HINT)
        if value > timedelta(days=MAX_DAYS_AHEAD):
            raise WhenError(f"{self.shown} is more than 10 years away.", hint=HINT)
        self.duration = value

    def _month(self, month: int, said: str) -> None:
        following = self._peek()
        if (
            following is not None
            and following.kind in ("number", "ordinal")
            and (following.kind == "ordinal" or len(following.text) <= 2)
        ):
            self.at += 1
            day = following.number
            self._set_day(CalendarDay(month, day), f"{said} {following.text}")
            self._maybe_year()
            return
        raise WhenError(f"{self.shown} names a month or a year, not a day. {EXAMPLES}", hint=HINT)

    def _day_of_month(self, day: int, said: str) -> None:
        following = self._peek()
        if following is not None and following.kind == "word" and following.text in MONTHS:
            self.at += 1
            self._set_day(CalendarDay(MONTHS[following.text], day), f"{said} {following.text}")
            self._maybe_year()
            return
        raise WhenError(
            f'I read "{said}" in {self.shown} as a day of the month, but no month: write '
            f'"{said} December" or 2026-12-{day:02d}.',
            hint=HINT,
        )

    def _maybe_year(self) -> None:
        following = self._peek()
        if following is not None and following.kind == "number" and len(following.text) == 4:
            self.at += 1
            self._set_year(following.number, following.text)

    def _set_year(self, year: int, said: str) -> None:
        if not isinstance(self.day, CalendarDay) or self.day.year is not None:
            raise _not_understood(self.shown, said)
        self.day = CalendarDay(self.day.month, self.day.day, year, self.day.plus_days)


def _as_duration(token: _Token) -> timedelta:
    """``3h`` or ``1h30`` (read as a time of day) as a duration."""
    return timedelta(hours=token.clock.hour, minutes=token.clock.minute)


def _plus(day: Day, days: int, shown: str) -> Day:
    match day:
        case Weekday():
            return Weekday(day.weekday, day.skip_today, day.plus_days + days)
        case CalendarDay():
            return CalendarDay(day.month, day.day, day.year, day.plus_days + days)
        case FromToday() if not day.business:
            return FromToday(day.days + days)
        case _:
            raise _not_understood(shown, "from")
