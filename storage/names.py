"""``bot.ports.NameStore``: people's and conversations' names, as their platforms gave them.

One row per (workspace, kind, id); saving replaces the name and its refresh
time. The marker (for feeds, which cache documents that show names) is the
newest refresh time of the workspace, read through an index.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import KnownName, NameKind
from storage.connections import SqlStore
from storage.errors import guarded
from storage.rows import KN

_BATCH = 500  # ids per IN list


class SqlNameStore(SqlStore):
    """The NameStore port on shared ``Connections``."""

    @guarded
    async def save_names(self, *, names: Sequence[KnownName]) -> None:
        latest = {(n.workspace_id, n.kind.value, n.subject_id): n for n in names}
        if not latest:
            return
        rows = [
            {
                "workspace_id": ws,
                "kind": kind,
                "subject_id": subject_id,
                "name": known.name,
                "refreshed_at": known.refreshed_at,
            }
            for (ws, kind, subject_id), known in sorted(latest.items())
        ]
        upsert = self._db.insert(KN)
        upsert = upsert.on_conflict_do_update(
            index_elements=[KN.c.workspace_id, KN.c.kind, KN.c.subject_id],
            set_={"name": upsert.excluded.name, "refreshed_at": upsert.excluded.refreshed_at},
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(upsert, rows)

        await self._db.write(work)

    @guarded
    async def find_names(
        self, *, workspace_id: str, kind: NameKind, subject_ids: Sequence[str]
    ) -> dict[str, str]:
        wanted = list(dict.fromkeys(subject_ids))
        found: dict[str, str] = {}
        if not wanted:
            return found
        async with self._db.read() as conn:
            for start in range(0, len(wanted), _BATCH):
                stmt = select(KN.c.subject_id, KN.c.name).where(
                    KN.c.workspace_id == workspace_id,
                    KN.c.kind == kind.value,
                    KN.c.subject_id.in_(wanted[start : start + _BATCH]),
                )
                found.update({subject: name for subject, name in (await conn.execute(stmt))})
        return found

    @guarded
    async def names_marker(self, *, workspace_id: str) -> str:
        stmt = select(func.max(KN.c.refreshed_at), func.count()).where(
            KN.c.workspace_id == workspace_id
        )
        async with self._db.read() as conn:
            newest, count = (await conn.execute(stmt)).one()
        return f"{newest.isoformat() if newest is not None else '-'}/{count}"
