"""Brief tokens: ``feed_token.deadline_id`` narrows a brief link to one deadline.

The brief page (``/deadline brief``) keeps its tokens with the calendar feed
tokens, as kind ``brief`` with the channel as subject; ``deadline_id`` is set
when the link shows one deadline of that channel, and null for the whole
negotiation (and for every calendar feed token).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed_token") as batch:
        batch.add_column(sa.Column("deadline_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM feed_token WHERE kind = 'brief'")
    with op.batch_alter_table("feed_token") as batch:
        batch.drop_column("deadline_id")
