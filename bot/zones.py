"""Time zones: rules from the ``tzdata`` package, and the names people type for zones.

Rules. ``zoneinfo`` reads the operating system's tz database before the
``tzdata`` package, and the OS copy is often older (2025b on the development
machine, where the package is 2026.x): a zone whose rules changed since, such
as Africa/Casablanca in 2026, would be placed an hour off in chat, in alerts
and in calendar feeds. ``use_packaged_rules`` makes every ``ZoneInfo`` in the
process come from the package; ``bot/__init__.py`` calls it, so nothing in
Parley can construct a zone before it has run. The package is a pinned
dependency with a floor (pyproject.toml).

Names. ``IANA`` names (``America/New_York``, any case), common abbreviations
(``ET``, ``PST``, ``JST``, ``AEST`` ...), region words (``Pacific``,
``Eastern``) and abbreviations that stand for several zones (``IST``: India,
Israel or Ireland), which Parley asks about instead of guessing.
"""

from __future__ import annotations

import zoneinfo
from functools import cache


def use_packaged_rules() -> None:
    """Read zone rules only from the ``tzdata`` package, never from the OS database.

    An empty search path makes ``zoneinfo`` fall back to the package; zones built
    before this call (by a library at import time) are dropped from its cache.
    """
    if zoneinfo.TZPATH:
        zoneinfo.reset_tzpath(to=())
        zoneinfo.ZoneInfo.clear_cache()


# Abbreviations and words that name one zone. An abbreviation names a place's
# clock, summer or winter alike: "PDT" in January is read as Los Angeles time.
ABBREVIATIONS: dict[str, str] = {
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "eastern": "America/New_York",
    "ct": "America/Chicago",
    "cdt": "America/Chicago",
    "central": "America/Chicago",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mountain": "America/Denver",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hst": "Pacific/Honolulu",
    "nst": "America/St_Johns",
    "ndt": "America/St_Johns",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "wet": "Europe/Lisbon",
    "west": "Europe/Lisbon",
    "cet": "Europe/Paris",
    "cest": "Europe/Paris",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "msk": "Europe/Moscow",
    "gst": "Asia/Dubai",
    "pkt": "Asia/Karachi",
    "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore",
    "kst": "Asia/Seoul",
    "jst": "Asia/Tokyo",
    "awst": "Australia/Perth",
    "acst": "Australia/Adelaide",
    "acdt": "Australia/Adelaide",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "aet": "Australia/Sydney",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
}

# Abbreviations in common use for more than one zone: Parley asks which was meant.
AMBIGUOUS: dict[str, tuple[tuple[str, str], ...]] = {
    "ist": (
        ("India", "Asia/Kolkata"),
        ("Israel", "Asia/Jerusalem"),
        ("Ireland", "Europe/Dublin"),
    ),
    "cst": (
        ("US Central", "America/Chicago"),
        ("China", "Asia/Shanghai"),
        ("Cuba", "America/Havana"),
    ),
    "bst": (
        ("British Summer Time", "Europe/London"),
        ("Bangladesh", "Asia/Dhaka"),
    ),
    "ast": (
        ("Atlantic", "America/Halifax"),
        ("Arabia", "Asia/Riyadh"),
    ),
}

# Not zones anyone means, though the database lists them.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@cache
def _zones() -> tuple[dict[str, str], frozenset[str]]:
    """Lower-cased IANA name -> canonical name, and the lower-cased areas (``america``)."""
    names = zoneinfo.available_timezones() - _NOT_ZONES
    by_lower = {name.lower(): name for name in names}
    areas = frozenset(name.split("/", 1)[0].lower() for name in names if "/" in name)
    return by_lower, areas


def known_zone(name: str) -> str | None:
    """The canonical IANA name for ``name`` (any case), or None."""
    return _zones()[0].get(name.strip().lower())


def is_area(word: str) -> bool:
    """Whether ``word`` starts IANA names (``America``, ``europe``): a typo there is a zone typo."""
    return word.lower() in _zones()[1]


def load_names() -> None:
    """Read the list of zone names now, not during the first command."""
    _zones()
