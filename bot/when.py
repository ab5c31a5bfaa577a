"""Turn what a user typed after ``due`` or ``to`` into an aware instant in an IANA zone.

``parse_when("Friday 17:00 America/New_York", now=..., tz="Europe/London")``
returns a ``When`` whose ``at`` carries a ``zoneinfo.ZoneInfo`` (never a fixed
offset: a fixed offset written to a calendar becomes ``TZID=UTC-05:00``, which
readers take for the wrong instant).

How a text is read, in order:

1. A time zone named in the text wins over the user's zone: an IANA name
   (``America/New_York``, any case) or a common abbreviation (``ET``, ``PST``,
   ``CET``, ``UTC`` ...). It is taken off the text: dateparser does not know
   IANA names.
2. All-numeric dates are read by us, not dateparser: ``27/11/2026`` and
   ``11/27/2026`` are clear, ``03/04/2026`` is refused as ambiguous.
3. ISO 8601 (``2026-11-27T17:00-05:00``, ``2026-11-27 17:00``, ``...Z``) goes
   to ``datetime.fromisoformat``, never to dateparser. A numeric offset keeps
   its instant; the zone is then the user's zone if it has that offset at that
   instant, else UTC.
4. ``in 90 minutes`` / ``in 3 hours`` are exact durations from ``now`` (naive
   wall-clock arithmetic would be an hour off across a DST change).
5. Everything else goes to dateparser, English only, preferring the future,
   relative to ``now`` in the zone.

Then: a date without a time means 17:00 local (close of business); a weekday
name means the next such day, today included if the time is still ahead; a
local time that a DST change repeats or skips is refused, as is anything not
strictly after ``now``, a bare number, a month or year without a day, and a
date more than ``MAX_YEARS_AHEAD`` years away. Every refusal is a ``WhenError``
whose message says what was understood.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from dateparser.date import DateDataParser

from bot.errors import WhenError

EXAMPLES = 'Try "Friday 17:00", "tomorrow 9am", "in 3 days" or "2026-11-27 17:00 America/New_York".'
HINT = (
    "Examples: Friday 17:00 · Fri 5pm ET · tomorrow 9am · in 3 days · next Monday 09:00 · "
    "2026-11-27 17:00 America/New_York · 2026-11-27T17:00-05:00"
)
CLOSE_OF_BUSINESS = time(17, 0)
MAX_TEXT = 100  # longer than any time anyone types; keeps dateparser's work bounded
MAX_YEARS_AHEAD = 10

ABBREVIATIONS: dict[str, str] = {
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "cet": "Europe/Paris",
    "cest": "Europe/Paris",
    "bst": "Europe/London",
}

WEEKDAYS: dict[str, int] = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Only [0-9]: ``\d`` also matches other scripts' digits, which int() accepts silently.
_ZONE_RE = re.compile(r"(?<![\w/])[A-Za-z][\w+\-]*(?:/[\w+\-]+)+(?![\w/])")
_ABBREVIATION_RE = re.compile(
    r"(?<![\w/+\-])(" + "|".join(ABBREVIATIONS) + r")(?![\w/])(?!\s*[+\-][0-9])",
    re.IGNORECASE,
)
_DANGLING_RE = re.compile(r"(?:\s+(?:in|at))+$", re.IGNORECASE)
_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]")
_CLOSE_OF_BUSINESS_RE = re.compile(
    r"\b(?:eod|cob|end of (?:the )?day|close of business)\b", re.IGNORECASE
)
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
_DURATION_RE = re.compile(
    r"(?:in\s+(?P<n1>an?|[0-9]{1,5})\s*(?P<u1>m|mins?|minutes?|h|hrs?|hours?)"
    r"|(?P<n2>an?|[0-9]{1,5})\s*(?P<u2>m|mins?|minutes?|h|hrs?|hours?)\s+from\s+now)",
    re.IGNORECASE,
)
_WEEKDAY_RE = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)
_NEXT_RE = re.compile(r"\bnext\b", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# dateparser makes a date of almost anything ("1s", "0d", "f.r", "1m248"), so only text made of
# these words and the shapes below reaches it.
_WORDS = frozenset([
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "weds", "thu", "thur", "thurs", "fri", "sat", "sun",
    "today", "tomorrow", "tonight", "yesterday", "now", "noon", "midnight", "morning",
    "afternoon", "evening", "night",
    "next", "this", "last", "in", "at", "on", "by", "from", "after", "before", "ago", "the", "of",
    "a", "an", "@",
    "minute", "minutes", "min", "mins", "hour", "hours", "hr", "hrs", "day", "days", "week",
    "weeks", "month", "months", "year", "years",
    "am", "pm", "a.m.", "p.m.", "a.m", "p.m",
])  # fmt: skip
_TOKEN_RE = re.compile(
    r"[0-9]{1,4}(?:st|nd|rd|th)?"  # 30, 2026, 30th
    r"|[0-9]{1,2}(?::[0-9]{2}){1,2}(?:am|pm|a\.m\.?|p\.m\.?)?"  # 17:00, 5:30pm
    r"|[0-9]{1,2}(?:am|pm|a\.m\.?|p\.m\.?)"  # 5pm
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}"  # 2026-11-27 (with a time in words)
    r"|(?:utc|gmt)?[+\-][0-9]{1,2}(?::?[0-9]{2})?",  # UTC+2, +05:30
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class When:
    """An instant and the zone it was meant in."""

    at: datetime  # aware; tzinfo is ZoneInfo(tz)
    tz: str  # IANA name
    understood: str  # e.g. "Fri 27 Nov 2026 17:00 EST (America/New_York)"


def parse_when(text: str, *, now: datetime, tz: str) -> When:
    """Read ``text`` as a future instant; ``tz`` is the user's zone, used when the text names none.

    ``now`` must be aware. Raises ``WhenError`` (and nothing else) for text that
    cannot be used, with a message that says what was understood.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    shown = _quote(text)
    cleaned = " ".join(text.split())
    if not cleaned:
        raise WhenError(f"I need a time. {EXAMPLES}", hint=HINT)
    if len(cleaned) > MAX_TEXT:
        raise WhenError(f"{shown} is too long to be a time. {EXAMPLES}", hint=HINT)

    cleaned, named_zone = _take_zone(cleaned, shown)
    if not cleaned:
        raise WhenError(f"I found the time zone {named_zone} in {shown}, but no time.", hint=HINT)

    cleaned = _CLOSE_OF_BUSINESS_RE.sub("17:00", cleaned)
    cleaned = _rewrite_numeric_dates(cleaned, shown)

    iso = _ISO_RE.fullmatch(cleaned)
    if iso:
        return _from_iso(iso, shown=shown, now=now, user_tz=tz, named_zone=named_zone)
    if _BARE_NUMBER_RE.fullmatch(cleaned):
        raise WhenError(f"{shown} is just a number; I need a day and a time. {EXAMPLES}", hint=HINT)
    zone_name = _zone_to_use(named_zone, tz)
    zone = ZoneInfo(zone_name)
    duration = _DURATION_RE.fullmatch(cleaned)
    if duration:
        return _from_duration(duration, shown=shown, now=now, zone=zone, zone_name=zone_name)
    return _from_natural(cleaned, shown=shown, now=now, zone=zone, zone_name=zone_name)


def warm_up() -> None:
    """Load dateparser's English data and the zone list now, not during the first command.

    The first dateparser call loads its language data: 2.6 s was once measured on
    this machine, enough to miss Slack's 3-second acknowledgement. With English
    only, a cold first parse now takes ~90 ms and this warm-up ~85 ms; afterwards
    a natural-language parse takes ~0.5 ms (the first one per zone a few ms more).
    """
    _zones()
    now = datetime.now(UTC)
    for sample in ("Friday 17:00", "tomorrow 9am", "in 3 days", "Nov 30 5pm"):
        # A refusal ("Friday 17:00" late on a Friday) is fine: only the loading matters.
        with contextlib.suppress(WhenError):
            parse_when(sample, now=now, tz="UTC")


# --- zones ------------------------------------------------------------------


@cache
def _zones() -> tuple[dict[str, str], frozenset[str]]:
    """Lower-cased IANA name -> canonical name, and the lower-cased areas (``america``)."""
    names = {
        name
        for name in available_timezones()
        if name not in {"Factory", "localtime", "posixrules"}  # not zones users mean
    }
    by_lower = {name.lower(): name for name in names}
    areas = frozenset(name.split("/", 1)[0].lower() for name in names if "/" in name)
    return by_lower, areas


def _known_zone(name: str) -> str | None:
    return _zones()[0].get(name.strip().lower())


def _zone_to_use(named_zone: str | None, user_tz: str) -> str:
    """The zone named in the text, else the user's; refuse a user zone we do not know."""
    zone_name = named_zone or _known_zone(user_tz)
    if zone_name is None:
        raise WhenError(
            f"Your time zone {_quote(user_tz)} is not one I know. Name a zone in the time, "
            'e.g. "Friday 17:00 America/New_York".',
            hint=HINT,
        )
    return zone_name


def _take_zone(text: str, shown: str) -> tuple[str, str | None]:
    """Remove the zone names from ``text``; return the rest and the one zone named."""
    by_lower, areas = _zones()
    found: list[str] = []

    def iana(match: re.Match[str]) -> str:
        token = match.group(0)
        canonical = by_lower.get(token.lower())
        if canonical is not None:
            found.append(canonical)
            return " "
        if token.split("/", 1)[0].lower() in areas:
            raise WhenError(
                f"I don't know the time zone {_quote(token)} in {shown}. "
                "Use an IANA name such as America/New_York, Europe/London or Asia/Tokyo.",
                hint=HINT,
            )
        return token

    def abbreviation(match: re.Match[str]) -> str:
        found.append(ABBREVIATIONS[match.group(1).lower()])
        return " "

    text = _ZONE_RE.sub(iana, text)
    text = _ABBREVIATION_RE.sub(abbreviation, text)
    if not found:
        return text, None
    distinct = list(dict.fromkeys(found))
    if len(distinct) > 1:
        raise WhenError(
            f"{shown} names more than one time zone ({', '.join(distinct)}); name one.",
            hint=HINT,
        )
    text = _EMPTY_BRACKETS_RE.sub(" ", text)
    text = _DANGLING_RE.sub("", " ".join(text.split())).strip(" ,;")
    return text, distinct[0]


# --- the readers ------------------------------------------------------------


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
            return match.group(0)  # no reading is a date; the parsers below will say so
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
    match: re.Match[str], *, shown: str, now: datetime, user_tz: str, named_zone: str | None
) -> When:
    text = match.group("date")
    if match.group("time"):
        text += "T" + match.group("time") + (match.group("offset") or "")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise WhenError(f"{shown} is not a real date or time. {EXAMPLES}", hint=HINT) from None
    _check_range(parsed, shown=shown, now=now)
    offset = parsed.utcoffset()
    if offset is None:
        zone_name = _zone_to_use(named_zone, user_tz)
        no_time = not match.group("time")
        if no_time:
            parsed = datetime.combine(parsed.date(), CLOSE_OF_BUSINESS)
        at = _localize(parsed, ZoneInfo(zone_name), shown=shown)
        return _finish(at, zone_name, shown=shown, now=now, no_time=no_time)
    instant = parsed.astimezone(UTC)
    if named_zone is not None:
        zone_name = named_zone
    elif match.group("offset") in ("Z", "z"):
        zone_name = "UTC"
    else:
        user_zone = _known_zone(user_tz)
        if user_zone is not None and instant.astimezone(ZoneInfo(user_zone)).utcoffset() == offset:
            zone_name = user_zone
        else:
            zone_name = "UTC"
    at = instant.astimezone(ZoneInfo(zone_name))
    return _finish(at, zone_name, shown=shown, now=now, no_time=False)


def _from_duration(
    match: re.Match[str], *, shown: str, now: datetime, zone: ZoneInfo, zone_name: str
) -> When:
    amount_text = (match.group("n1") or match.group("n2")).lower()
    unit = (match.group("u1") or match.group("u2")).lower()
    amount = 1 if amount_text in ("a", "an") else int(amount_text)
    delta = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
    if delta > timedelta(days=366 * MAX_YEARS_AHEAD):
        raise WhenError(f"{shown} is more than {MAX_YEARS_AHEAD} years away.", hint=HINT)
    at = (now + delta).astimezone(zone)
    return _finish(at, zone_name, shown=shown, now=now, no_time=False)


def _from_natural(text: str, *, shown: str, now: datetime, zone: ZoneInfo, zone_name: str) -> When:
    if not all(_plausible(token) for token in re.split(r"[\s,]+", text) if token):
        raise WhenError(f"I couldn't understand {shown} as a time. {EXAMPLES}", hint=HINT)
    local_now = now.astimezone(zone)
    base = local_now.replace(tzinfo=None)
    try:
        data = DateDataParser(
            languages=["en"],
            settings={
                "PREFER_DATES_FROM": "future",
                "RETURN_AS_TIMEZONE_AWARE": False,
                "TIMEZONE": zone_name,
                "RELATIVE_BASE": base,
            },
        ).get_date_data(text)
    except Exception:  # dateparser fails in odd ways on odd text; to the user that is "not a time"
        data = None
    found = None if data is None else data.date_obj
    if not isinstance(found, datetime):
        raise WhenError(f"I couldn't understand {shown} as a time. {EXAMPLES}", hint=HINT)
    parts = tuple(data.parts or ())
    if "day" not in parts or data.period not in ("day", "week"):
        raise WhenError(f"{shown} names a month or a year, not a day. {EXAMPLES}", hint=HINT)
    if found.tzinfo is not None:  # dateparser keeps aware results only if told to; be sure
        found = found.astimezone(zone).replace(tzinfo=None)
    no_time = "time" not in parts
    if no_time:
        found = datetime.combine(found.date(), CLOSE_OF_BUSINESS)
    _check_range(found, shown=shown, now=now)

    named = {WEEKDAYS[word.lower()] for word in _WEEKDAY_RE.findall(text)}
    if named:
        found = _earliest_weekday(found, named, text=text, local_now=local_now, zone=zone)
        if found.weekday() not in named:
            wanted = " or ".join(WEEKDAY_NAMES[day] for day in sorted(named))
            raise WhenError(
                f"I read {shown} as {_describe_naive(found)}, which is a "
                f"{WEEKDAY_NAMES[found.weekday()]}, not a {wanted}.",
                hint=HINT,
            )
    at = _localize(found, zone, shown=shown)
    return _finish(at, zone_name, shown=shown, now=now, no_time=no_time)


def _plausible(token: str) -> bool:
    word = token.lower()
    return word in _WORDS or word.rstrip(".") in _WORDS or bool(_TOKEN_RE.fullmatch(word))


def _earliest_weekday(
    found: datetime, named: set[int], *, text: str, local_now: datetime, zone: ZoneInfo
) -> datetime:
    """dateparser reads today's weekday name as next week's; use today if it is still ahead."""
    if (
        local_now.weekday() in named
        and not _NEXT_RE.search(text)
        and found.date() == local_now.date() + timedelta(days=7)
    ):
        today = found - timedelta(days=7)
        if today.replace(tzinfo=zone) > local_now:
            return today
    return found


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


def _localize(naive: datetime, zone: ZoneInfo, *, shown: str) -> datetime:
    """Attach ``zone``; refuse a wall time that the zone repeats (fold) or skips (gap)."""
    naive = naive.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    wall = _describe_naive(naive)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise WhenError(
            f"{shown} is {wall}, a time that does not exist in {zone.key}: the clocks skip "
            "that hour for daylight saving. Pick another time.",
            hint=HINT,
        )
    raise WhenError(
        f"{shown} is {wall}, which happens twice in {zone.key} "
        f"({first.tzname()}, then {second.tzname()}) when the clocks go back. Pick another "
        f"time or give the offset, e.g. {naive:%Y-%m-%dT%H:%M}{_offset(first)}.",
        hint=HINT,
    )


def _finish(at: datetime, zone_name: str, *, shown: str, now: datetime, no_time: bool) -> When:
    understood = describe(at, zone_name)
    if no_time:
        understood += " (no time given, so 17:00, close of business)"
    if at <= now:
        tense = "in the past" if at < now else "now, not in the future"
        raise WhenError(f"{shown} is {understood}, which is {tense}.", hint=HINT)
    return When(at=at, tz=zone_name, understood=understood)


def describe(at: datetime, tz: str) -> str:
    """``Fri 27 Nov 2026 17:00 EST (America/New_York)``; the zone name only where it adds."""
    label = at.tzname() or ""
    suffix = f" {label}" if label else ""
    if tz != label:
        suffix += f" ({tz})"
    return f"{_describe_naive(at)}{suffix}"


def _describe_naive(value: datetime) -> str:
    return f"{value:%a} {value.day} {value:%b %Y %H:%M}"


def _offset(value: datetime) -> str:
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= 60 else text[:57] + "..."}"'
