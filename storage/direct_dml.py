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

It reads a few of SQLAlchemy's internals (``_compile_w_cache``, the compiled
statement's bind processors and result columns), pinned by the version in
``pyproject.toml``; the storage contract suite runs every store's writes
through it on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, exc
from sqlalchemy.engine import IteratorResult
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.sql import compiler
from sqlalchemy.sql.dml import UpdateBase

PLANS_MAX = 1000  # compiled statements remembered; all forgotten at once past this

_Processor = Callable[[Any], Any] | None


class _Plan(NamedTuple):
    sql: str
    binds: tuple[tuple[str, _Processor], ...]  # positional parameters, in order
    columns: tuple[str, ...]  # RETURNING columns (none: no rows come back)
    results: tuple[_Processor, ...]


class _Written(IteratorResult[Any]):
    """The rows a statement returned, with the driver's row count and last row id."""

    rowcount = -1
    lastrowid: int | None = None


class DirectDml:
    """Plans for DML statements compiled for one SQLite dialect (see the module docstring)."""

    def __init__(self) -> None:
        self._plans: dict[compiler.SQLCompiler, _Plan | None] = {}

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
            return connection.execute(statement, parameters)
        rows = [
            tuple(
                process(values[name]) if process is not None else values[name]
                for name, process in plan.binds
            )
            for values in (
                compiled.construct_params(
                    group,
                    escape_names=False,
                    _group_number=number,
                    extracted_parameters=extracted,
                    _collected_params=collected,
                )
                for number, group in enumerate(groups or ({},))
            )
        ]
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
        result = _Written(SimpleResultMetaData(plan.columns), iter(processed))
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
            plan = _Plan(
                sql=compiled.string,
                binds=tuple(
                    (name, cast(_Processor, processors.get(name))) for name in compiled.positiontup
                ),
                columns=tuple(column.keyname for column in columns),
                results=tuple(
                    column.type._cached_result_processor(dialect, None) for column in columns
                ),
            )
        self._plans[compiled] = plan
        return plan
