"""The notice outbox: direct messages telling people of changes to a deadline.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(_ID), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        _instant("due_at"),
        _instant("not_before"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("lease_until", nullable=True),
        sa.Column("claimed_by", sa.String(_ID), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deadline_id"],
            ["deadline.workspace_id", "deadline.id"],
            name="fk_notice_deadline",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_notice_status_not_before", "notice", ["status", "not_before"])
    op.create_index(
        "ix_notice_deadline_user_status", "notice", ["deadline_id", "user_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_notice_deadline_user_status", table_name="notice")
    op.drop_index("ix_notice_status_not_before", table_name="notice")
    op.drop_table("notice")
