"""Deadlines are numbered per channel, and have owners.

- ``negotiation_counter`` replaces ``workspace_counter``: one counter per
  negotiation (``bot.domain.negotiation_key``, ``<workspace>/<channel>`` today),
  each starting from the largest number its channel already uses, so existing
  deadlines keep their numbers and new ones continue from there.
- The unique (workspace, number) constraint becomes a unique index on
  (workspace, channel, number): two channels may each have a D1.
- ``deadline.owners``: a JSON array of user ids, filled with the creator.

SQLite cannot drop a constraint in place, so the deadline table is rebuilt
(alembic's batch mode). Migrations run in one transaction with foreign keys on,
where dropping the old table would cascade to every position, request, event
and alert: they are kept aside in temporary tables and put back afterwards.

Downgrading fails when two channels of a workspace share a number.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255
# The tables whose rows reference a deadline, in an order their foreign keys allow.
_CHILDREN = ("position", "position_request", "event", "alert")


@contextmanager
def _rebuilding_deadline() -> Iterator[None]:
    """On SQLite, keep the deadline's dependent rows through a rebuild of its table."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"CREATE TEMP TABLE kept_{table} AS SELECT * FROM {table}")
    yield
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"DELETE FROM {table}")
            op.execute(f"INSERT INTO {table} SELECT * FROM temp.kept_{table}")
            op.execute(f"DROP TABLE temp.kept_{table}")


def upgrade() -> None:
    op.create_table(
        "negotiation_counter",
        sa.Column("negotiation_key", sa.String(2 * _ID + 1), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
    )
    # The key as bot.domain.negotiation_key writes it for one channel.
    op.execute(
        "INSERT INTO negotiation_counter (negotiation_key, workspace_id, last_number) "
        "SELECT workspace_id || '/' || channel_id, workspace_id, MAX(number) "
        "FROM deadline GROUP BY workspace_id, channel_id"
    )
    op.drop_table("workspace_counter")

    op.add_column("deadline", sa.Column("owners", sa.Text(), nullable=True))
    bind = op.get_bind()
    deadline = sa.table("deadline", sa.column("id"), sa.column("owner_id"), sa.column("owners"))
    creators = bind.execute(sa.select(deadline.c.id, deadline.c.owner_id)).all()
    if creators:
        bind.execute(
            sa.update(deadline)
            .where(deadline.c.id == sa.bindparam("deadline_id"))
            .values(owners=sa.bindparam("owner_list")),
            [
                {"deadline_id": id_, "owner_list": json.dumps([owner], separators=(",", ":"))}
                for id_, owner in creators
            ],
        )
    with _rebuilding_deadline(), op.batch_alter_table("deadline") as batch:
        batch.alter_column("owners", existing_type=sa.Text(), nullable=False)
        batch.drop_constraint("uq_deadline_workspace_number", type_="unique")
        batch.create_index(
            "uq_deadline_channel_number", ["workspace_id", "channel_id", "number"], unique=True
        )


def downgrade() -> None:
    shared = op.get_bind().execute(
        sa.text(
            "SELECT workspace_id, number FROM deadline "
            "GROUP BY workspace_id, number HAVING COUNT(*) > 1 LIMIT 1"
        )
    )
    if shared.first() is not None:
        raise RuntimeError(
            "cannot downgrade below 0006: channels of one workspace share deadline numbers"
        )
    with _rebuilding_deadline(), op.batch_alter_table("deadline") as batch:
        batch.drop_index("uq_deadline_channel_number")
        batch.create_unique_constraint("uq_deadline_workspace_number", ["workspace_id", "number"])
        batch.drop_column("owners")
    op.create_table(
        "workspace_counter",
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("last_number", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO workspace_counter (workspace_id, last_number) "
        "SELECT workspace_id, MAX(last_number) FROM negotiation_counter GROUP BY workspace_id"
    )
    op.drop_table("negotiation_counter")
