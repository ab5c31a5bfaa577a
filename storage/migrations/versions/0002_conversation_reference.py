"""Conversation references: where Parley may post on its own (Teams proactive messages).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "conversation_reference",
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("conversation_id", sa.String(_ID), primary_key=True),
        sa.Column("group_id", sa.String(_ID), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_conversation_reference_group", "conversation_reference", ["workspace_id", "group_id"]
    )
    op.create_index(
        "ix_conversation_reference_updated",
        "conversation_reference",
        ["workspace_id", "updated_at"],
    )


def downgrade() -> None:
    op.drop_table("conversation_reference")
