"""Escalation: each deadline's escalation ladder and its last manual nudge.

- ``escalation``: one row per deadline that has a ladder (``ladder``, e.g.
  ``1d:dm,4h:owners,1h:channel``; null: none, the built-in nudges) or was nudged
  by hand (``nudged_at``, for the hourly limit of ``/position nudge``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "escalation",
        sa.Column("deadline_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("ladder", sa.Text(), nullable=True),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deadline_id"],
            ["deadline.workspace_id", "deadline.id"],
            name="fk_escalation_deadline",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("escalation")
