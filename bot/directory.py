"""What platforms tell Parley about their people and conversations, kept so that every
replica can use it: the names (``NameKind``, ``KnownName``; ``bot.names``) and the ports
that keep them and where Parley may post later (``NameStore``, ``ConversationStore``).

``bot.domain`` and ``bot.ports`` re-export these names; this module imports nothing of
Parley's.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class NameKind(enum.StrEnum):
    """What a known name belongs to (``bot.names``)."""

    USER = "user"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class KnownName:
    """A person's display name or a conversation's name, as its platform said it
    when last asked (``refreshed_at``)."""

    workspace_id: str
    kind: NameKind
    subject_id: str
    name: str
    refreshed_at: datetime


class ConversationStore(Protocol):
    """Where a platform lets Parley post into a conversation later (Teams proactive
    messages)."""

    async def save_conversation_reference(
        self,
        *,
        workspace_id: str,
        conversation_id: str,
        group_id: str,
        reference: str,
        updated_at: datetime,
    ) -> None:
        """Store or replace where Parley may post into a conversation later
        (``reference``: platform JSON). ``group_id`` is what one installation
        covers: a team, or the conversation itself."""
        ...

    async def get_conversation_reference(
        self, *, workspace_id: str, conversation_id: str
    ) -> str | None: ...

    async def latest_conversation_reference(self, *, workspace_id: str) -> str | None:
        """The most recently refreshed reference of the workspace, any conversation."""
        ...

    async def delete_conversation_references(
        self, *, workspace_id: str, group_id: str | None = None, conversation_id: str | None = None
    ) -> int:
        """Drop the references of a group (app removed) or of one conversation
        (channel deleted); name exactly one. Returns how many were dropped."""
        ...


class NameStore(Protocol):
    """Display names of people and names of conversations, one per (workspace, kind, id),
    shared by every replica (feeds, the brief and other replicas show them too)."""

    async def save_names(self, *, names: Sequence[KnownName]) -> None:
        """Store or replace each name (one transaction)."""
        ...

    async def find_names(
        self, *, workspace_id: str, kind: NameKind, subject_ids: Sequence[str]
    ) -> dict[str, str]:
        """The known names among ``subject_ids``: id -> name."""
        ...

    async def names_marker(self, *, workspace_id: str) -> str:
        """A short text that changes whenever a name of the workspace is saved."""
        ...
