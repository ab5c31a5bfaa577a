"""The export format: rows to JSON-able data, and an export back to rows, checked.

An export is every row Parley needs to resume, table by table, in key order::

    {"format": "parley-export", "version": 2, "counters": [...], "feed_tokens": [...],
     "conversation_references": [...], "deadlines": [...], "positions": [...],
     "parties": [...], "expectations": [...], "escalations": [...], "offers": [...],
     "position_requests": [...], "events": [...], "alerts": [...], "channel_links": [...],
     "alert_deliveries": [...]}

Rows are objects keyed by column name; instants are ISO 8601 with offset,
``reminder_offsets`` a list of seconds, a deadline's ``owners`` a list of user
ids, a party's ``reps`` a list of user ids, an expectation's ``parties`` a list of
party keys, an escalation's ``ladder`` its text (``1d:dm,4h:owners,1h:channel``,
checked as ``/deadline escalate`` reads it, or null), event ``data`` and a
conversation ``reference`` objects. ``counters`` hold
each negotiation's last number (``negotiation_key``, ``workspace_id``,
``last_number``). Feed tokens are stored as hashes and go as they are, so
subscribed calendars keep working after a move. An offer's ``url`` is checked as
``/offer`` checks it. A deadline's ``silence_rule`` must read as a rule; a sealed
position's ``salt`` (32) and ``commitment`` (64) are lowercase hex, both or
neither. Fields added since an export was written (``sealed``, ``silence_rule``,
``silence_extended``, ``by_silence``) take their defaults when absent. Left out: Slack installations
(their bot tokens are secrets: ``slack_workspaces`` names the workspaces that
must install Parley again), the secrets of "Add to calendar" links (links
posted before the move stop working; feeds do not), replay keys, and the
deployment's secrets (vague-time choices offered before the move stop
working; the new database makes a new signing key), and link codes (codes not
yet used stop working: ask for a new one). Linked channels go with their
home, and ``alert_deliveries`` with their alert, so an alert half posted to a
linked set is not posted again where it was. Version 1
exports (without the two new sections) are still read, as are exports written
before deadlines were numbered per channel: a deadline without ``owners`` is
owned by its ``owner_id``, and counters without a ``negotiation_key`` (one per
workspace) give way to counters rebuilt from each channel's largest number.

An import is checked as a whole before anything is written (``read_export``):
every field of every row (types, id and length bounds, time zones, control
characters, offsets), duplicate keys and rows whose deadline is missing, each
problem on a line of its own naming where it is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.types import Boolean, Integer, String, Text

from bot.domain import (
    AlertStatus,
    DeadlineStatus,
    EventKind,
    FeedKind,
    SilenceRule,
    Stance,
    negotiation_key,
)
from bot.errors import GrammarError, InvalidInput
from bot.escalation import ladder_text
from bot.grammar_escalation import parse_ladder
from bot.grammar_negotiation import check_url
from storage.rows import (
    AD,
    CL,
    CR,
    FT,
    OF,
    PT,
    A,
    C,
    D,
    E,
    L,
    P,
    R,
    X,
    offsets_from_text,
    owners_from_text,
    owners_to_text,
)
from storage.types import UTCDateTime

EXPORT_FORMAT = "parley-export"
EXPORT_VERSION = 2
READABLE_VERSIONS = (1, 2)

# Export sections, in an order that satisfies the foreign keys on import.
SECTIONS: tuple[tuple[str, Table], ...] = (
    ("counters", C),
    ("feed_tokens", FT),
    ("conversation_references", CR),
    ("deadlines", D),
    ("parties", PT),
    ("expectations", X),
    ("escalations", L),
    ("offers", OF),
    ("positions", P),
    ("position_requests", R),
    ("events", E),
    ("alerts", A),
    ("channel_links", CL),
    ("alert_deliveries", AD),
)
# Tables whose ids come from a sequence (PostgreSQL moves it past imported ids).
SERIAL_TABLES = (D, E, A, FT)

_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("deadline", "status"): frozenset(DeadlineStatus),
    ("position", "stance"): frozenset(Stance),
    ("event", "kind"): frozenset(EventKind),
    ("alert", "status"): frozenset(AlertStatus),
    ("feed_token", "kind"): frozenset(FeedKind),
    ("channel_link", "platform"): frozenset({"slack", "teams", "shell"}),
}
# Every integer column fits PostgreSQL's INTEGER; ids and numbers start at 1.
INT_MAX = 2**31 - 1
_COUNTS = frozenset({"sequence", "attempts", "offset_seconds"})
OFFSET_MAX = timedelta(days=366)
OFFSETS_MAX = 20
TEXT_MAX = 20_000
EARLIEST, LATEST = 1970, 2999
# C0 and C1 controls (tab and newline allowed in text) and bidirectional overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_HEX64 = re.compile("[0-9a-f]{64}")
_HEX32 = re.compile("[0-9a-f]{32}")
# Columns added after version 2 was first written: absent in older exports.
_DEFAULTS: dict[tuple[str, str], Any] = {
    ("deadline", "sealed"): False,
    ("deadline", "silence_rule"): "none",
    ("deadline", "silence_extended"): False,
    ("position", "by_silence"): False,
}
_SHOWN = 40  # characters of a bad value shown in a problem


def export_columns(table: Table) -> list[Any]:
    """The columns an export carries (derived ones are rebuilt on import)."""
    return [column for column in table.columns if column.name != "title_key"]


def export_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    for name, value in row.items():
        if isinstance(value, datetime):
            row[name] = value.isoformat()
    if table is D:
        offsets = offsets_from_text(row["reminder_offsets"])
        row["reminder_offsets"] = [int(offset.total_seconds()) for offset in offsets]
        row["owners"] = list(owners_from_text(row["owners"]))
    elif table is PT:
        row["reps"] = json.loads(row["reps"])
    elif table is X:
        row["parties"] = json.loads(row["parties"])
    elif table is E:
        row["data"] = json.loads(row["data"])
    elif table is CR:
        row["reference"] = json.loads(row["reference"])
    return row


def slack_workspaces(data: dict[str, Any]) -> list[str]:
    """The Slack team ids an export's rows belong to: each must install Parley again
    (Slack bot tokens are not exported)."""
    teams = {
        str(row.get("workspace_id"))[len("slack:") :]
        for section in ("deadlines", "counters")
        for row in data.get(section) or ()
        if isinstance(row, dict) and str(row.get("workspace_id")).startswith("slack:")
    }
    return sorted(teams)


def rows_to_import(data: Any) -> dict[str, list[dict[str, Any]]]:
    """The rows of an export, ready to insert; ``InvalidInput`` names what is wrong."""
    rows, problems = read_export(data)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InvalidInput(problems[0] + more)
    return rows


def read_export(data: Any) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The rows of an export section by section, and every problem found in it."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        return {}, [f"not a Parley export (expected format {EXPORT_FORMAT!r})"]
    if data.get("version") not in READABLE_VERSIONS:
        return {}, [f"unsupported export version {_shown(data.get('version'))}"]
    problems: list[str] = []
    rows: dict[str, list[dict[str, Any]]] = {}
    sections = dict(data)
    counters_in = sections.get("counters", [])
    if isinstance(counters_in, list):
        # Per-workspace counters of older exports: rebuilt below from the deadlines.
        sections["counters"] = [
            row for row in counters_in if not isinstance(row, dict) or "negotiation_key" in row
        ]
    for section, table in SECTIONS:
        found = sections.get(section, [])
        if not isinstance(found, list):
            problems.append(f"{section}: not a list")
            found = []
        rows[section] = [
            row
            for index, raw in enumerate(found)
            if (row := _import_row(table, raw, f"{section}[{index}]", problems)) is not None
        ]
    if not problems:
        _check_keys(rows, problems)
    # Counters never lag behind the numbers in use, even for a hand-edited file.
    counters = {
        row["negotiation_key"]: (row["workspace_id"], row["last_number"])
        for row in rows.get("counters", [])
    }
    for row in rows.get("deadlines", []):
        ws = row["workspace_id"]
        key = negotiation_key(ws, row["channel_id"])
        counters[key] = (ws, max(counters.get(key, (ws, 0))[1], row["number"]))
    rows["counters"] = [
        {"negotiation_key": key, "workspace_id": ws, "last_number": number}
        for key, (ws, number) in counters.items()
    ]
    return rows, problems


def _check_keys(rows: dict[str, list[dict[str, Any]]], problems: list[str]) -> None:
    """Duplicate keys, and rows whose deadline is not in the export."""
    for section, table in SECTIONS:
        keys = [tuple(row[c.name] for c in table.primary_key.columns) for row in rows[section]]
        for key, count in Counter(keys).items():
            if count > 1:
                problems.append(f"{section}: {count} rows share the key {_shown(key)}")
    deadlines = {(row["workspace_id"], row["id"]) for row in rows["deadlines"]}
    for index, row in enumerate(rows["feed_tokens"]):
        one = row.get("deadline_id")
        if one is not None and (row["workspace_id"], one) not in deadlines:
            problems.append(
                f"feed_tokens[{index}]: deadline {one} of {row['workspace_id']} "
                "is not in the export"
            )
    homes = {(row["workspace_id"], row["channel_id"]) for row in rows["channel_links"]}
    for index, row in enumerate(rows["channel_links"]):
        if (row["home_workspace_id"], row["home_channel_id"]) not in homes:
            problems.append(f"channel_links[{index}]: its home channel is not linked in the export")
    alerts = {row["id"] for row in rows["alerts"]}
    for index, row in enumerate(rows["alert_deliveries"]):
        if row["alert_id"] not in alerts:
            problems.append(
                f"alert_deliveries[{index}]: alert {row['alert_id']} is not in the export"
            )
    for section in (
        "expectations",
        "escalations",
        "offers",
        "positions",
        "position_requests",
        "events",
        "alerts",
    ):
        for index, row in enumerate(rows[section]):
            if (row["workspace_id"], row["deadline_id"]) not in deadlines:
                problems.append(
                    f"{section}[{index}]: deadline {row['deadline_id']} of "
                    f"{row['workspace_id']} is not in the export"
                )


def _import_row(table: Table, row: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(row, dict):
        problems.append(f"{where}: not an object")
        return None
    columns = {column.name: column for column in export_columns(table)}
    unknown = set(row) - set(columns)
    if unknown:
        problems.append(f"{where}: unknown fields {', '.join(sorted(map(str, unknown)))}")
    before = len(problems)
    values: dict[str, Any] = {}
    for name, column in columns.items():
        value = row.get(name)
        at = f"{where}.{name}"
        if table is D and name == "owners":
            values[name] = _owners(row, at, problems)
        elif name not in row and (table.name, name) in _DEFAULTS:
            values[name] = _DEFAULTS[table.name, name]
        elif name not in row or value is None:
            if not column.nullable:
                problems.append(f"{at}: missing")
            values[name] = None
        elif (table is PT and name == "reps") or (table is X and name == "parties"):
            values[name] = _names(value, at, problems)
        elif table is D and name == "reminder_offsets":
            values[name] = _offsets(value, at, problems)
        elif (table is E and name == "data") or (table is CR and name == "reference"):
            values[name] = _object(value, at, problems)
        else:
            values[name] = _import_value(table, column, value, at, problems)
    if len(problems) > before:
        return None
    if table is D:
        values["title_key"] = values["title"].casefold()
        try:
            ZoneInfo(values["tz"])
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            problems.append(f"{where}.tz: unknown time zone {_shown(values['tz'])}")
            return None
    if table is PT and values["key"] != " ".join(values["name"].split()).casefold():
        problems.append(f"{where}.key: not the case-folded name {_shown(values['name'])}")
        return None
    if table is OF and values["url"] is not None:
        try:
            check_url(values["url"], hint="")
        except GrammarError as error:
            problems.append(f"{where}.url: {error}")
            return None
    if table is L and values["ladder"] is not None:
        try:
            values["ladder"] = ladder_text(parse_ladder(values["ladder"]))
        except GrammarError as error:
            problems.append(f"{where}.ladder: {error}")
            return None
    if table is D:
        try:
            SilenceRule.from_text(values["silence_rule"])
        except ValueError:
            problems.append(
                f"{where}.silence_rule: not a silence rule {_shown(values['silence_rule'])}"
            )
            return None
    if table is P and not _sealed_fields(values["salt"], values["commitment"]):
        problems.append(
            f"{where}: salt and commitment must be 32 and 64 lowercase hex, or both null"
        )
        return None
    if table is FT and not _HEX64.fullmatch(values["token_hash"]):
        problems.append(f"{where}.token_hash: not a SHA-256 in hex")
        return None
    return values


def _sealed_fields(salt: str | None, commitment: str | None) -> bool:
    if salt is None and commitment is None:
        return True
    return bool(salt and commitment and _HEX32.fullmatch(salt) and _HEX64.fullmatch(commitment))


def _owners(row: dict[str, Any], at: str, problems: list[str]) -> str | None:
    """A deadline's owners; exports from before co-owners have only ``owner_id``."""
    owners = row.get("owners", [row.get("owner_id")])
    if (
        not isinstance(owners, list)
        or not owners
        or not all(isinstance(owner, str) and owner for owner in owners)
        or owners[0] != row.get("owner_id")
    ):
        problems.append(f"{at}: not a list of user ids with the owner_id first")
        return None
    if any(_CONTROL.search(owner) or len(owner) > 255 for owner in owners):
        problems.append(f"{at}: an id too long or with a control character")
        return None
    return owners_to_text(owners)


def _names(value: Any, at: str, problems: list[str]) -> str | None:
    """A party's reps (user ids) or a deadline's expected parties (party keys)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{at}: not a list of names")
        return None
    if len(value) > OFFSETS_MAX * 5 or any(_CONTROL.search(v) or len(v) > 255 for v in value):
        problems.append(f"{at}: too many names, or one too long or with a control character")
        return None
    return json.dumps(value)


def _offsets(value: Any, at: str, problems: list[str]) -> str | None:
    if not isinstance(value, list) or not all(type(v) is int for v in value):
        problems.append(f"{at}: not a list of seconds")
        return None
    if len(value) > OFFSETS_MAX:
        problems.append(f"{at}: {len(value)} reminders (at most {OFFSETS_MAX})")
        return None
    limit = int(OFFSET_MAX.total_seconds())
    for offset in value:
        if not 0 <= offset <= limit:
            problems.append(f"{at}: {_shown(offset)} seconds is out of range (0 to {limit})")
            return None
    return ",".join(str(v) for v in value)


def _object(value: Any, at: str, problems: list[str]) -> str | None:
    if not isinstance(value, dict):
        problems.append(f"{at}: not an object")
        return None
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    if len(text) > TEXT_MAX or "\\u0000" in text:
        problems.append(f"{at}: too large, or carries a NUL character")
        return None
    return text


def _import_value(table: Table, column: Any, value: Any, at: str, problems: list[str]) -> Any:
    type_ = column.type
    if isinstance(type_, UTCDateTime):
        try:
            stamp = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            problems.append(f"{at}: not an ISO 8601 instant: {_shown(value)}")
            return None
        if stamp.tzinfo is None:
            problems.append(f"{at}: instant without a UTC offset: {_shown(value)}")
            return None
        if not EARLIEST <= stamp.year <= LATEST:
            problems.append(f"{at}: {_shown(value)} is not between {EARLIEST} and {LATEST}")
            return None
        return stamp
    if isinstance(type_, Boolean):
        if type(value) is not bool:
            problems.append(f"{at}: not true or false: {_shown(value)}")
        return value
    if isinstance(type_, Integer):
        lowest = 0 if column.name in _COUNTS else 1
        highest = int(OFFSET_MAX.total_seconds()) if column.name == "offset_seconds" else INT_MAX
        if type(value) is not int:
            problems.append(f"{at}: not an integer: {_shown(value)}")
        elif not lowest <= value <= highest:
            problems.append(f"{at}: {_shown(value)} is out of range ({lowest} to {highest})")
        return value
    if isinstance(type_, String | Text):
        if not isinstance(value, str):
            problems.append(f"{at}: not a string: {_shown(value)}")
            return None
        longest = type_.length or TEXT_MAX
        if len(value) > longest:
            problems.append(f"{at}: {len(value)} characters (at most {longest})")
        control = _CONTROL.search(
            value.replace("\n", "").replace("\t", "") if isinstance(type_, Text) else value
        )
        if control:
            problems.append(f"{at}: control character U+{ord(control.group()):04X}")
        allowed = _ENUMS.get((table.name, column.name))
        if allowed is not None and value not in allowed:
            problems.append(f"{at}: unknown value {_shown(value)}")
        return value
    raise AssertionError(f"no import rule for {at}")  # pragma: no cover


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
