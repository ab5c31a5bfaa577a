"""Calendar feed tokens (hashes only), and indexes for the feed queries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "feed_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(_ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(_ID), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_feed_token_hash"),
    )
    op.create_index("ix_feed_token_scope", "feed_token", ["workspace_id", "kind", "subject"])
    op.create_index("ix_deadline_workspace_channel", "deadline", ["workspace_id", "channel_id"])
    op.create_index("ix_deadline_workspace_owner", "deadline", ["workspace_id", "owner_id"])
    op.create_index(
        "ix_position_request_workspace_user", "position_request", ["workspace_id", "user_id"]
    )
    op.create_index("ix_event_workspace_newest", "event", ["workspace_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_event_workspace_newest", table_name="event")
    op.drop_index("ix_position_request_workspace_user", table_name="position_request")
    op.drop_index("ix_deadline_workspace_owner", table_name="deadline")
    op.drop_index("ix_deadline_workspace_channel", table_name="deadline")
    op.drop_table("feed_token")
