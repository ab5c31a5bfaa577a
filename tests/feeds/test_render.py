"""bot.calendar on its own: VTIMEZONEs from zoneinfo transitions, events, the event cache."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
import vobject
from dateutil import tz as dateutil_tz
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bot.calendar import (
    EventCache,
    _transitions,
    build_calendar,
    render_event,
    vtimezone,
)
from bot.domain import (
    DEFAULT_OFFSETS,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    Offer,
    Position,
    Stance,
)
from tests.feeds.feedcheck import parse_both

ZONES = sorted(available_timezones() - {"Factory", "localtime"})


def deadline(n: int = 1, *, due: datetime, tz: str, **changes: object) -> Deadline:
    made = Deadline(
        id=n,
        workspace_id="w",
        number=n,
        channel_id="c",
        platform="shell",
        title=f"Offer {n}",
        due_at=due,
        tz=tz,
        owner_id="alex",
        status=DeadlineStatus.OPEN,
        reminder_offsets=DEFAULT_OFFSETS,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
        sequence=0,
        uid=f"{n:032x}",
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


def observances(tz: str, first: int, last: int) -> list[dict[str, str]]:
    cal = Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\n" + vtimezone(tz, first, last) + b"END:VCALENDAR\r\n"
    )
    return [
        {key: _text(prop.to_ical()) for key, prop in component.items()} | {"kind": component.name}
        for component in cal.walk()
        if component.name in ("STANDARD", "DAYLIGHT")
    ]


def test_new_york_and_london_are_two_yearly_rules() -> None:
    assert observances("America/New_York", 2025, 2027) == [
        {
            "kind": "DAYLIGHT",
            "DTSTART": "20250309T020000",
            "RRULE": "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
            "TZNAME": "EDT",
            "TZOFFSETFROM": "-0500",
            "TZOFFSETTO": "-0400",
        },
        {
            "kind": "STANDARD",
            "DTSTART": "20251102T020000",
            "RRULE": "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
            "TZNAME": "EST",
            "TZOFFSETFROM": "-0400",
            "TZOFFSETTO": "-0500",
        },
    ]
    london = observances("Europe/London", 2025, 2027)
    assert [(o["kind"], o["RRULE"], o["TZOFFSETTO"]) for o in london] == [
        ("DAYLIGHT", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "+0100"),
        ("STANDARD", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "+0000"),
    ]


def test_a_rule_change_inside_the_span_ends_the_old_rule_with_until() -> None:
    """The US rules changed in 2007: four components, the old ones bounded."""
    found = observances("America/New_York", 2005, 2008)
    assert [(o["kind"], o["RRULE"]) for o in found] == [
        ("DAYLIGHT", "FREQ=YEARLY;UNTIL=20060403T070000Z;BYDAY=1SU;BYMONTH=4"),
        ("STANDARD", "FREQ=YEARLY;UNTIL=20061030T060000Z;BYDAY=-1SU;BYMONTH=10"),
        ("DAYLIGHT", "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"),
        ("STANDARD", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"),
    ]


def test_a_zone_without_dst_is_one_standard_component() -> None:
    assert observances("Asia/Tokyo", 2025, 2027) == [
        {
            "kind": "STANDARD",
            "DTSTART": "19700101T000000",
            "TZNAME": "JST",
            "TZOFFSETFROM": "+0900",
            "TZOFFSETTO": "+0900",
        }
    ]


# dateutil's tzical (what vobject uses) misreads a VTIMEZONE whose span holds a change of the
# zone's standard offset (Asia/Qostanay 2024, Moscow 2014, Apia's day jump in 2011); it is not
# held to those. A scan of every zone from 1995 to 2037 (tzdata 2026.6) found one failure
# besides: Macquarie in 2011, the last second of a daylight period that began before the span.
DATEUTIL_ALSO_MISREADS = frozenset({("Antarctica/Macquarie", 2011)})


def standard_offset_changes(zone: ZoneInfo, first_year: int, last_year: int) -> bool:
    """Whether the zone's standard (non-daylight) offset changes between these years."""
    start = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
    standard = {(start.utcoffset() or timedelta(0)) - (start.dst() or timedelta(0))}
    standard |= {t.offset_to for t in _transitions(zone, first_year, last_year) if not t.is_dst}
    return len(standard) > 1


def dateutil_reads_it(zone: str, year: int) -> bool:
    if (zone, year) in DATEUTIL_ALSO_MISREADS:
        return False
    return not standard_offset_changes(ZoneInfo(zone), year - 1, year + 1)


def check_reads_back(zone: str, year: int, drawn: list[datetime]) -> None:
    """Offsets from the VTIMEZONE, evaluated by icalendar and by dateutil, match zoneinfo
    throughout the year and at every transition."""
    text = vtimezone(zone, year - 1, year + 1)
    assert b"RDATE" not in text
    wrapped = b"BEGIN:VCALENDAR\r\n" + text + b"END:VCALENDAR\r\n"
    (definition,) = Calendar.from_ical(wrapped).timezones
    by_icalendar = definition.to_tz()
    by_dateutil = dateutil_tz.tzical(io.StringIO(text.decode())).get()
    real = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=UTC)
    instants = [start + timedelta(hours=h) for h in range(0, 365 * 24, 11)]
    for change in _transitions(real, year, year):  # a second either side of each change
        instants += [change.at - timedelta(seconds=1), change.at]
    instants += drawn
    held = dateutil_reads_it(zone, year)
    for instant in instants:
        moment = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
        want = moment.astimezone(real).utcoffset()
        assert moment.astimezone(by_icalendar).utcoffset() == want, (zone, moment)
        if held:
            assert moment.astimezone(by_dateutil).utcoffset() == want, (zone, moment)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True)
@given(zone=st.sampled_from(ZONES), year=st.integers(1995, 2037), data=st.data())
def test_every_zone_reads_back_as_zoneinfo(zone: str, year: int, data: st.DataObject) -> None:
    drawn = data.draw(
        st.lists(st.datetimes(datetime(year, 1, 1), datetime(year, 12, 31)), max_size=20)
    )
    check_reads_back(zone, year, drawn)


@pytest.mark.parametrize(
    ("zone", "year"),
    [
        ("Asia/Qostanay", 2024),  # +06 to +05 on 1 March: once drawn, and failed
        ("Europe/Moscow", 2014),
        ("Antarctica/Macquarie", 2011),
        ("America/New_York", 2026),
        ("Africa/Casablanca", 2026),
    ],
)
def test_zones_that_changed_read_back_as_zoneinfo(zone: str, year: int) -> None:
    check_reads_back(zone, year, [])


def dateutil_misreads(zone: str, year: int) -> bool:
    text = vtimezone(zone, year - 1, year + 1).decode()
    by_dateutil = dateutil_tz.tzical(io.StringIO(text)).get()
    real = ZoneInfo(zone)
    instants = [c.at - timedelta(seconds=1) for c in _transitions(real, year, year)]
    return any(
        i.astimezone(by_dateutil).utcoffset() != i.astimezone(real).utcoffset() for i in instants
    )


@pytest.mark.parametrize(
    ("zone", "year"), [("Asia/Qostanay", 2024), ("Europe/Moscow", 2014), *DATEUTIL_ALSO_MISREADS]
)
def test_each_excuse_of_dateutil_is_still_needed(zone: str, year: int) -> None:
    assert not dateutil_reads_it(zone, year)
    assert dateutil_misreads(zone, year)


def test_yearly_daylight_saving_is_no_excuse() -> None:
    assert dateutil_reads_it("America/New_York", 2026)
    assert dateutil_reads_it("Asia/Qostanay", 2020)  # +06 from 2019 to 2021


def test_an_instant_in_the_repeated_hour_is_written_in_utc() -> None:
    """01:30 happens twice in New York on 2026-11-01; a TZID wall time would mean
    the first, so the second is written as UTC."""
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    items = [
        DeadlineState(deadline(1, due=first, tz="America/New_York")),
        DeadlineState(deadline(2, due=second, tz="America/New_York")),
    ]
    body = build_calendar(items, name="n", description="d").body
    assert b"DTSTART;TZID=America/New_York:20261101T013000\r\n" in body
    assert b"DTSTART:20261101T063000Z\r\n" in body
    starts = sorted(e.start_utc for e in parse_both(body).values())
    assert starts == [first, second]


def test_zones_python_cannot_load_are_written_as_utc() -> None:
    """Never ``TZID=UTC-05:00``: parsers read that as the wrong instant."""
    due = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    for tz in ("UTC-05:00", "UTC", "Etc/UTC", ""):
        body = build_calendar(
            [DeadlineState(deadline(due=due, tz=tz))], name="n", description="d"
        ).body
        assert b"DTSTART:20261127T220000Z\r\n" in body, tz
        assert b"VTIMEZONE" not in body and b"TZID" not in body
        (event,) = parse_both(body).values()
        assert event.start_utc == due


def test_vobject_reads_alarms_and_status() -> None:
    due = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    done = deadline(2, due=due, tz="Europe/London", status=DeadlineStatus.MET)
    body = build_calendar(
        [DeadlineState(deadline(1, due=due, tz="Europe/London")), DeadlineState(done)],
        name="n",
        description="d",
    ).body
    cal = vobject.readOne(body.decode())
    open_event, met_event = cal.vevent_list
    assert [a.action.value for a in open_event.valarm_list] == ["DISPLAY"] * 5
    assert not hasattr(met_event, "valarm")
    assert (open_event.status.value, met_event.status.value) == ("CONFIRMED", "CONFIRMED")
    assert met_event.summary.value == "D2 Offer 2 [met]"
    assert open_event.transp.value == "TRANSPARENT"


def test_the_event_cache_reuses_bytes_until_an_input_changes() -> None:
    due = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    item = DeadlineState(deadline(due=due, tz="America/New_York"))
    cache = EventCache(max_entries=2)
    assert cache.get(item, None) is None
    body = render_event(item)
    cache.put(item, None, body)
    same = DeadlineState(deadline(due=due, tz="America/New_York"))  # equal, not identical
    assert cache.get(same, None) is body
    assert cache.get(item, "https://chat.example/x") is None
    extended = DeadlineState(replace(item.deadline, due_at=due + timedelta(days=1), sequence=1))
    assert cache.get(extended, None) is None
    stance = Position(
        deadline_id=1,
        stakeholder="U1",
        label="<@U1>",
        stance=Stance.SUPPORT,
        terms="",
        recorded_by="U1",
        recorded_at=due - timedelta(days=1),
    )
    assert cache.get(replace(item, positions=(stance,)), None) is None
    assert cache.get(replace(item, offers=offers(1)), None) is None
    for n in (2, 3):  # least recently used entries go first
        other = DeadlineState(deadline(n, due=due, tz="UTC"))
        cache.put(other, None, render_event(other))
    assert len(cache) == 2 and cache.get(item, None) is None


def test_rendering_does_not_depend_on_the_clock() -> None:
    """Identical inputs give identical bytes: what makes caching and ETags sound."""
    due = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    items = [
        DeadlineState(deadline(n, due=due + timedelta(days=n), tz="Europe/London")) for n in (1, 2)
    ]
    one = build_calendar(items, name="n", description="d")
    two = build_calendar(list(items), name="n", description="d")
    assert (one.body, one.etag) == (two.body, two.etag)
    assert one.last_modified == datetime(2026, 1, 2, tzinfo=UTC)


def offers(count: int) -> tuple[Offer, ...]:
    return tuple(
        Offer(
            deadline_id=1,
            version=n,
            title=f"Draft {n}",
            url=f"https://docs.example.com/{n}" if n % 2 else None,
            party=None,
            recorded_by="alex",
            recorded_at=datetime(2026, 1, 2, tzinfo=UTC) + timedelta(hours=n),
        )
        for n in range(1, count + 1)
    )


def test_a_long_run_of_offers_shows_the_latest_and_attaches_the_current_link() -> None:
    due = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    item = DeadlineState(deadline(due=due, tz="America/New_York"), offers=offers(13))
    (event,) = parse_both(build_calendar([item], name="n", description="d").body).values()
    lines = event.description.splitlines()
    shown = lines[lines.index("Offers:") + 1 :][:11]
    assert shown[0] == "… 3 earlier" and shown[1] == "• O4 Draft 4"
    assert shown[-1] == "• O13 Draft 13 (docs.example.com) — current: https://docs.example.com/13"
    assert event.attach == ("https://docs.example.com/13",)
    # The last offer is news too: the event says it changed when it was recorded.
    assert item.modified_at == datetime(2026, 1, 2, 13, tzinfo=UTC)
