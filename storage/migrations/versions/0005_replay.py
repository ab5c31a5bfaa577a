"""Replay keys (requests already handled, shared by the replicas) and the secrets
that sign each channel's "Add to calendar" links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "replay_key",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_replay_key_expires", "replay_key", ["expires_at"])
    op.create_table(
        "event_link_key",
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("channel_id", sa.String(_ID), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_link_key")
    op.drop_index("ix_replay_key_expires", table_name="replay_key")
    op.drop_table("replay_key")
