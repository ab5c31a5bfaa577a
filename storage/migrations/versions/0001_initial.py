"""Initial schema: deadlines, counters, positions, requests, events, alert outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _deadline_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", "deadline_id"],
        ["deadline.workspace_id", "deadline.id"],
        name=f"fk_{table}_deadline",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "deadline",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(_ID), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        _instant("due_at"),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(_ID), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reminder_offsets", sa.Text(), nullable=False),
        _instant("created_at"),
        _instant("updated_at"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.UniqueConstraint("workspace_id", "number", name="uq_deadline_workspace_number"),
        sa.UniqueConstraint("workspace_id", "id", name="uq_deadline_workspace_id"),
        sa.UniqueConstraint("uid", name="uq_deadline_uid"),
    )
    op.create_index(
        "ix_deadline_workspace_status_due", "deadline", ["workspace_id", "status", "due_at"]
    )
    op.create_table(
        "workspace_counter",
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("last_number", sa.Integer(), nullable=False),
    )
    op.create_table(
        "position",
        sa.Column("deadline_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("stakeholder", sa.String(_ID), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("stance", sa.String(16), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(_ID), nullable=False),
        _instant("recorded_at"),
        _deadline_fk("position"),
    )
    op.create_table(
        "position_request",
        sa.Column("deadline_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.String(_ID), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("asked_by", sa.String(_ID), nullable=False),
        _instant("asked_at"),
        _instant("answered_at", nullable=True),
        _deadline_fk("position_request"),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        _instant("at"),
        sa.Column("actor_id", sa.String(_ID), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _deadline_fk("event"),
    )
    op.create_index("ix_event_workspace_deadline", "event", ["workspace_id", "deadline_id", "id"])
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.Integer(), nullable=False),
        _instant("due_at"),
        _instant("not_before"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("lease_until", nullable=True),
        sa.Column("claimed_by", sa.String(_ID), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("sent_at", nullable=True),
        _deadline_fk("alert"),
    )
    op.create_index("ix_alert_status_not_before", "alert", ["status", "not_before"])
    op.create_index("ix_alert_deadline_status", "alert", ["deadline_id", "status"])


def downgrade() -> None:
    for table in ("alert", "event", "position_request", "position", "workspace_counter"):
        op.drop_table(table)
    op.drop_table("deadline")
