"""Linked channels: one negotiation across channels and platforms.

- ``channel_link``: one row per member of a linked set, naming the set's home
  channel (whose negotiation key the set shares);
- ``link_code``: one-time codes by their SHA-256, used once, for 15 minutes;
- ``alert_delivery``: which channels of a linked set an alert was posted to.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255


def upgrade() -> None:
    op.create_table(
        "channel_link",
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("channel_id", sa.String(_ID), primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("home_workspace_id", sa.String(_ID), nullable=False),
        sa.Column("home_channel_id", sa.String(_ID), nullable=False),
        sa.Column("linked_by", sa.String(_ID), nullable=False),
        sa.Column("linked_by_name", sa.String(_ID), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_channel_link_home", "channel_link", ["home_workspace_id", "home_channel_id"]
    )
    op.create_table(
        "link_code",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("workspace_id", sa.String(_ID), nullable=False),
        sa.Column("channel_id", sa.String(_ID), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(_ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "alert_delivery",
        sa.Column("alert_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("workspace_id", sa.String(_ID), primary_key=True),
        sa.Column("channel_id", sa.String(_ID), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name="fk_alert_delivery_alert", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_delivery")
    op.drop_table("link_code")
    op.drop_index("ix_channel_link_home", table_name="channel_link")
    op.drop_table("channel_link")
