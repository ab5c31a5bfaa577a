"""A channel's open deadlines in due order come from one index (the hot `/deadline list`).

Replaces ``ix_deadline_workspace_channel`` (workspace, channel) with
(workspace, channel, status, due_at): SQLite chose the workspace/status index
and filtered channels row by row, so a list slowed with every other channel's
deadline.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_deadline_channel_status_due",
        "deadline",
        ["workspace_id", "channel_id", "status", "due_at"],
    )
    op.drop_index("ix_deadline_workspace_channel", table_name="deadline")


def downgrade() -> None:
    op.create_index("ix_deadline_workspace_channel", "deadline", ["workspace_id", "channel_id"])
    op.drop_index("ix_deadline_channel_status_due", table_name="deadline")
