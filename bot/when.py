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
4. Words are read by ``bot.timewords`` and placed by ``bot.timeplace``, in the zone:

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
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from bot import zones
from bot.errors import VagueTime, WhenError
from bot.timeplace import (
    MAX_YEARS_AHEAD,
    MONTHS,
    NO_TIME,
    Display,
    Placer,
    describe,
    describe_naive,
    localize,
    offset_text,
)
from bot.timewords import (
    CLOSE_OF_BUSINESS,
    EXAMPLES,
    HINT,
    CalendarDay,
    FromToday,
    Phrase,
    read_phrase,
)

MAX_TEXT = 100  # longer than any time anyone types

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
        names = [z.name or offset_text(z.offset) for z in distinct]
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
        zone = distinct[0].name or offset_text(distinct[0].offset)
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
        display = Display(user_zone=zones.known_zone(tz), named=None)
    else:
        zone_name = _zone_to_use(named, tz)
        wall_zone = ZoneInfo(zone_name)
        display = Display(user_zone=zone_name, named=zone_name if named else None)
    placer = Placer(shown=shown, now=now, zone=wall_zone, after=after, display=display)
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
                f"{shown} is ambiguous: {piece} could be {b} {MONTHS[a - 1]}{suffix} "
                f"or {a} {MONTHS[b - 1]}{suffix}. Write the month as a word "
                f'("{a} {MONTHS[b - 1]}") or use ISO order (year-month-day).',
                hint=HINT,
            )
        month, day = (a, b) if a <= 12 else (b, a)
        if year is None:
            return f"{MONTHS[month - 1]} {day}"
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
    note = NO_TIME if no_time else ""
    if offset is None:
        zone_name = _zone_to_use(named, user_tz)
        at = localize(parsed, ZoneInfo(zone_name), shown=shown)
        return _finish(at, zone_name, shown=shown, now=now, note=note, zone_named=named is not None)
    instant = parsed.astimezone(UTC)
    if named is not None and named.name is not None:
        zone_name = named.name
    elif match.group("offset") in ("Z", "z"):
        zone_name = "UTC"
    else:
        zone_name = Display(user_zone=zones.known_zone(user_tz), named=None).zone_for(parsed)
    at = instant.astimezone(ZoneInfo(zone_name))
    named_zone = named is not None and named.name is not None
    return _finish(at, zone_name, shown=shown, now=now, note=note, zone_named=named_zone)


# --- shared checks ----------------------------------------------------------


def _check_range(value: datetime, *, shown: str, now: datetime) -> None:
    """Refuse years far from now before any zone arithmetic can overflow on them."""
    if value.year > now.year + MAX_YEARS_AHEAD:
        raise WhenError(
            f"{shown} is {describe_naive(value)}, more than {MAX_YEARS_AHEAD} years away.",
            hint=HINT,
        )
    if value.year < now.year - 1:
        raise WhenError(f"{shown} is {describe_naive(value)}, which is in the past.", hint=HINT)


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


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= 60 else text[:57] + "..."}"'
