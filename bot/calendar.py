"""iCalendar rendering for calendar feeds: pure functions from deadlines to bytes.

One deadline is one VEVENT:

- ``UID`` is the deadline's random ``uid`` + ``@parley``, so it never changes;
  ``SEQUENCE`` is the deadline's own counter (storage raises it on every change).
- ``DTSTART`` is written in the deadline's IANA zone with ``TZID`` and a VTIMEZONE
  built here from RRULE rules (``STANDARD``/``DAYLIGHT`` with
  ``RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..``), the form Outlook reads right, not
  icalendar's ``add_missing_timezones`` RDATE lists. A zone Python cannot load
  (a fixed offset such as ``UTC-05:00``) and UTC itself are written as UTC
  (``...Z``), never as ``TZID=UTC-05:00``, which parsers read as the wrong instant.
- ``DTSTAMP`` and ``LAST-MODIFIED`` are the last time anything shown in the event
  changed: the deadline itself, a position on it, a request for one, or an offer.
- ``STATUS`` is CONFIRMED, or CANCELLED for a cancelled deadline; open deadlines
  carry one ``VALARM`` per reminder offset.
- ``DESCRIPTION`` lists the offers (``O2 title (host)``) and gives the current
  one's URL in full, for clients that show no attachments but link URLs in text;
  that URL is also the event's ``ATTACH`` (written as a URI, RFC 5545's default
  value type, so no ``VALUE`` parameter). ``URL`` stays the link to the
  deadline's chat.

Nothing rendered depends on the current time, so an event's bytes are a function
of its inputs and can be cached: ``EventCache`` keeps one serialized event per
uid and reuses it while the deadline's sequence and every other rendered input
compare equal. A feed is the header, the VTIMEZONEs and the cached events
concatenated (``assemble``).
"""

from __future__ import annotations

import calendar as gregorian
import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
)

from bot.domain import Deadline, DeadlineState, DeadlineStatus, format_offset
from bot.messages import MENTION, format_local, host, web_link
from bot.views import position_tally, position_value, waiting_for

PRODID = "-//Parley//Parley negotiation deadlines//EN"
EVENT_LENGTH = timedelta(minutes=15)
REFRESH_INTERVAL = timedelta(minutes=15)
CANCELLED_KEPT = timedelta(days=30)
POSITIONS_SHOWN = 20
OFFERS_SHOWN = 10  # the latest ones
TERMS_SHOWN = 200
UID_DOMAIN = "parley"

STATUS_WORDS = {
    DeadlineStatus.OPEN: "open",
    DeadlineStatus.MET: "met (done)",
    DeadlineStatus.CANCELLED: "cancelled",
    DeadlineStatus.MISSED: "missed",
}
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "Universal"})
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True, slots=True)
class CalendarDocument:
    """A serialized calendar with its HTTP validators."""

    body: bytes
    etag: str  # a strong entity tag (unquoted): 128 bits of the body's SHA-256
    last_modified: datetime | None
    events: int


def event_uid(deadline: Deadline) -> str:
    return f"{deadline.uid}@{UID_DOMAIN}"


def zone_of(tz: str) -> ZoneInfo | None:
    """The IANA zone to write with TZID, or None to write UTC."""
    if not tz or tz in _UTC_NAMES:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def dtstart(deadline: Deadline) -> datetime:
    """DTSTART: local wall time in the deadline's zone, or UTC where that would be wrong."""
    zone = zone_of(deadline.tz)
    if zone is None:
        return deadline.due_at.astimezone(UTC)
    local = deadline.due_at.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # The second 01:30 of a fall-back night: a TZID wall time means the first
        # one (RFC 5545 3.3.5), so this instant is only exact in UTC.
        return deadline.due_at.astimezone(UTC)
    return local


def _plain(text: str) -> str:
    """Chat mentions as calendar text: ``<@U1>`` -> ``@U1``."""
    return MENTION.sub(r"@\1", text)


def describe(item: DeadlineState) -> str:
    """DESCRIPTION: status, due time, position summary and how to answer."""
    deadline = item.deadline
    lines = [
        f"{deadline.ref} {deadline.title} — {STATUS_WORDS[deadline.status]}",
        f"Due: {format_local(deadline.due_at, deadline.tz if zone_of(deadline.tz) else 'UTC')}"
        + (f" ({deadline.tz})" if deadline.tz else ""),
        f"Owner: @{deadline.owner_id}",
        "Positions: " + _plain(position_tally(item.positions, item.requests)),
    ]
    for position in item.positions[:POSITIONS_SHOWN]:
        terms = " ".join(position.terms.split())
        if len(terms) > TERMS_SHOWN:
            terms = terms[: TERMS_SHOWN - 1] + "…"
        line = f"• {_plain(position.label)}: {position_value(position).replace('`', '')}"
        lines.append(f"{line} — {terms}" if terms else line)
    if len(item.positions) > POSITIONS_SHOWN:
        lines.append(f"… and {len(item.positions) - POSITIONS_SHOWN} more")
    pending = waiting_for(item.requests)
    if pending:
        lines.append("Waiting for: " + ", ".join(f"@{u}" for u in pending))
    lines += _offer_lines(item)
    if deadline.status is DeadlineStatus.OPEN:
        lines += [
            "",
            "To state a position, type in the channel:",
            f"/position {deadline.ref} <support|oppose|conditional|undecided>"
            " [as <party>] [<terms>]",
        ]
    return "\n".join(lines)


def _offer_lines(item: DeadlineState) -> list[str]:
    """``Offers:`` and one line per offer, the latest ``OFFERS_SHOWN``."""
    if not item.offers:
        return []
    lines = ["Offers:"]
    if len(item.offers) > OFFERS_SHOWN:
        lines.append(f"… {len(item.offers) - OFFERS_SHOWN} earlier")
    for offer in item.offers[-OFFERS_SHOWN:]:
        line = f"• {offer.ref} {offer.title}"
        if offer.url:
            line += f" ({host(offer.url)})"
        if offer.party:
            line += f" from {offer.party}"
        if offer is item.offers[-1]:
            line += f" — current{f': {offer.url}' if offer.url else ''}"
        lines.append(line)
    return lines


def current_offer_url(item: DeadlineState) -> str | None:
    """The ``ATTACH`` of an event: the link of the offer on the table, if it has one."""
    url = item.offers[-1].url if item.offers else None
    return url if url and web_link(url) else None


def _summary(deadline: Deadline) -> str:
    suffix = "" if deadline.status is DeadlineStatus.OPEN else f" [{deadline.status.value}]"
    return f"{deadline.ref} {deadline.title}{suffix}"


def render_event(item: DeadlineState, *, url: str | None = None) -> bytes:
    """One VEVENT, serialized (``BEGIN:VEVENT`` ... ``END:VEVENT`` with CRLF)."""
    deadline = item.deadline
    modified = item.modified_at.astimezone(UTC)
    event = Event()
    event.add("uid", event_uid(deadline))
    event.add("dtstamp", modified)
    event.add("last-modified", modified)
    event.add("created", deadline.created_at.astimezone(UTC))
    event.add("sequence", deadline.sequence)
    event.add("summary", _summary(deadline))
    event.add("dtstart", dtstart(deadline))
    event.add("duration", EVENT_LENGTH)
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    cancelled = deadline.status is DeadlineStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("description", describe(item))
    if url:
        event.add("url", url)
    attachment = current_offer_url(item)
    if attachment:
        event.add("attach", attachment)
    if deadline.status is DeadlineStatus.OPEN:
        for offset in sorted(set(deadline.reminder_offsets), reverse=True):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            due_in = f"{deadline.ref} {deadline.title}: due in {format_offset(offset)}"
            alarm.add("description", due_in)
            alarm.add("trigger", -offset)
            event.add_component(alarm)
    return bytes(event.to_ical())


def calendar_header(*, name: str, description: str) -> bytes:
    """``BEGIN:VCALENDAR`` and the calendar's properties (no ``END``)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("description", description)
    cal.add("x-wr-caldesc", description)
    cal.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    text = bytes(cal.to_ical())
    end = b"END:VCALENDAR\r\n"
    assert text.endswith(end)
    return text[: -len(end)]


# --- VTIMEZONE from zoneinfo transitions -------------------------------------------


@dataclass(frozen=True, slots=True)
class _Transition:
    at: datetime  # UTC instant of the change
    offset_from: timedelta
    offset_to: timedelta
    is_dst: bool
    name: str

    @property
    def local_start(self) -> datetime:
        """The wall time of the change in the old offset (VTIMEZONE DTSTART, naive)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    def byday_options(self) -> frozenset[int]:
        """Ways to name this day as the n-th weekday of its month (-1: the last one)."""
        day = self.local_start
        options = {(day.day - 1) // 7 + 1}
        if day.day + 7 > gregorian.monthrange(day.year, day.month)[1]:
            options.add(-1)
        return frozenset(options)

    def rule_key(self) -> tuple[Any, ...]:
        start = self.local_start
        return (
            self.is_dst,
            self.name,
            self.offset_from,
            self.offset_to,
            start.month,
            start.weekday(),
            start.time(),
        )


@dataclass(slots=True)
class _Run:
    """Transitions that one yearly rule describes."""

    members: list[_Transition]
    options: frozenset[int]


def _state(zone: ZoneInfo, at: datetime) -> tuple[timedelta | None, bool, str | None]:
    local = at.astimezone(zone)
    return local.utcoffset(), bool(local.dst()), local.tzname()


def _daylight(offset_from: timedelta, offset_to: timedelta, dst_from: bool, dst_to: bool) -> bool:
    """Whether a change starts a DAYLIGHT observance (else STANDARD).

    A change between two standard times (a zone moving its base offset, even by
    a whole day as Pacific/Kanton did) is STANDARD. Where DST is involved, the
    later clock is DAYLIGHT, also where tzdata calls winter the DST period
    (Europe/Dublin's negative DST): readers derive DST from the pair's offsets.
    """
    if not (dst_from or dst_to):
        return False
    if offset_to == offset_from:
        return dst_to
    return offset_to > offset_from


def _transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[_Transition]:
    """Every change of offset, DST flag or abbreviation in the years given, to the second."""
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=12)  # no zone changes twice within 12 hours
    found: list[_Transition] = []
    here, state = start, _state(zone, start)
    while here < end:
        there = min(here + step, end)
        next_state = _state(zone, there)
        if next_state != state:
            low, high = here, there  # state(low) == state, state(high) != state
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            before, after = _state(zone, low), _state(zone, high)
            offset_from, offset_to = before[0] or timedelta(0), after[0] or timedelta(0)
            found.append(
                _Transition(
                    at=high,
                    offset_from=offset_from,
                    offset_to=offset_to,
                    is_dst=_daylight(offset_from, offset_to, before[1], after[1]),
                    name=after[2] or "",
                )
            )
        here, state = there, next_state
    return found


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _pick_byday(options: frozenset[int]) -> int:
    small = sorted(o for o in options if 0 < o <= 3)
    if small:
        return small[0]
    return -1 if -1 in options else min(options)


def _observance(
    transitions: Sequence[_Transition], *, byday: int | None, open_ended: bool
) -> TimezoneStandard | TimezoneDaylight:
    first = transitions[0]
    component: TimezoneStandard | TimezoneDaylight = (
        TimezoneDaylight() if first.is_dst else TimezoneStandard()
    )
    component.add("dtstart", first.local_start)
    component.add("tzoffsetfrom", first.offset_from)
    component.add("tzoffsetto", first.offset_to)
    if first.name:
        component.add("tzname", first.name)
    if byday is not None:
        rule: dict[str, Any] = {
            "freq": "yearly",
            "bymonth": first.local_start.month,
            "byday": f"{byday}{_WEEKDAYS[first.local_start.weekday()]}",
        }
        if not open_ended:
            # A day past the last onset: exact for readers that take UNTIL as UTC
            # (RFC 5545), and still inclusive for those that compare it with the
            # onset's wall time; the next onset is a year later either way.
            rule["until"] = transitions[-1].at + timedelta(days=1)
        component.add("rrule", rule)
    return component


@lru_cache(maxsize=1024)
def vtimezone(tz: str, first_year: int, last_year: int) -> bytes:
    """A VTIMEZONE for ``tz`` that is exact for every instant in the years given.

    Transitions that recur on the same month, weekday-of-month, wall time and
    offsets in consecutive years become one STANDARD or DAYLIGHT component with
    a yearly RRULE (open-ended when the rule is still in force at the end of
    the span, else with UNTIL); an irregular transition is a component of its
    own, without RRULE, whose offset holds until the next one. A zone without
    transitions in the span is one STANDARD component.
    """
    zone = ZoneInfo(tz)
    found = _transitions(zone, first_year, last_year)
    vtz = Timezone()
    vtz.add("tzid", tz)
    if not found or found[0].at >= datetime(first_year + 1, 1, 1, tzinfo=UTC):
        # No change in the first year of the span: say which offset holds before
        # the first change (readers guess wrongly without it).
        offset, _, name = _state(zone, datetime(first_year, 1, 1, tzinfo=UTC))
        steady = _Transition(
            at=datetime(1970, 1, 1, tzinfo=UTC) - (offset or timedelta(0)),
            offset_from=offset or timedelta(0),
            offset_to=offset or timedelta(0),
            is_dst=False,
            name=name or "",
        )
        vtz.add_component(_observance([steady], byday=None, open_ended=True))
    runs: list[_Run] = []
    latest: dict[tuple[Any, ...], _Run] = {}
    for transition in found:
        key = transition.rule_key()
        options = transition.byday_options()
        run = latest.get(key)
        if (
            run is not None
            and run.options & options
            and run.members[-1].local_start.year == transition.local_start.year - 1
        ):
            run.members.append(transition)
            run.options &= options
            continue
        latest[key] = _Run([transition], options)
        runs.append(latest[key])
    for run in runs:
        vtz.add_component(
            _observance(
                run.members,
                byday=_pick_byday(run.options) if len(run.members) > 1 else None,
                open_ended=run.members[-1].local_start.year >= last_year,
            )
        )
    return bytes(vtz.to_ical())


def zone_years(items: Iterable[DeadlineState]) -> dict[str, tuple[int, int]]:
    """For each IANA zone used, the span of years its VTIMEZONE must cover."""
    spans: dict[str, tuple[int, int]] = {}
    for item in items:
        deadline = item.deadline
        if zone_of(deadline.tz) is None:
            continue
        year = deadline.due_at.year
        low, high = spans.get(deadline.tz, (year, year))
        spans[deadline.tz] = (min(low, year), max(high, year))
    # One year of margin on each side: the observance in force on 1 January
    # starts in the year before.
    return {tz: (low - 1, high + 1) for tz, (low, high) in sorted(spans.items())}


def timezones_for(items: Iterable[DeadlineState]) -> list[bytes]:
    return [vtimezone(tz, low, high) for tz, (low, high) in zone_years(items).items()]


# --- assembling feeds -----------------------------------------------------------------


def assemble(*, header: bytes, timezones: Sequence[bytes], events: Sequence[bytes]) -> bytes:
    return b"".join((header, *timezones, *events, b"END:VCALENDAR\r\n"))


def document(body: bytes, *, last_modified: datetime | None, events: int) -> CalendarDocument:
    """Wrap ``body`` with a strong ETag (a content hash) and Last-Modified."""
    etag = hashlib.sha256(body).hexdigest()[:32]
    return CalendarDocument(body=body, etag=etag, last_modified=last_modified, events=events)


class EventCache:
    """Serialized VEVENTs by uid, least recently used dropped first.

    An entry is reused only when the item (deadline with its sequence, positions,
    requests) and the URL compare equal to those it was rendered from; any
    change renders the event again and replaces the entry. Not thread-safe: use
    it from the event loop and render misses elsewhere with ``render_event``.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[tuple[DeadlineState, str | None], bytes]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, item: DeadlineState, url: str | None) -> bytes | None:
        uid = item.deadline.uid
        entry = self._entries.get(uid)
        if entry is None or entry[0] != (item, url):
            return None
        self._entries.move_to_end(uid)
        return entry[1]

    def put(self, item: DeadlineState, url: str | None, body: bytes) -> None:
        uid = item.deadline.uid
        self._entries[uid] = ((item, url), body)
        self._entries.move_to_end(uid)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def build_calendar(
    items: Sequence[DeadlineState], *, name: str, description: str
) -> CalendarDocument:
    """A whole calendar rendered from scratch, without the cache (tests, benchmark)."""
    body = assemble(
        header=calendar_header(name=name, description=description),
        timezones=timezones_for(items),
        events=[render_event(item) for item in items],
    )
    return document(body, last_modified=last_modified(items), events=len(items))


def last_modified(items: Iterable[DeadlineState]) -> datetime | None:
    stamps = [item.modified_at for item in items]
    return max(stamps) if stamps else None
