"""DML run straight on the sqlite3 connection (``storage.direct_dml``) does what
SQLAlchemy's own ``Connection.execute`` does: the same rows returned, the same row
counts, the same errors, the same table afterwards. Each case runs on two fresh
databases, one through each path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import (
    Column,
    Connection,
    CursorResult,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    exc,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.direct_dml import DirectDml, prepared
from storage.types import UTCDateTime, sqlite_stamp

META = MetaData()
ITEM = Table(
    "item",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False, server_default="0"),
    Column("note", String, nullable=False, default="made here"),  # a Python-side default
)
AT = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)

Run = Callable[[Connection, Any, Any], Any]


def plain(connection: Connection, statement: Any, parameters: Any) -> Any:
    return connection.execute(statement, parameters)


@pytest.fixture
def connections(tmp_path: Path) -> Iterator[tuple[Connection, Connection]]:
    opened = []
    for name in ("direct", "plain"):
        engine = create_engine(f"sqlite:///{tmp_path / name}.db")
        META.create_all(engine)
        opened.append((engine, engine.connect()))
    yield opened[0][1], opened[1][1]
    for engine, connection in opened:
        connection.close()
        engine.dispose()


def returned(result: Any) -> list[tuple[Any, ...]] | None:
    try:
        return [tuple(row) for row in result.all()]
    except exc.ResourceClosedError:  # SQLAlchemy's answer for a statement without rows
        return None


CASES: list[tuple[str, Any, Any]] = [
    (
        "insert returning",
        insert(ITEM).returning(ITEM.c.id, ITEM.c.due_at, ITEM.c.count, ITEM.c.note),
        {"name": "a", "due_at": AT, "note": "given"},
    ),
    (
        "insert, several rows",
        insert(ITEM),
        [{"name": f"n{n}", "due_at": AT + timedelta(hours=n), "note": "x"} for n in range(5)],
    ),
    (
        "upsert returning",
        sqlite_insert(ITEM)
        .values(name=bindparam("name"), due_at=bindparam("due"), note="upserted", count=1)
        .on_conflict_do_update(index_elements=[ITEM.c.name], set_={"count": ITEM.c.count + 1})
        .returning(ITEM.c.count, ITEM.c.note),
        {"name": "n1", "due": AT},
    ),
    (
        "update with a literal and a parameter",
        update(ITEM).where(ITEM.c.due_at > bindparam("after")).values(count=ITEM.c.count + 7),
        {"after": AT + timedelta(hours=2)},
    ),
    (
        "update returning",
        update(ITEM)
        .where(ITEM.c.name == "n4")
        .values(due_at=AT - timedelta(days=1))
        .returning(ITEM.c.due_at),
        None,
    ),
    ("delete", delete(ITEM).where(ITEM.c.name == bindparam("name")), {"name": "n0"}),
    # These two go through SQLAlchemy (see the module docstring of storage.direct_dml).
    ("delete, expanding", delete(ITEM).where(ITEM.c.name.in_(["n2", "n3"])), None),
    ("insert with a Python-side default", insert(ITEM), {"name": "d", "due_at": AT}),
]
THROUGH_SQLALCHEMY = {"delete, expanding", "insert with a Python-side default"}


def test_every_statement_does_what_sqlalchemy_does(
    connections: tuple[Connection, Connection],
) -> None:
    direct_dml = DirectDml()
    direct, through = connections
    went_through: set[str] = set()
    for label, statement, parameters in CASES:
        ours = direct_dml.execute(direct, statement, parameters)
        theirs = plain(through, statement, parameters)
        if isinstance(ours, CursorResult):
            went_through.add(label)
        assert ours.rowcount == theirs.rowcount, label
        assert (returned(ours) or []) == (returned(theirs) or []), label
    assert went_through == THROUGH_SQLALCHEMY
    table = select(ITEM).order_by(ITEM.c.id)
    assert direct.execute(table).all() == through.execute(table).all()
    assert direct.execute(table).all()[0].due_at == AT  # read back aware, in UTC


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(
    connections: tuple[Connection, Connection],
) -> None:
    direct_dml = DirectDml()
    direct, through = connections
    row = {"name": "same", "due_at": AT, "note": ""}
    for connection in connections:
        connection.execute(insert(ITEM), row)
    with pytest.raises(exc.IntegrityError) as ours:
        direct_dml.execute(direct, insert(ITEM), row)
    with pytest.raises(exc.IntegrityError) as theirs:
        through.execute(insert(ITEM), row)
    assert type(ours.value.orig) is type(theirs.value.orig)
    with pytest.raises(ValueError, match="naive datetime"):  # the type's own check still runs
        direct_dml.execute(
            direct, insert(ITEM), {**row, "name": "naive", "due_at": AT.replace(tzinfo=None)}
        )


def test_prepared_statements_run_again_as_the_first_time(
    connections: tuple[Connection, Connection],
) -> None:
    """A ``prepared`` statement is run from what its first run remembered: twice each,
    with other values, it still does what SQLAlchemy does."""
    direct_dml = DirectDml()
    direct, through = connections
    for round_ in range(3):
        for label, statement, parameters in CASES:
            if label in THROUGH_SQLALCHEMY:
                continue
            statement = prepared(statement)
            if round_ and isinstance(parameters, list):  # rows of new names
                parameters = [{**row, "name": f"{row['name']}-{round_}"} for row in parameters]
            elif round_ and parameters and label.startswith("insert"):
                parameters = {**parameters, "name": f"{parameters['name']}-{round_}"}
            ours = direct_dml.execute(direct, statement, parameters)
            theirs = plain(through, statement, parameters)
            assert not isinstance(ours, CursorResult), label
            assert ours.rowcount == theirs.rowcount, (label, round_)
            assert (returned(ours) or []) == (returned(theirs) or []), (label, round_)
    table = select(ITEM).order_by(ITEM.c.id)
    assert direct.execute(table).all() == through.execute(table).all()


@pytest.mark.parametrize(
    "zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/London"]
)
def test_an_instant_is_bound_as_sqlalchemy_binds_it(zone: str) -> None:
    """``sqlite_stamp`` gives the text SQLAlchemy's ``UTCDateTime`` gives on SQLite,
    across zones, offsets of minutes, daylight saving changes and microseconds."""
    dialect = sqlite_dialect()
    through = UTCDateTime()._cached_bind_processor(dialect)
    assert through is not None
    tz = ZoneInfo(zone)
    start = datetime(2026, 3, 7, 23, 59, 59, 999_999, tzinfo=UTC)
    for step in range(0, 24 * 60 * 40, 97):
        instant = (start + timedelta(minutes=step, microseconds=step)).astimezone(tz)
        for fold in (0, 1):
            value = instant.replace(fold=fold)
            assert sqlite_stamp(value) == through(value), value
    assert sqlite_stamp(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_stamp(AT.replace(tzinfo=None))
