"""A new deadline on PostgreSQL in one statement: its number, its row, its event, its alerts.

``/deadline add`` writes four things: the negotiation's next number (an upsert of its
counter row), the deadline, the first event of its history and its planned alerts.
Run as separate statements in a transaction (and the number in one of its own, so
the counter row's lock is held for one statement), that is nine round trips to the
database, each one a wait and a pass through SQLAlchemy and asyncpg. As one
statement of data-modifying CTEs it is one round trip, atomic by itself (run
without BEGIN and COMMIT: ``Connections.write_statement``), and the counter row is
locked only for that statement, so concurrent adds in one channel still do not
queue behind a whole transaction. A failed insert now leaves no gap in the
numbering either.

It also notifies the other replicas' read models (``storage.changes``).
The alerts come in as two arrays (offsets and instants) unnested into rows, so
the statement is the same whatever their number (prepared once per connection).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import DateTime, Integer, Select, bindparam, func, insert, literal, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from bot.domain import AlertStatus, PlannedAlert
from storage.changes import CHANNEL
from storage.rows import DEADLINE_COLUMNS, A, C, D, E
from storage.types import utc_instant

_WS = "workspace_id"
_EVENT_FIELDS = ("kind", "at", "actor_id", "data")
_ALERT_FIELDS = [
    "workspace_id", "deadline_id", "offset_seconds", "due_at", "not_before", "status", "attempts"
]  # fmt: skip


def _statement() -> Select[Any]:
    numbered = (
        postgresql.insert(C)
        .values(negotiation_key=bindparam("key"), workspace_id=bindparam(_WS), last_number=1)
        .on_conflict_do_update(
            index_elements=[C.c.negotiation_key], set_={"last_number": C.c.last_number + 1}
        )
        .returning(C.c.last_number)
        .cte("numbered")
    )
    # Every column of the deadline but its id, from parameters named after them.
    fields = [column.name for column in D.c if column.name != "id"]
    row = [
        numbered.c.last_number if name == "number" else bindparam(name, type_=D.c[name].type)
        for name in fields
    ]
    added = insert(D).from_select(fields, select(*row)).returning(*DEADLINE_COLUMNS).cte("added")
    event = [bindparam(f"event_{name}", type_=E.c[name].type) for name in _EVENT_FIELDS]
    told = (
        insert(E)
        .from_select(
            ["workspace_id", "deadline_id", *_EVENT_FIELDS],
            select(bindparam(_WS, type_=E.c.workspace_id.type), added.c.id, *event),
        )
        .cte("told")
    )
    planned = (
        func.unnest(
            bindparam("alert_offsets", type_=ARRAY(Integer)),
            bindparam("alert_due", type_=ARRAY(DateTime(timezone=True))),
        )
        .table_valued("offset_seconds", "due_at")
        .render_derived(with_types=False)
    )
    alerts = (
        insert(A)
        .from_select(
            _ALERT_FIELDS,
            select(
                bindparam(_WS, type_=A.c.workspace_id.type),
                added.c.id,
                planned.c.offset_seconds,
                planned.c.due_at,
                planned.c.due_at,
                literal(AlertStatus.PENDING.value),
                literal(0),
            )
            .select_from(added)
            .join(planned, true()),
        )
        .cte("planned")
    )
    # Every replica's read models hear of it on commit (storage.changes).
    notified = select(func.pg_notify(CHANNEL, "").label("sent")).cte("notified")
    return (
        select(*(added.c[column.name] for column in DEADLINE_COLUMNS))
        .select_from(added)
        .join(notified, true())
        .add_cte(told, alerts)
    )


ADD_DEADLINE = _statement()


def add_parameters(
    key: str, deadline: dict[str, Any], event: dict[str, Any], alerts: Sequence[PlannedAlert]
) -> dict[str, Any]:
    """``ADD_DEADLINE``'s parameters: the negotiation's key, the deadline's columns (all
    but id and number), the event's (``storage.rows.event_values``) and the alerts."""
    return {
        "key": key,
        **deadline,
        **{f"event_{name}": event[name] for name in _EVENT_FIELDS},
        "alert_offsets": [int(alert.offset.total_seconds()) for alert in alerts],
        "alert_due": [utc_instant(alert.due_at) for alert in alerts],
    }
