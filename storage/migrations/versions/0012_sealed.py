"""Sealed positions, the silence rule and the settling of a deadline.

- ``deadline.sealed``: positions are commit-reveal until the deadline is settled;
  ``deadline.silence_rule``: "none", "support", "oppose" or "extend <offset>";
  ``deadline.silence_extended``: the extension has been used (it happens once);
  ``deadline.settled_at``: when its end was dealt with (silence positions, reveal).
- ``position.salt`` and ``position.commitment`` of a sealed position;
  ``position.by_silence``: recorded by the silence rule.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (not alembic's batch mode, which rebuilds the table on SQLite:
    # dropping the old deadline table would cascade to every row that references it).
    op.add_column(
        "deadline", sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "deadline",
        sa.Column("silence_rule", sa.String(32), nullable=False, server_default="none"),
    )
    op.add_column(
        "deadline",
        sa.Column("silence_extended", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("deadline", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("position", sa.Column("salt", sa.String(32), nullable=True))
    op.add_column("position", sa.Column("commitment", sa.String(64), nullable=True))
    op.add_column(
        "position",
        sa.Column("by_silence", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for column in ("by_silence", "commitment", "salt"):
        op.drop_column("position", column)
    for column in ("settled_at", "silence_extended", "silence_rule", "sealed"):
        op.drop_column("deadline", column)
