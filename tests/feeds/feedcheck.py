"""Helpers for the calendar-feed tests: subscribe through the chat, fetch, and parse
feeds back with two independent parsers (icalendar and vobject)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import vobject
from aiohttp.test_utils import TestClient
from icalendar import Calendar

from tests.conftest import Chat

URL = re.compile(r"https?://\S+?/calendar/\S+?\.ics")


def link_in(text: str) -> str:
    """The path of the first calendar URL in a reply."""
    found = URL.search(text)
    assert found, f"no calendar URL in: {text}"
    return urlsplit(found.group(0)).path


async def subscribe(chat: Chat, line: str = "/deadline feed", **who: str) -> str:
    """Ask for a feed in the chat; return the URL's path."""
    return link_in(await chat.say(line, **who))


@dataclass(frozen=True)
class Parsed:
    """One VEVENT as both parsers read it."""

    uid: str
    summary: str
    start_utc: datetime  # icalendar, TZID resolved by name (zoneinfo)
    start_zone: str  # the TZID on DTSTART ("" for UTC)
    duration: timedelta
    sequence: int
    status: str
    description: str
    triggers: tuple[timedelta, ...]
    url: str | None
    attach: tuple[str, ...] = ()


def parse_icalendar(body: bytes) -> tuple[Calendar, dict[str, Parsed]]:
    cal = Calendar.from_ical(body)
    events: dict[str, Parsed] = {}
    for event in cal.walk("VEVENT"):
        start = event.decoded("dtstart")
        events[str(event["uid"])] = Parsed(
            uid=str(event["uid"]),
            summary=str(event["summary"]),
            start_utc=start.astimezone(UTC),
            start_zone=str(event["dtstart"].params.get("TZID", "")),
            duration=event.decoded("duration"),
            sequence=int(str(event["sequence"])),
            status=str(event["status"]),
            description=str(event["description"]),
            triggers=tuple(alarm.decoded("trigger") for alarm in event.walk("VALARM")),
            url=str(event["url"]) if "url" in event else None,
            attach=_attachments(event.get("attach")),
        )
    return cal, events


def _attachments(found: Any) -> tuple[str, ...]:
    """ATTACH values as URIs (icalendar gives one property, or a list of several)."""
    if found is None:
        return ()
    return tuple(str(a) for a in (found if isinstance(found, list) else [found]))


def parse_vobject(body: bytes) -> dict[str, Parsed]:
    """The same, read by vobject. DTSTART is resolved two ways and both must agree:
    vobject's own lookup, and the feed's VTIMEZONE evaluated by dateutil's tzical
    (vobject's ``gettzinfo``), so the RRULE-based definitions are checked too."""
    cal = vobject.readOne(body.decode("utf-8"))
    zones = {vt.tzid.value: vt.gettzinfo() for vt in getattr(cal, "vtimezone_list", [])}
    events: dict[str, Parsed] = {}
    for event in getattr(cal, "vevent_list", []):
        start = event.dtstart.value
        tzid = (event.dtstart.params.get("X-VOBJ-ORIGINAL-TZID") or [""])[0]
        if tzid:
            by_vtimezone = start.replace(tzinfo=zones[tzid]).astimezone(UTC)
            assert start.tzinfo is not None, f"vobject left {tzid} naive"
            assert start.astimezone(UTC) == by_vtimezone, (tzid, start, by_vtimezone)
        alarms = getattr(event, "valarm_list", [])
        events[event.uid.value] = Parsed(
            uid=event.uid.value,
            summary=event.summary.value,
            start_utc=start.astimezone(UTC),
            start_zone=tzid,
            duration=event.duration.value,
            sequence=int(event.sequence.value),
            status=event.status.value,
            description=event.description.value,
            triggers=tuple(alarm.trigger.value for alarm in alarms),
            url=event.url.value if hasattr(event, "url") else None,
            attach=tuple(a.value for a in getattr(event, "attach_list", [])),
        )
    return events


def parse_both(body: bytes) -> dict[str, Parsed]:
    """Parse with both parsers, check they agree, and return the events by UID.

    icalendar reads the feed twice: as served (TZIDs resolved by name) and with
    every TZID renamed, which makes it use the feed's own VTIMEZONEs."""
    _, by_name = parse_icalendar(body)
    renamed = body
    for zone in {e.start_zone for e in by_name.values() if e.start_zone}:
        renamed = renamed.replace(zone.encode(), f"Renamed/{zone.replace('/', '-')}".encode())
    _, by_vtimezone = parse_icalendar(renamed)
    by_vobject = parse_vobject(body)
    assert set(by_name) == set(by_vtimezone) == set(by_vobject)
    for uid, event in by_name.items():
        assert by_vtimezone[uid].start_utc == event.start_utc, uid
        assert by_vobject[uid] == event, (by_vobject[uid], event)
    return by_name


async def fetch(http: TestClient[Any, Any], path: str, **headers: str) -> tuple[int, bytes, Any]:
    response = await http.get(path, headers=headers)
    return response.status, await response.read(), response.headers
