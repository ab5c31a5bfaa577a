"""Negotiations: declared parties with their representatives, and the parties a
deadline expects.

- ``party``: one row per party of a negotiation (``bot.domain.negotiation_key``),
  keyed by its case-folded name; ``reps`` is a JSON array of user ids.
- ``expectation``: the party keys ``/deadline expect`` set on a deadline (a JSON
  array); without a row a deadline expects the parties declared before it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "party",
        sa.Column("negotiation_key", sa.String(2 * _ID + 1), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("reps", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.String(_ID), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "expectation",
        sa.Column("deadline_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("parties", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deadline_id"],
            ["deadline.workspace_id", "deadline.id"],
            name="fk_expectation_deadline",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("expectation")
    op.drop_table("party")
