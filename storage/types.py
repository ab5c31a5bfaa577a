"""Column types shared by the tables: instants that always come back aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

# SQLAlchemy's text form of a datetime on SQLite (``sqlite.DATETIME``'s storage format).
_SQLITE_STAMP = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _naive(value: datetime) -> ValueError:
    return ValueError(f"naive datetime {value!r}: Parley stores aware UTC instants")


def utc_instant(value: datetime) -> datetime:
    """``value`` in UTC, as ``UTCDateTime`` binds it on PostgreSQL (a naive one is refused)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise _naive(value)
    return value.astimezone(UTC)


def sqlite_stamp(value: datetime | None) -> str | None:
    """What ``UTCDateTime`` and SQLite's ``DATETIME`` make of ``value`` on the way in,
    in one step (``storage.direct_dml`` binds instants with it): the UTC text stamp."""
    if value is None:
        return None
    offset = value.utcoffset()
    if value.tzinfo is None or offset is None:
        raise _naive(value)
    if offset:
        value = value - offset  # the UTC wall time, as astimezone(UTC) gives it
    return _SQLITE_STAMP % (
        value.year, value.month, value.day,
        value.hour, value.minute, value.second, value.microsecond,
    )  # fmt: skip


class UTCDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; on SQLite a UTC text stamp.

    Naive datetimes are refused on the way in (they are a bug: the core only
    deals in aware instants). SQLite keeps no zone, so values are written as
    UTC without an offset, which also keeps them sortable and comparable as
    text, and read back with ``tzinfo=UTC``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise _naive(value)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp = cast(datetime, value)
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
