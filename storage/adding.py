"""A new deadline: its number, its row, its event, its alerts (``add_deadline``).

On SQLite, the statements are prepared once (``storage.direct_dml``) and run in
one write transaction. On PostgreSQL the whole add is one statement:

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

It also notifies the other replicas' read models (``storage.changes``), and
stores the parties the deadline expects when the add named them (an ``expect``
clause; a NULL parameter inserts nothing). The alerts come in as two arrays
(offsets and instants) unnested into rows, so the statement is the same whatever
their number (prepared once per connection).

A command that carries an idempotency key (``bot.once``) claims it in the same
statement (``ADD_DEADLINE_CLAIMING``): the claim is the first CTE (the upsert of
``storage.claims``), and the counter's upsert takes its row from it, so when the
key was claimed already nothing comes back from the claim and nothing is
numbered, inserted or alerted: the statement returns no row (``AlreadyHandled``).
Two copies at once serialize on the key's primary key, as in a transaction.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import once
from bot.domain import (
    AlertStatus,
    Deadline,
    DeadlineStatus,
    Event,
    NewDeadline,
    PlannedAlert,
    negotiation_key,
)
from storage.changes import CHANNEL
from storage.claims import RK
from storage.connections import Connections
from storage.direct_dml import prepared
from storage.rows import (
    DEADLINE_COLUMNS,
    A,
    C,
    D,
    E,
    X,
    alert_values,
    deadline_from_row,
    event_values,
    offsets_to_text,
    owners_to_text,
)
from storage.types import utc_instant

_WS = "workspace_id"
_EVENT_FIELDS = ("kind", "at", "actor_id", "data")
_ALERT_FIELDS = [
    "workspace_id", "deadline_id", "offset_seconds", "due_at", "not_before", "status", "attempts"
]  # fmt: skip


_EXPECTED = bindparam("expected_parties", type_=X.c.parties.type)


def _statement(*, claiming: bool) -> Select[Any]:
    counter = [
        bindparam("key", type_=C.c.negotiation_key.type),
        bindparam(_WS, type_=C.c.workspace_id.type),
        literal(1),
    ]
    if claiming:
        claim = postgresql.insert(RK).values(
            key=bindparam("claim_key"), expires_at=bindparam("claim_expires_at")
        )
        claimed = (
            claim.on_conflict_do_update(
                index_elements=[RK.c.key],
                set_={"expires_at": claim.excluded.expires_at},
                where=RK.c.expires_at <= bindparam("claim_now", type_=RK.c.expires_at.type),
            )
            .returning(RK.c.key)
            .cte("claimed")
        )
        source = select(*counter).select_from(claimed)
    else:
        source = select(*counter)
    numbered = (
        postgresql.insert(C)
        .from_select(["negotiation_key", "workspace_id", "last_number"], source)
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
    expected = (
        insert(X)
        .from_select(
            ["deadline_id", "workspace_id", "parties"],
            select(added.c.id, bindparam(_WS, type_=X.c.workspace_id.type), _EXPECTED).where(
                _EXPECTED.is_not(None)
            ),
        )
        .cte("expected")
    )
    # Every replica's read models hear of it on commit (storage.changes).
    notified = select(func.pg_notify(CHANNEL, "").label("sent")).cte("notified")
    return (
        select(*(added.c[column.name] for column in DEADLINE_COLUMNS))
        .select_from(added)
        .join(notified, true())
        .add_cte(told, alerts, expected)
    )


ADD_DEADLINE = _statement(claiming=False)
ADD_DEADLINE_CLAIMING = _statement(claiming=True)


def add_parameters(
    key: str,
    deadline: dict[str, Any],
    event: dict[str, Any],
    alerts: Sequence[PlannedAlert],
    *,
    expected: str | None,
    claim: once.Key | None,
) -> dict[str, Any]:
    """``ADD_DEADLINE``'s parameters: the negotiation's key, the deadline's columns (all
    but id and number), the event's (``storage.rows.event_values``), the alerts, the
    expected parties (JSON text, or None) and, for ``ADD_DEADLINE_CLAIMING``, the key."""
    claimed = {}
    if claim is not None:
        claimed = {
            "claim_key": claim.digest,
            "claim_expires_at": claim.expires_at,
            "claim_now": claim.now,
        }
    return {
        **claimed,
        "key": key,
        "expected_parties": expected,
        **deadline,
        **{f"event_{name}": event[name] for name in _EVENT_FIELDS},
        "alert_offsets": [int(alert.offset.total_seconds()) for alert in alerts],
        "alert_due": [utc_instant(alert.due_at) for alert in alerts],
    }


# SQLite: the negotiation's next deadline number, the new deadline (read back as
# stored: instants come back in UTC, like every read), its history's first event,
# its alerts, the parties it expects.
_NEXT_NUMBER = prepared(
    sqlite.insert(C)
    .values(negotiation_key=bindparam("key"), workspace_id=bindparam("ws"), last_number=1)
    .on_conflict_do_update(
        index_elements=[C.c.negotiation_key], set_={"last_number": C.c.last_number + 1}
    )
    .returning(C.c.last_number)
)
_INSERT_DEADLINE = prepared(insert(D).returning(*DEADLINE_COLUMNS))
_INSERT_EVENT = prepared(insert(E))
_INSERT_ALERTS = prepared(insert(A))
_INSERT_EXPECTED = prepared(insert(X))


async def add_deadline(
    db: Connections, *, draft: NewDeadline, event: Event, alerts: Sequence[PlannedAlert]
) -> Deadline:
    """Store ``draft`` as the negotiation's next deadline, with ``event`` and ``alerts``."""
    ws = draft.workspace_id
    key = negotiation_key(ws, draft.channel_id)
    values = {
        "workspace_id": ws,
        "channel_id": draft.channel_id,
        "platform": draft.platform,
        "title": draft.title,
        "title_key": draft.title.casefold(),
        "due_at": draft.due_at,
        "tz": draft.tz,
        "owner_id": draft.owner_id,
        "owners": owners_to_text([draft.owner_id]),
        "status": DeadlineStatus.OPEN.value,
        "reminder_offsets": offsets_to_text(draft.reminder_offsets),
        "created_at": draft.created_at,
        "updated_at": draft.created_at,
        "sequence": 0,
        "uid": secrets.token_hex(16),
        "sealed": draft.sealed,
        "silence_rule": draft.silence.text,
        "silence_extended": False,
        "settled_at": None,
    }
    parties = None if draft.expected is None else json.dumps(list(draft.expected))
    if db.dialect == "postgresql":
        event_row = event_values(ws, 0, event)

        async def add(conn: AsyncConnection, claim: once.Key | None) -> Deadline:
            params = add_parameters(key, values, event_row, alerts, expected=parties, claim=claim)
            statement = ADD_DEADLINE if claim is None else ADD_DEADLINE_CLAIMING
            row = (await conn.execute(statement, params)).first()
            if row is None:
                assert claim is not None  # only a key claimed already stops the statement
                raise once.AlreadyHandled(claim)
            return deadline_from_row(row)

        return await db.write_statement(add)

    async def work(conn: AsyncConnection) -> Deadline:
        number = (await conn.execute(_NEXT_NUMBER, {"key": key, "ws": ws})).scalar_one()
        row = (await conn.execute(_INSERT_DEADLINE, {**values, "number": int(number)})).one()
        deadline = deadline_from_row(row)
        await conn.execute(_INSERT_EVENT, event_values(ws, deadline.id, event))
        if alerts:
            await conn.execute(_INSERT_ALERTS, alert_values(ws, deadline.id, alerts))
        if parties is not None:
            expected = {"workspace_id": ws, "deadline_id": deadline.id, "parties": parties}
            await conn.execute(_INSERT_EXPECTED, expected)
        return deadline

    return await db.write(work)
