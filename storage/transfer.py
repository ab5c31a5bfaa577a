"""The export format: rows to JSON-able data, and an export back to rows, checked.

An export is every row, table by table, in key order::

    {"format": "parley-export", "version": 1, "deadlines": [...], "positions": [...],
     "position_requests": [...], "events": [...], "alerts": [...], "counters": [...]}

Rows are objects keyed by column name; instants are ISO 8601 with offset,
``reminder_offsets`` a list of seconds, a deadline's ``owners`` a list of user
ids, event ``data`` an object. ``counters`` hold each negotiation's last number
(``negotiation_key``, ``workspace_id``, ``last_number``). The feed token and
conversation reference tables are not part of an export.

Exports written before deadlines were numbered per channel still import: a
deadline without ``owners`` is owned by its ``owner_id``, and counter rows
without a ``negotiation_key`` (one per workspace) give way to counters rebuilt
from each channel's largest number.

An import is checked field by field before anything is written: a malformed
one is ``InvalidInput`` naming what is wrong.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.types import Integer, String, Text

from bot.domain import AlertStatus, DeadlineStatus, EventKind, Stance, negotiation_key
from bot.errors import InvalidInput
from storage.rows import A, C, D, E, P, R, offsets_from_text, owners_from_text, owners_to_text
from storage.types import UTCDateTime

EXPORT_FORMAT = "parley-export"
EXPORT_VERSION = 1

# Export sections, in an order that satisfies the foreign keys on import.
SECTIONS: tuple[tuple[str, Table], ...] = (
    ("counters", C),
    ("deadlines", D),
    ("positions", P),
    ("position_requests", R),
    ("events", E),
    ("alerts", A),
)
# Tables whose ids come from a sequence (PostgreSQL moves it past imported ids).
SERIAL_TABLES = (D, E, A)

_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("deadline", "status"): frozenset(DeadlineStatus),
    ("position", "stance"): frozenset(Stance),
    ("event", "kind"): frozenset(EventKind),
    ("alert", "status"): frozenset(AlertStatus),
}


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
    elif table is E:
        row["data"] = json.loads(row["data"])
    return row


def rows_to_import(data: Any) -> dict[str, list[dict[str, Any]]]:
    """The rows of an export, section by section, ready to insert."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InvalidInput(f"Not a Parley export (expected format {EXPORT_FORMAT!r}).")
    if data.get("version") != EXPORT_VERSION:
        raise InvalidInput(f"Unsupported export version {data.get('version')!r}.")
    sections = dict(data)
    counters_in = sections.get("counters", [])
    if isinstance(counters_in, list):
        # Per-workspace counters of older exports: rebuilt below from the deadlines.
        sections["counters"] = [
            row for row in counters_in if not isinstance(row, dict) or "negotiation_key" in row
        ]
    rows = {section: _import_rows(table, sections.get(section, [])) for section, table in SECTIONS}
    # Counters never lag behind the numbers in use, even for a hand-edited file.
    counters = {
        row["negotiation_key"]: (row["workspace_id"], row["last_number"])
        for row in rows["counters"]
    }
    for row in rows["deadlines"]:
        ws = row["workspace_id"]
        key = negotiation_key(ws, row["channel_id"])
        counters[key] = (ws, max(counters.get(key, (ws, 0))[1], row["number"]))
    rows["counters"] = [
        {"negotiation_key": key, "workspace_id": ws, "last_number": number}
        for key, (ws, number) in counters.items()
    ]
    return rows


def _import_rows(table: Table, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise InvalidInput(f"Export section for {table.name!r} is not a list.")
    return [_import_row(table, row) for row in rows]


def _import_row(table: Table, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InvalidInput(f"A {table.name} row is not an object.")
    columns = {column.name: column for column in export_columns(table)}
    unknown = set(row) - set(columns)
    if unknown:
        raise InvalidInput(f"Unknown {table.name} fields: {', '.join(sorted(unknown))}.")
    values: dict[str, Any] = {}
    for name, column in columns.items():
        value = row.get(name)
        if table is D and name == "owners":
            values[name] = _import_owners(row)
        elif name not in row or value is None:
            if not column.nullable:
                raise InvalidInput(f"A {table.name} row lacks {name!r}.")
            values[name] = None
        elif table is D and name == "reminder_offsets":
            if not isinstance(value, list) or not all(type(v) is int for v in value):
                raise InvalidInput("reminder_offsets must be a list of seconds.")
            values[name] = ",".join(str(v) for v in value)
        elif table is E and name == "data":
            if not isinstance(value, dict):
                raise InvalidInput("Event data must be an object.")
            values[name] = json.dumps(value, separators=(",", ":"))
        else:
            values[name] = _import_value(table, column.name, column.type, value)
    if table is D:
        values["title_key"] = values["title"].casefold()
    return values


def _import_owners(row: dict[str, Any]) -> str:
    owners = row.get("owners", [row.get("owner_id")])
    if (
        not isinstance(owners, list)
        or not owners
        or not all(isinstance(owner, str) and owner for owner in owners)
        or owners[0] != row.get("owner_id")
    ):
        raise InvalidInput("deadline.owners: a list of user ids, the owner_id first.")
    return owners_to_text(owners)


def _import_value(table: Table, name: str, type_: Any, value: Any) -> Any:
    where = f"{table.name}.{name}"
    if isinstance(type_, UTCDateTime):
        try:
            stamp = datetime.fromisoformat(value)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"{where}: not an ISO 8601 instant: {value!r}.") from error
        if stamp.tzinfo is None:
            raise InvalidInput(f"{where}: instant without a UTC offset: {value!r}.")
        return stamp
    if isinstance(type_, Integer):
        if type(value) is not int:
            raise InvalidInput(f"{where}: not an integer: {value!r}.")
        return value
    if isinstance(type_, String | Text):
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: not a string: {value!r}.")
        allowed = _ENUMS.get((table.name, name))
        if allowed is not None and value not in allowed:
            raise InvalidInput(f"{where}: unknown value {value!r}.")
        return value
    raise AssertionError(f"no import rule for {where}")  # pragma: no cover
