"""Linked channels: one negotiation across several channels, on one or both platforms.

A channel is linked by a one-time code (``/negotiation link`` in one channel,
``/negotiation join <code>`` in another). The set's *home* is the channel the
first code came from: its ``negotiation_key`` is the set's, so the linked
channels share its parties, deadlines (one D-number sequence), offers and
positions. Each member is a ``LinkedChannel`` row naming the home; the home
has a row of its own once someone joins.

Codes are shown once, stored only as their SHA-256 (``code_hash``), and work
once, for ``CODE_LIFETIME``. A code is 16 base32 characters (A-Z, 2-7: 80
random bits), shown in four groups of four; case, spaces and dashes are
ignored when typed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain import negotiation_key

CODE_LIFETIME = timedelta(minutes=15)
_CODE_BYTES = 10
_TYPED = str.maketrans({"-": "", " ": "", "`": ""})


@dataclass(frozen=True, slots=True)
class LinkedChannel:
    """A channel in a linked set, and the set's home channel."""

    workspace_id: str
    channel_id: str
    platform: str
    home_workspace_id: str
    home_channel_id: str
    linked_by: str
    linked_by_name: str
    linked_at: datetime

    @property
    def negotiation(self) -> str:
        """The set's ``negotiation_key`` (its home channel's)."""
        return negotiation_key(self.home_workspace_id, self.home_channel_id)

    @property
    def is_home(self) -> bool:
        return (self.workspace_id, self.channel_id) == (
            self.home_workspace_id,
            self.home_channel_id,
        )


@dataclass(frozen=True, slots=True)
class Target:
    """A channel a negotiation's posts go to, and the platform that renders them."""

    workspace_id: str
    channel_id: str
    platform: str


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A one-time code, by its hash: the channel it links to, who made it, until when."""

    code_hash: str
    workspace_id: str
    channel_id: str
    platform: str
    created_by: str
    created_at: datetime
    expires_at: datetime


def new_code() -> str:
    """A fresh code as shown: ``ABCD-EFGH-JKMN-PQRS``."""
    raw = base64.b32encode(secrets.token_bytes(_CODE_BYTES)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def code_hash(typed: str) -> str:
    """The stored form of a code as typed (case, dashes and spaces ignored)."""
    return hashlib.sha256(typed.upper().translate(_TYPED).encode()).hexdigest()


class LinkStore(Protocol):
    """Linked channels and their one-time codes (part of ``NegotiationStore``).

    The one way across workspaces (DESIGN.md, Tenancy): a linked set's members
    may sit in different workspaces and platforms, and are found by their home.
    """

    async def add_link_code(self, *, code: LinkCode) -> None: ...

    async def take_link_code(self, *, code_hash: str, now: datetime) -> LinkCode | None:
        """The code, marked used, if it exists, is unused and has not expired; else None
        (one statement: two replicas cannot both take it)."""
        ...

    async def channel_link(self, *, workspace_id: str, channel_id: str) -> LinkedChannel | None:
        """The channel's row in a linked set, if it is in one."""
        ...

    async def linked_channels(
        self, *, home_workspace_id: str, home_channel_id: str
    ) -> list[LinkedChannel]:
        """Every member of the set with this home (the home first), oldest first."""
        ...

    async def add_links(self, *, links: Sequence[LinkedChannel]) -> None:
        """Add members (one transaction); a channel already in a set keeps its row."""
        ...

    async def remove_links(self, *, channels: Sequence[tuple[str, str]]) -> None:
        """Take these (workspace, channel) out of their set."""
        ...
