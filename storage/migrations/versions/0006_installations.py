"""Slack installations in Parley's own tables, taken over from slack_sdk's.

Until now the Slack adapter kept installations in slack_sdk's SQLAlchemy
stores, whose tables it created at start outside alembic: ``slack_installations``
and ``slack_bots`` (one row per install, the newest winning) and
``slack_oauth_states``. This creates ``slack_bot``, ``slack_installation`` and
``slack_oauth_state``, and when slack_sdk's tables exist copies what they hold
(per workspace the newest bot that has a token, per installer the newest
install, the states not yet expired) and drops them. Their timestamps are
naive UTC.

The downgrade gives the rows back to slack_sdk's tables, which filter by the
Slack app's client id: it is read from ``SLACK_CLIENT_ID``, and needed only
when there are installations to give back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 255
SDK_BOTS = "slack_bots"
SDK_INSTALLATIONS = "slack_installations"
SDK_STATES = "slack_oauth_states"

_BOT_FIELDS = (
    "app_id",
    "enterprise_name",
    "team_name",
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "bot_refresh_token",
    "bot_token_expires_at",
    "is_enterprise_install",
    "installed_at",
)
_INSTALLATION_FIELDS = (
    "app_id",
    "enterprise_name",
    "enterprise_url",
    "team_name",
    "is_enterprise_install",
    "token_type",
    "user_token",
    "user_scopes",
    "user_refresh_token",
    "user_token_expires_at",
    "incoming_webhook_url",
    "incoming_webhook_channel",
    "incoming_webhook_channel_id",
    "incoming_webhook_configuration_url",
    "installed_at",
)
_INSTANTS = (
    "installed_at",
    "bot_token_expires_at",
    "user_token_expires_at",
    "expire_at",
    "expires_at",
)


def _instant(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    bots = op.create_table(
        "slack_bot",
        sa.Column("enterprise_id", sa.String(_ID), primary_key=True),
        sa.Column("team_id", sa.String(_ID), primary_key=True),
        sa.Column("app_id", sa.String(_ID)),
        sa.Column("enterprise_name", sa.Text()),
        sa.Column("team_name", sa.Text()),
        sa.Column("bot_token", sa.Text(), nullable=False),
        sa.Column("bot_id", sa.String(_ID), nullable=False),
        sa.Column("bot_user_id", sa.String(_ID), nullable=False),
        sa.Column("bot_scopes", sa.Text(), nullable=False),
        sa.Column("bot_refresh_token", sa.Text()),
        _instant("bot_token_expires_at"),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        _instant("installed_at", nullable=False),
    )
    installations = op.create_table(
        "slack_installation",
        sa.Column("enterprise_id", sa.String(_ID), primary_key=True),
        sa.Column("team_id", sa.String(_ID), primary_key=True),
        sa.Column("user_id", sa.String(_ID), primary_key=True),
        sa.Column("app_id", sa.String(_ID)),
        sa.Column("enterprise_name", sa.Text()),
        sa.Column("enterprise_url", sa.Text()),
        sa.Column("team_name", sa.Text()),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.String(32)),
        sa.Column("user_token", sa.Text()),
        sa.Column("user_scopes", sa.Text(), nullable=False),
        sa.Column("user_refresh_token", sa.Text()),
        _instant("user_token_expires_at"),
        sa.Column("incoming_webhook_url", sa.Text()),
        sa.Column("incoming_webhook_channel", sa.Text()),
        sa.Column("incoming_webhook_channel_id", sa.String(_ID)),
        sa.Column("incoming_webhook_configuration_url", sa.Text()),
        _instant("installed_at", nullable=False),
    )
    op.create_index(
        "ix_slack_installation_latest",
        "slack_installation",
        ["enterprise_id", "team_id", "installed_at"],
    )
    states = op.create_table(
        "slack_oauth_state",
        sa.Column("state", sa.String(_ID), primary_key=True),
        _instant("expires_at", nullable=False),
    )
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if SDK_BOTS in existing:
        op.bulk_insert(bots, _bots_from_sdk(_rows(SDK_BOTS)))
        op.drop_table(SDK_BOTS)
    if SDK_INSTALLATIONS in existing:
        op.bulk_insert(installations, _installations_from_sdk(_rows(SDK_INSTALLATIONS)))
        op.drop_table(SDK_INSTALLATIONS)
    if SDK_STATES in existing:
        now = datetime.now(UTC)
        unexpired = [row for row in _rows(SDK_STATES) if row["expire_at"] > now]
        op.bulk_insert(
            states, [{"state": row["state"], "expires_at": row["expire_at"]} for row in unexpired]
        )
        op.drop_table(SDK_STATES)


def downgrade() -> None:
    bots = _rows("slack_bot")
    installations = [
        {**row, **_bot_of(row["enterprise_id"], row["team_id"], bots)}
        for row in _rows("slack_installation")
    ]
    client_id = os.environ.get("SLACK_CLIENT_ID", "")
    if (bots or installations) and not client_id:
        raise RuntimeError(
            "Set SLACK_CLIENT_ID to the Slack app's client id: slack_sdk's tables, "
            "which this downgrade gives the installations back to, are keyed by it."
        )
    sdk_bots, sdk_installations, sdk_states = _create_sdk_tables()
    op.bulk_insert(sdk_bots, [_to_sdk(row, client_id) for row in bots])
    op.bulk_insert(sdk_installations, [_to_sdk(row, client_id) for row in installations])
    op.bulk_insert(
        sdk_states,
        [
            {"state": row["state"], "expire_at": _naive_utc(row["expires_at"])}
            for row in _rows("slack_oauth_state")
        ],
    )
    op.drop_table("slack_oauth_state")
    op.drop_index("ix_slack_installation_latest", table_name="slack_installation")
    op.drop_table("slack_installation")
    op.drop_table("slack_bot")


# --- reading ------------------------------------------------------------------
def _rows(name: str) -> list[dict[str, Any]]:
    """The rows of a table, instants as aware UTC, oldest install first.

    The table is reflected, so older slack_sdk schemas (without the token
    rotation columns) read as well: a missing column reads as None.
    """
    table = sa.Table(name, sa.MetaData(), autoload_with=op.get_bind())
    rows = []
    for mapping in op.get_bind().execute(sa.select(table)).mappings():
        row = dict(mapping)
        for key in _INSTANTS:
            if row.get(key) is not None:
                row[key] = _aware_utc(row[key])
        rows.append(row)
    if "installed_at" in table.c:
        rows.sort(key=lambda row: row["installed_at"])
    return rows


def _aware_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _aware_utc(value).replace(tzinfo=None)


def _newest_per_key(rows: Iterable[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """The last row for each key (rows come oldest first), absent ids as ""."""
    newest: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        newest[tuple(row.get(field) or "" for field in fields)] = row
    return list(newest.values())


def _bots_from_sdk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with_token = [row for row in rows if row.get("bot_token")]
    return [
        {
            "enterprise_id": row.get("enterprise_id") or "",
            "team_id": row.get("team_id") or "",
            **{field: row.get(field) for field in _BOT_FIELDS},
            "bot_id": row.get("bot_id") or "",
            "bot_user_id": row.get("bot_user_id") or "",
            "bot_scopes": row.get("bot_scopes") or "",
            "is_enterprise_install": bool(row.get("is_enterprise_install")),
        }
        for row in _newest_per_key(with_token, "enterprise_id", "team_id")
    ]


def _installations_from_sdk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "enterprise_id": row.get("enterprise_id") or "",
            "team_id": row.get("team_id") or "",
            "user_id": row["user_id"],
            **{field: row.get(field) for field in _INSTALLATION_FIELDS},
            "user_scopes": row.get("user_scopes") or "",
            "is_enterprise_install": bool(row.get("is_enterprise_install")),
        }
        for row in _newest_per_key(rows, "enterprise_id", "team_id", "user_id")
    ]


# --- giving the rows back (downgrade) -------------------------------------------
def _bot_of(enterprise_id: str, team_id: str, bots: list[dict[str, Any]]) -> dict[str, Any]:
    """The bot columns slack_sdk keeps on each installation row: the workspace's bot."""
    for bot in bots:
        if bot["enterprise_id"] == enterprise_id and bot["team_id"] == team_id:
            return {
                name: bot[name]
                for name in (
                    "bot_token",
                    "bot_id",
                    "bot_user_id",
                    "bot_scopes",
                    "bot_refresh_token",
                    "bot_token_expires_at",
                )
            }
    return {}


def _to_sdk(row: dict[str, Any], client_id: str) -> dict[str, Any]:
    """A row of Parley's table as slack_sdk wrote it: naive UTC, absent ids NULL."""
    values = {
        name: (_naive_utc(value) if name in _INSTANTS else value) for name, value in row.items()
    }
    values.update(
        client_id=client_id,
        app_id=row.get("app_id") or "",
        enterprise_id=row["enterprise_id"] or None,
        team_id=row["team_id"] or None,
        is_enterprise_install=bool(row["is_enterprise_install"]),
    )
    for scopes in ("bot_scopes", "user_scopes"):
        if scopes in values:
            values[scopes] = values[scopes] or None
    return values


def _create_sdk_tables() -> tuple[sa.Table, sa.Table, sa.Table]:
    """slack_sdk's tables as its SQLAlchemy stores create them (slack_sdk 3.8 and later)."""

    def workspace_and_bot() -> list[sa.Column[Any]]:
        return [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("client_id", sa.String(32), nullable=False),
            sa.Column("app_id", sa.String(32), nullable=False),
            sa.Column("enterprise_id", sa.String(32)),
            sa.Column("enterprise_name", sa.String(200)),
            sa.Column("team_id", sa.String(32)),
            sa.Column("team_name", sa.String(200)),
            sa.Column("bot_token", sa.String(200)),
            sa.Column("bot_id", sa.String(32)),
            sa.Column("bot_user_id", sa.String(32)),
            sa.Column("bot_scopes", sa.String(1000)),
            sa.Column("bot_refresh_token", sa.String(200)),
            sa.Column("bot_token_expires_at", sa.DateTime()),
            sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
            sa.Column("installed_at", sa.DateTime(), nullable=False),
        ]

    bots = op.create_table(
        SDK_BOTS,
        *workspace_and_bot(),
    )
    op.create_index(
        f"{SDK_BOTS}_idx", SDK_BOTS, ["client_id", "enterprise_id", "team_id", "installed_at"]
    )
    installations = op.create_table(
        SDK_INSTALLATIONS,
        *workspace_and_bot(),
        sa.Column("enterprise_url", sa.String(200)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_token", sa.String(200)),
        sa.Column("user_scopes", sa.String(1000)),
        sa.Column("user_refresh_token", sa.String(200)),
        sa.Column("user_token_expires_at", sa.DateTime()),
        sa.Column("incoming_webhook_url", sa.String(200)),
        sa.Column("incoming_webhook_channel", sa.String(200)),
        sa.Column("incoming_webhook_channel_id", sa.String(200)),
        sa.Column("incoming_webhook_configuration_url", sa.String(200)),
        sa.Column("token_type", sa.String(32)),
    )
    op.create_index(
        f"{SDK_INSTALLATIONS}_idx",
        SDK_INSTALLATIONS,
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    states = op.create_table(
        SDK_STATES,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
    )
    return bots, installations, states
