"""Names instead of ids: people's display names and conversations' names.

The core writes people as ``<@id>`` and conversations as ``<#id>``
(``bot.messages``). Platforms know their names: the Slack adapter asks
``users.info`` and ``conversations.info``, the Teams adapter reads them from
activities and the roster. Whatever an adapter learns goes to ``NameBook.learn``,
which keeps it in this process and in the database (``bot.ports.NameStore``), so
feeds, the brief and the other replicas show the same names.

Before messages leave the core, ``NameBook.fill`` writes the known names into
them, ``<@id|name>`` and ``<#id|name>``: each renderer shows the name where its
platform does not (Teams, the shell, calendar text) and keeps a real mention
where it does (Slack). Messages sent outside a request (alerts, notices) are
filled by ``NamedGateways``, the gateways the dispatcher and notice sender use.

Cost. A name is asked of the platform at most once per ``REFRESH`` per process
(``due``), in the background, never on a command's path; an unchanged name is
not written again until ``REFRESH`` has passed. Lookups read the process's
cache, and the database only for ids not read within ``KEEP`` (one query per
message batch). Names are decoration: when the database is away, messages go
out with ids.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain import KnownName, NameKind
from bot.errors import StorageUnavailable
from bot.messages import CHANNEL, MENTION, Block, Facts, Message, Text
from bot.ports import ChatGateway, Clock, NameStore

log = logging.getLogger("parley.names")

REFRESH = timedelta(hours=12)  # a name is asked of its platform again after this
RETRY = timedelta(minutes=10)  # after a failed lookup
KEEP = timedelta(minutes=5)  # a name read from the database is trusted this long
NAME_MAX = 80
KEPT_MAX = 20_000
# Controls, bidi overrides, and the characters that end or split a mention token.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069<>|]")

Key = tuple[str, NameKind, str]


def clean_name(name: str) -> str:
    """A name safe inside a ``<@id|name>`` token: no controls, no ``<>|``, one line."""
    text = " ".join(_UNSAFE.sub(" ", name).split())
    return text[:NAME_MAX].rstrip()


def mentioned_ids(text: str) -> tuple[set[str], set[str]]:
    """The user ids and conversation ids written in ``text`` without a name."""
    users = {m[1] for m in MENTION.finditer(text) if not m[2]}
    channels = {m[1] for m in CHANNEL.finditer(text) if not m[2]}
    return users, channels


def with_names(text: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """``text`` with the known names written into its mentions."""
    if "<" not in text:
        return text
    text = MENTION.sub(
        lambda m: f"<@{m[1]}|{users[m[1]]}>" if not m[2] and m[1] in users else m[0], text
    )
    return CHANNEL.sub(
        lambda m: f"<#{m[1]}|{channels[m[1]]}>" if not m[2] and m[1] in channels else m[0], text
    )


def _texts(message: Message) -> Iterable[str]:
    yield message.fallback
    for block in message.blocks:
        if isinstance(block, Text):
            yield block.body
        elif isinstance(block, Facts):
            for label, value in block.pairs:
                yield label
                yield value


def _named_block(block: Block, users: dict[str, str], channels: dict[str, str]) -> Block:
    if isinstance(block, Text):
        return replace(block, body=with_names(block.body, users, channels))
    if isinstance(block, Facts):
        pairs = tuple(
            (with_names(label, users, channels), with_names(value, users, channels))
            for label, value in block.pairs
        )
        return replace(block, pairs=pairs)
    return block


class NameBook:
    """The names this process knows, backed by the ``NameStore`` (module docstring)."""

    def __init__(self, *, store: NameStore, clock: Clock, kept_max: int = KEPT_MAX) -> None:
        self.store = store
        self.clock = clock
        self.kept_max = kept_max
        # key -> (name, or None for "none known", and when it was read or learned)
        self._kept: OrderedDict[Key, tuple[str | None, datetime]] = OrderedDict()
        self._asked: dict[Key, datetime] = {}  # when this process last asked the platform
        self._stored: dict[Key, datetime] = {}  # when this process last wrote the name

    # --- learning ------------------------------------------------------------------
    def due(self, workspace_id: str, kind: NameKind, subject_id: str) -> bool:
        """Whether to ask the platform for this name now; True at most once per
        ``REFRESH`` (the caller is taken to ask at once)."""
        key = (workspace_id, kind, subject_id)
        now = self.clock.now()
        asked = self._asked.get(key)
        if asked is not None and now - asked < REFRESH:
            return False
        self._asked[key] = now
        if len(self._asked) > self.kept_max:
            self._asked.pop(next(iter(self._asked)))
        return True

    def failed(self, workspace_id: str, kind: NameKind, subject_id: str) -> None:
        """Asking the platform failed: ask again after ``RETRY``, not ``REFRESH``."""
        self._asked[(workspace_id, kind, subject_id)] = self.clock.now() - REFRESH + RETRY

    async def learn(self, names: Sequence[KnownName]) -> None:
        """Keep ``names`` and store those that changed or were last stored long ago."""
        now = self.clock.now()
        changed: list[KnownName] = []
        for known in names:
            name = clean_name(known.name)
            if not name or not known.subject_id:
                continue
            key = (known.workspace_id, known.kind, known.subject_id)
            kept = self._kept.get(key)
            stored = self._stored.get(key)
            if kept is None or kept[0] != name or stored is None or now - stored >= REFRESH:
                changed.append(replace(known, name=name, refreshed_at=now))
            self._keep(key, name, now)
        if not changed:
            return
        try:
            await self.store.save_names(names=changed)
        except StorageUnavailable as error:
            # Names are decoration: the next sighting stores them again. Debug only: the
            # outage (or the migration it needs) is reported once, where it is handled.
            log.debug("names not stored: %s", error)
            return
        for known in changed:
            self._stored[(known.workspace_id, known.kind, known.subject_id)] = now
        while len(self._stored) > self.kept_max:
            self._stored.pop(next(iter(self._stored)))

    # --- reading -------------------------------------------------------------------
    async def lookup(
        self, workspace_id: str, kind: NameKind, subject_ids: Iterable[str]
    ) -> dict[str, str]:
        """The known names among ``subject_ids`` (id -> name)."""
        now = self.clock.now()
        found: dict[str, str] = {}
        missing: list[str] = []
        for subject_id in dict.fromkeys(subject_ids):
            kept = self._kept.get((workspace_id, kind, subject_id))
            if kept is None or now - kept[1] >= KEEP:
                missing.append(subject_id)
            elif kept[0] is not None:
                found[subject_id] = kept[0]
        if missing:
            try:
                read = await self.store.find_names(
                    workspace_id=workspace_id, kind=kind, subject_ids=missing
                )
            except StorageUnavailable:
                read = {}  # ids for now; the command itself says the database is away
                for subject_id in missing:
                    kept = self._kept.get((workspace_id, kind, subject_id))
                    if kept is not None and kept[0] is not None:
                        read[subject_id] = kept[0]
                now = now - KEEP  # try the database again next time
            for subject_id in missing:
                name = read.get(subject_id)
                self._keep((workspace_id, kind, subject_id), name, now)
                if name:
                    found[subject_id] = name
        return found

    async def fill(self, workspace_id: str, messages: Sequence[Message]) -> list[Message]:
        """``messages`` with the known names written into their mentions."""
        user_ids: set[str] = set()
        channel_ids: set[str] = set()
        for message in messages:
            for text in _texts(message):
                in_users, in_channels = mentioned_ids(text)
                user_ids |= in_users
                channel_ids |= in_channels
        if not user_ids and not channel_ids:
            return list(messages)
        users = await self.lookup(workspace_id, NameKind.USER, sorted(user_ids))
        channels = await self.lookup(workspace_id, NameKind.CHANNEL, sorted(channel_ids))
        if not users and not channels:
            return list(messages)
        return [
            replace(
                message,
                fallback=with_names(message.fallback, users, channels),
                blocks=tuple(_named_block(block, users, channels) for block in message.blocks),
            )
            for message in messages
        ]

    def _keep(self, key: Key, name: str | None, at: datetime) -> None:
        self._kept[key] = (name, at)
        self._kept.move_to_end(key)
        while len(self._kept) > self.kept_max:
            self._kept.popitem(last=False)


class NamedGateway:
    """A ``ChatGateway`` that writes the known names into what it sends."""

    def __init__(self, gateway: ChatGateway, names: NameBook) -> None:
        self.gateway = gateway
        self.names = names

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        [named] = await self.names.fill(workspace_id, [message])
        return await self.gateway.send(
            workspace_id=workspace_id, channel_id=channel_id, message=named
        )


class NamedGateways(Mapping[str, ChatGateway]):
    """The gateways of ``gateways`` (by platform, as they are registered), each named."""

    def __init__(self, gateways: Mapping[str, ChatGateway], names: NameBook) -> None:
        self._gateways = gateways
        self._names = names

    def __getitem__(self, platform: str) -> ChatGateway:
        return NamedGateway(self._gateways[platform], self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._gateways)

    def __len__(self) -> int:
        return len(self._gateways)
