"""``bot.ports.Installations``: the Slack workspaces Parley is installed in.

Three tables (``storage.tables``): ``slack_bot`` holds each workspace's bot and
its token, ``slack_installation`` each installer's install without the bot, and
``slack_oauth_state`` the one-time states of installs in progress. An
installation is read back joined to its workspace's bot, so a token that was
rotated or revoked is never served from an older install.

A workspace is ``(enterprise_id, team_id)``; an absent id is stored as "" so it
can be part of the primary key (NULLs never conflict), and read back as ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from bot.domain import SlackBot, SlackInstallation
from storage.connections import SqlStore
from storage.errors import guarded
from storage.tables import SlackBotRow, SlackInstallationRow, SlackOAuthStateRow


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


SB = _table(SlackBotRow)
SI = _table(SlackInstallationRow)
OS = _table(SlackOAuthStateRow)

_BOT_FIELDS = (
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "bot_refresh_token",
    "bot_token_expires_at",
)
_BOT_COLUMNS = tuple(column for column in SB.columns)
_INSTALLATION_COLUMNS = (
    *SI.columns,
    *(SB.c[name].label(f"current_{name}") for name in _BOT_FIELDS),
)

_BOT_OF_INSTALLATION = and_(SB.c.enterprise_id == SI.c.enterprise_id, SB.c.team_id == SI.c.team_id)


def _key(value: str | None) -> str:
    return value or ""


def _id(value: str) -> str | None:
    return value or None


def _scopes_text(scopes: Sequence[str]) -> str:
    return ",".join(scopes)


def _scopes(text: str | None) -> tuple[str, ...]:
    return tuple(scope for scope in (text or "").split(",") if scope)


def _in_workspace(
    table: Table, enterprise_id: str | None, team_id: str | None
) -> ColumnElement[bool]:
    return and_(table.c.enterprise_id == _key(enterprise_id), table.c.team_id == _key(team_id))


def _bot_values(bot: SlackBot) -> dict[str, Any]:
    return {
        "enterprise_id": _key(bot.enterprise_id),
        "team_id": _key(bot.team_id),
        "app_id": bot.app_id,
        "enterprise_name": bot.enterprise_name,
        "team_name": bot.team_name,
        "bot_token": bot.bot_token,
        "bot_id": bot.bot_id,
        "bot_user_id": bot.bot_user_id,
        "bot_scopes": _scopes_text(bot.bot_scopes),
        "bot_refresh_token": bot.bot_refresh_token,
        "bot_token_expires_at": bot.bot_token_expires_at,
        "is_enterprise_install": bot.is_enterprise_install,
        "installed_at": bot.installed_at,
    }


def _installation_values(installation: SlackInstallation) -> dict[str, Any]:
    return {
        "enterprise_id": _key(installation.enterprise_id),
        "team_id": _key(installation.team_id),
        "user_id": installation.user_id,
        "app_id": installation.app_id,
        "enterprise_name": installation.enterprise_name,
        "enterprise_url": installation.enterprise_url,
        "team_name": installation.team_name,
        "is_enterprise_install": installation.is_enterprise_install,
        "token_type": installation.token_type,
        "user_token": installation.user_token,
        "user_scopes": _scopes_text(installation.user_scopes),
        "user_refresh_token": installation.user_refresh_token,
        "user_token_expires_at": installation.user_token_expires_at,
        "incoming_webhook_url": installation.incoming_webhook_url,
        "incoming_webhook_channel": installation.incoming_webhook_channel,
        "incoming_webhook_channel_id": installation.incoming_webhook_channel_id,
        "incoming_webhook_configuration_url": installation.incoming_webhook_configuration_url,
        "installed_at": installation.installed_at,
    }


def _bot_from_row(row: Any) -> SlackBot:
    return SlackBot(
        enterprise_id=_id(row.enterprise_id),
        team_id=_id(row.team_id),
        bot_token=row.bot_token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        installed_at=row.installed_at,
        bot_scopes=_scopes(row.bot_scopes),
        app_id=row.app_id,
        enterprise_name=row.enterprise_name,
        team_name=row.team_name,
        is_enterprise_install=bool(row.is_enterprise_install),
        bot_refresh_token=row.bot_refresh_token,
        bot_token_expires_at=row.bot_token_expires_at,
    )


def _installation_from_row(row: Any) -> SlackInstallation:
    return SlackInstallation(
        enterprise_id=_id(row.enterprise_id),
        team_id=_id(row.team_id),
        user_id=row.user_id,
        installed_at=row.installed_at,
        app_id=row.app_id,
        enterprise_name=row.enterprise_name,
        enterprise_url=row.enterprise_url,
        team_name=row.team_name,
        is_enterprise_install=bool(row.is_enterprise_install),
        token_type=row.token_type,
        bot_token=row.current_bot_token,
        bot_id=row.current_bot_id,
        bot_user_id=row.current_bot_user_id,
        bot_scopes=_scopes(row.current_bot_scopes),
        bot_refresh_token=row.current_bot_refresh_token,
        bot_token_expires_at=row.current_bot_token_expires_at,
        user_token=row.user_token,
        user_scopes=_scopes(row.user_scopes),
        user_refresh_token=row.user_refresh_token,
        user_token_expires_at=row.user_token_expires_at,
        incoming_webhook_url=row.incoming_webhook_url,
        incoming_webhook_channel=row.incoming_webhook_channel,
        incoming_webhook_channel_id=row.incoming_webhook_channel_id,
        incoming_webhook_configuration_url=row.incoming_webhook_configuration_url,
    )


class SqlInstallations(SqlStore):
    """The Installations port on shared ``Connections``."""

    def _upsert(self, table: Table, values: dict[str, Any]) -> Any:
        statement = self._db.insert(table).values(**values)
        keys = [column.name for column in table.primary_key.columns]
        return statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: statement.excluded[name] for name in values if name not in keys},
        )

    @guarded
    async def save_slack_installation(self, *, installation: SlackInstallation) -> None:
        statements = [self._upsert(SI, _installation_values(installation))]
        bot = installation.bot()
        if bot is not None:
            statements.append(self._upsert(SB, _bot_values(bot)))

        async def work(conn: AsyncConnection) -> None:
            for statement in statements:
                await conn.execute(statement)

        await self._db.write(work)

    @guarded
    async def save_slack_bot(self, *, bot: SlackBot) -> None:
        upsert = self._upsert(SB, _bot_values(bot))
        await self._db.write(lambda conn: conn.execute(upsert))

    @guarded
    async def find_slack_bot(
        self, *, enterprise_id: str | None, team_id: str | None
    ) -> SlackBot | None:
        stmt = select(*_BOT_COLUMNS).where(_in_workspace(SB, enterprise_id, team_id))
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return _bot_from_row(row) if row is not None else None

    @guarded
    async def find_slack_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> SlackInstallation | None:
        where: ColumnElement[bool] = _in_workspace(SI, enterprise_id, team_id)
        if user_id is not None:
            where = and_(where, SI.c.user_id == user_id)
        stmt = (
            select(*_INSTALLATION_COLUMNS)
            .select_from(SI.outerjoin(SB, _BOT_OF_INSTALLATION))
            .where(where)
            .order_by(SI.c.installed_at.desc(), SI.c.user_id)
            .limit(1)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return _installation_from_row(row) if row is not None else None

    @guarded
    async def delete_slack_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        stmt = delete(SB).where(_in_workspace(SB, enterprise_id, team_id))
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def delete_slack_installations(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        stmt = delete(SI).where(_in_workspace(SI, enterprise_id, team_id))
        if user_id is not None:
            stmt = stmt.where(SI.c.user_id == user_id)
        await self._db.write(lambda conn: conn.execute(stmt))

    @guarded
    async def issue_oauth_state(self, *, state: str, expires_at: datetime, now: datetime) -> None:
        expired = delete(OS).where(OS.c.expires_at <= now)
        issued = OS.insert().values(state=state, expires_at=expires_at)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(expired)
            await conn.execute(issued)

        await self._db.write(work)

    @guarded
    async def consume_oauth_state(self, *, state: str, now: datetime) -> bool:
        # One DELETE: of two redirects racing with the same state, only one removes it.
        stmt = delete(OS).where(OS.c.state == state, OS.c.expires_at > now)

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(stmt)).rowcount

        return await self._db.write(work) == 1
