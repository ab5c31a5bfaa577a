"""``bot.ports.Repository`` on SQLAlchemy Core (async), for SQLite and PostgreSQL.

The composition root opens one ``SqlRepository`` on an engine and hands it out
as each port. It is the union of the stores, as ``Repository`` is the union of
the ports; each store sits in a module of its own, on the ``Connections`` they
share:

====================================  ==========================================
``storage.deadlines``                 ``DeadlineStore``: deadlines, positions, history
``storage.parties``                   ``PartyStore``: parties, expected parties
``storage.offers``                    ``OfferStore``: offer versions
``storage.escalations``               ``EscalationStore``: ladders, manual nudges
``storage.outbox``                    ``AlertOutbox``: claiming and settling alerts
``storage.channel_links``             ``LinkStore``: linked channels, link codes; alert deliveries
``storage.notices``                   ``NoticeOutbox``: telling people of changes
``storage.feeds``                     ``FeedStore``: feed tokens, what a feed shows
``storage.links``                     ``FeedStore``: the secrets of "Add to calendar" links
``storage.replay``                    ``ReplayStore``: requests already handled
``storage.conversations``             ``ConversationStore``: where to post later
``storage.installations``             ``Installations``: Slack bots, installs, OAuth states
``storage.maintenance``               ``Maintenance``: export, import, ping
``storage.connections``               reads, snapshots, write transactions
``storage.inline_sqlite``             SQLite statements on the loop, writes batched
``storage.rows`` / ``storage.errors``  rows to domain values; failures to ``bot.errors``
``storage.transfer``                  the export format
====================================  ==========================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.channel_links import SqlLinkStore
from storage.connections import Connections
from storage.conversations import SqlConversationStore
from storage.deadlines import SqlDeadlineStore
from storage.escalations import SqlEscalationStore
from storage.feeds import SqlFeedStore
from storage.installations import SqlInstallations
from storage.links import SqlEventLinkStore
from storage.maintenance import SqlMaintenance
from storage.notices import SqlNoticeOutbox
from storage.offers import SqlOfferStore
from storage.outbox import SqlAlertOutbox
from storage.parties import SqlPartyStore
from storage.replay import SqlReplayStore

if TYPE_CHECKING:
    from bot.ports import Repository


class SqlRepository(
    SqlDeadlineStore,
    SqlPartyStore,
    SqlOfferStore,
    SqlEscalationStore,
    SqlLinkStore,
    SqlAlertOutbox,
    SqlNoticeOutbox,
    SqlFeedStore,
    SqlEventLinkStore,
    SqlConversationStore,
    SqlReplayStore,
    SqlInstallations,
    SqlMaintenance,
):
    """Every storage port on one AsyncEngine (see ``storage.db.make_engine``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(Connections(engine))

    async def close(self) -> None:
        await self._db.close()


if TYPE_CHECKING:
    _check: type[Repository] = SqlRepository
