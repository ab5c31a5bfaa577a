"""INSERT, UPDATE and DELETE run straight on the sqlite3 connection, compiled by SQLAlchemy.

A ``/deadline add`` writes four statements (the number, the deadline, its
event, its alerts). Through SQLAlchemy's ``Connection.execute`` each one built
an execution context, ran the events, and wrapped the cursor in a result: more
CPU than SQLite took to write the rows. ``DirectDml`` keeps SQLAlchemy for what
it is needed for, compiling the statement (through the engine's own compiled
cache) and converting each parameter with its type's bind processor, and runs
the compiled SQL on the driver's cursor itself.

Only statements whose compiled form needs nothing more are run this way:
positional parameters, no Python-side column defaults, no "expanding" or
literal-execute parameters, no implicit RETURNING and no executemany with
RETURNING. Every other statement (and every SELECT) goes through SQLAlchemy as
before. Explicit RETURNING rows come back through each column type's result
processor, as a SQLAlchemy ``Result``; a driver error is raised as SQLAlchemy
would raise it (``sqlalchemy.exc.DBAPIError.instance``: ``IntegrityError`` and
so on).

A statement declared at import with ``prepared`` (every statement of ``/deadline
add``) is not even compiled again: its first run remembers, for the keys its
parameters came with, where each positional parameter comes from (a key of the
caller's, or a literal of the statement, fixed), and later runs build the row
from that. Instants are bound with ``storage.types.sqlite_stamp``, the same text
as ``UTCDateTime`` and SQLite's ``DATETIME`` make in two steps.

It reads a few of SQLAlchemy's internals (``_compile_w_cache``, the compiled
statement's bind processors and result columns), pinned by the version in
``pyproject.toml``; the storage contract suite runs every store's writes
through it on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Connection, exc
from sqlalchemy.engine import IteratorResult
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.sql import compiler
from sqlalchemy.sql.dml import UpdateBase

from storage.types import UTCDateTime, sqlite_stamp

PLANS_MAX = 1000  # compiled statements remembered; all forgotten at once past this

_Processor = Callable[[Any], Any] | None

# Statements declared once at import (``prepared``), by id; kept here so no id is reused.
_PREPARED: dict[int, Any] = {}

_S = TypeVar("_S")


def prepared(statement: _S) -> _S:
    """Declare ``statement`` a constant that is never changed (a module-level statement
    whose values are all bound parameters or literals fixed at import): ``DirectDml``
    then remembers how to run it by the object itself, without compiling it again."""
    _PREPARED[id(statement)] = statement
    return statement


class _Plan(NamedTuple):
    sql: str
    binds: tuple[tuple[str, _Processor], ...]  # positional parameters, in order
    columns: tuple[str, ...]  # RETURNING columns (none: no rows come back)
    results: tuple[_Processor, ...]
    metadata: SimpleResultMetaData  # of the rows returned, shared by every result


class _Fast(NamedTuple):
    """How to run a ``prepared`` statement given parameters with one set of keys."""

    plan: _Plan
    # Per positional parameter: (True, the key to read from the parameters, processor)
    # or (False, its fixed value, already processed, None).
    sources: tuple[tuple[bool, Any, _Processor], ...]


class _Written(IteratorResult[Any]):
    """The rows a statement returned, with the driver's row count and last row id."""

    rowcount = -1
    lastrowid: int | None = None


class DirectDml:
    """Plans for DML statements compiled for one SQLite dialect (see the module docstring)."""

    def __init__(self) -> None:
        self._plans: dict[compiler.SQLCompiler, _Plan | None] = {}
        # Prepared statements, by (id, the parameters' keys, executemany); None: not fast.
        self._fast: dict[tuple[int, tuple[str, ...], bool], _Fast | None] = {}

    def execute(self, connection: Connection, statement: Any, parameters: Any) -> Any:
        """``connection.execute(statement, parameters)``, straight on the driver when it can."""
        if not isinstance(statement, UpdateBase):
            return connection.execute(statement, parameters)
        groups: Sequence[Mapping[str, Any]]
        if parameters is None:
            groups = ()
        elif isinstance(parameters, Mapping):
            groups = (parameters,)
        else:
            groups = parameters
        many = len(groups) > 1
        fast_key = None
        if id(statement) in _PREPARED:
            fast_key = (id(statement), tuple(groups[0]) if groups else (), many)
            fast = self._fast.get(fast_key)
            if fast is not None:
                rows = [
                    tuple(
                        (group[key] if process is None else process(group[key])) if given else key
                        for given, key, process in fast.sources
                    )
                    for group in groups or ({},)
                ]
                return self._run(connection, fast.plan, rows, many)
        dialect = connection.dialect
        compiled_any, extracted, collected, _ = statement._compile_w_cache(
            dialect=dialect,
            compiled_cache=connection.engine._compiled_cache,
            column_keys=sorted(groups[0]) if groups else [],
            for_executemany=many,
            schema_translate_map=None,
            linting=dialect.compiler_linting | compiler.WARN_LINTING,
        )
        compiled = cast(compiler.SQLCompiler, compiled_any)
        plan = self._plan(compiled, many)
        if plan is None:
            if fast_key is not None:
                self._fast[fast_key] = None
            return connection.execute(statement, parameters)
        constructed = [
            compiled.construct_params(
                group,
                escape_names=False,
                _group_number=number,
                extracted_parameters=extracted,
                _collected_params=collected,
            )
            for number, group in enumerate(groups or ({},))
        ]
        rows = [
            tuple(
                process(values[name]) if process is not None else values[name]
                for name, process in plan.binds
            )
            for values in constructed
        ]
        if fast_key is not None and fast_key not in self._fast:
            if len(self._fast) >= PLANS_MAX:
                self._fast.clear()
            self._fast[fast_key] = _fast_plan(compiled, plan, groups, collected, rows[0])
        return self._run(connection, plan, rows, many)

    def _run(
        self, connection: Connection, plan: _Plan, rows: list[tuple[Any, ...]], many: bool
    ) -> Any:
        dialect = connection.dialect
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            if many:
                cursor.executemany(plan.sql, rows)
            else:
                cursor.execute(plan.sql, rows[0])
            count, last = cursor.rowcount, cursor.lastrowid  # before the rows, as SQLAlchemy
            returned = cursor.fetchall() if plan.columns else []
        except dialect.loaded_dbapi.Error as error:
            raise exc.DBAPIError.instance(
                plan.sql, rows if many else rows[0], error, dialect.loaded_dbapi.Error,
                dialect=dialect, ismulti=many,
            ) from error  # fmt: skip
        finally:
            cursor.close()
        processed = [
            tuple(
                value if process is None else process(value)
                for process, value in zip(plan.results, row, strict=True)
            )
            for row in returned
        ]
        result = _Written(plan.metadata, iter(processed))
        result.rowcount, result.lastrowid = count, last
        return result

    def _plan(self, compiled: compiler.SQLCompiler, many: bool) -> _Plan | None:
        if compiled in self._plans:
            return self._plans[compiled]
        if len(self._plans) >= PLANS_MAX:
            self._plans.clear()
        plan = None
        processors = compiled._bind_processors
        if (
            compiled.positional
            and compiled.positiontup is not None
            and not compiled.insert_prefetch
            and not compiled.update_prefetch
            and not compiled.post_compile_params
            and not compiled.literal_execute_params
            and not compiled.implicit_returning
            and not (many and (compiled.effective_returning or compiled._insertmanyvalues))
            and all(callable(process) for process in processors.values())
        ):
            dialect = compiled.dialect
            columns = compiled._result_columns
            names = tuple(column.keyname for column in columns)
            plan = _Plan(
                sql=compiled.string,
                binds=tuple(
                    (name, _bind_processor(compiled, name)) for name in compiled.positiontup
                ),
                columns=names,
                results=tuple(
                    column.type._cached_result_processor(dialect, None) for column in columns
                ),
                metadata=SimpleResultMetaData(names),
            )
        self._plans[compiled] = plan
        return plan


def _bind_processor(compiled: compiler.SQLCompiler, name: str) -> _Processor:
    """The parameter's bind processor; for an instant, ``UTCDateTime``'s in one step."""
    if isinstance(compiled.binds[name].type, UTCDateTime):
        return sqlite_stamp
    return cast(_Processor, compiled._bind_processors.get(name))


def _fast_plan(
    compiled: compiler.SQLCompiler,
    plan: _Plan,
    groups: Sequence[Mapping[str, Any]],
    collected: Mapping[str, Any] | None,
    first: tuple[Any, ...],
) -> _Fast | None:
    """How to build a prepared statement's positional parameters straight from the
    caller's: each one read by its key (as ``construct_params`` looks it up), or, for a
    parameter the caller does not give, the value it had in this first run (a literal
    of the statement: the same every time). None when a value is computed per run."""
    keys = set(groups[0]) if groups else set()
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    sources: list[tuple[bool, Any, _Processor]] = []
    for (name, process), value in zip(plan.binds, first, strict=True):
        bind = by_name.get(name)
        if bind is None:
            return None
        if bind.key in keys:
            sources.append((True, bind.key, process))
        elif collected and bind.key in collected:
            sources.append((False, value, None))
        elif name in keys:
            sources.append((True, name, process))
        elif bind.callable is not None:
            return None
        else:
            sources.append((False, value, None))
    return _Fast(plan, tuple(sources))
