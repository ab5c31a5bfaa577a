"""Offers: the offer versions on each deadline, and the version a position answered.

- ``offer``: one row per version (``version`` 1 is O1) of a deadline's offer:
  title, an optional http(s) URL, an optional declared party, who recorded it
  and when.
- ``position.offer_version``: the version current when the position was given
  (null: no offer was on the table).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "offer",
        sa.Column("deadline_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("party", sa.String(100), nullable=True),
        sa.Column("recorded_by", sa.String(_ID), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deadline_id"],
            ["deadline.workspace_id", "deadline.id"],
            name="fk_offer_deadline",
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("position") as batch:
        batch.add_column(sa.Column("offer_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("position") as batch:
        batch.drop_column("offer_version")
    op.drop_table("offer")
