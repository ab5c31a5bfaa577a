"""Names: people's display names and conversations' names, as their platforms gave them.

- ``known_name``: one row per (workspace, kind, id), ``kind`` being ``user`` or
  ``channel``, with the name and when it was last refreshed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "known_name",
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("subject_id", sa.String(_ID), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_known_name_refreshed", "known_name", ["workspace_id", "refreshed_at"])


def downgrade() -> None:
    op.drop_index("ix_known_name_refreshed", table_name="known_name")
    op.drop_table("known_name")
