"""``bot.ports.Maintenance``: the whole database at once (``parley export`` and
``parley import``), and the readiness ping behind ``/readyz``.

The export format and its checks are in ``storage.transfer``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.errors import InvalidInput
from storage.connections import SqlStore
from storage.errors import guarded
from storage.transfer import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    SECTIONS,
    SERIAL_TABLES,
    export_columns,
    export_row,
    rows_to_import,
)


class SqlMaintenance(SqlStore):
    """The Maintenance port on shared ``Connections``."""

    @guarded
    async def export_all(self) -> dict[str, Any]:
        """Every row, table by table, in key order (see ``storage.transfer``)."""
        data: dict[str, Any] = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION}
        async with self._db.read(snapshot=True) as conn:
            for section, table in SECTIONS:
                columns = export_columns(table)
                rows = await conn.execute(select(*columns).order_by(*table.primary_key.columns))
                data[section] = [
                    export_row(table, dict(zip((c.name for c in columns), row, strict=True)))
                    for row in rows
                ]
        return data

    @guarded
    async def import_all(self, data: dict[str, Any]) -> None:
        """Restore an ``export_all`` dump into an empty database, ids and all."""
        rows = rows_to_import(data)

        async def work(conn: AsyncConnection) -> None:
            for _, table in SECTIONS:
                if await conn.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
                    raise InvalidInput("The database is not empty: import needs an empty one.")
            for section, table in SECTIONS:
                if rows[section]:
                    await conn.execute(insert(table), rows[section])
            if self._db.dialect == "postgresql":
                for table in SERIAL_TABLES:
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )

        try:
            await self._db.write(work)
        except (exc.IntegrityError, exc.DataError) as error:
            raise InvalidInput(f"The export is inconsistent: {error.orig}") from error

    @guarded
    async def ping(self) -> None:
        async with self._db.read() as conn:
            await conn.execute(text("SELECT 1"))
