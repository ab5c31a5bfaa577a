"""Domain values of Parley: deadlines, positions, requests, events, alerts, notices,
feeds and the Slack installations Parley acts under.

Everything here is a frozen dataclass or an enum. Instants are timezone-aware
``datetime`` values in UTC; a deadline also keeps the IANA zone it was set in
(``Deadline.tz``) for display and for calendar feeds.

Identifiers: ``workspace_id`` is the tenant, which adapters make unique across
platforms by prefixing (``slack:T123``, ``teams:<tenant>``, ``shell:local``).

A deadline belongs to the channel it was added in: its number (``D1``) counts
within that channel's negotiation (``negotiation_key``), and only its owners
(``Deadline.owners``: the creator and the co-owners they named) change it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.directory import KnownName as KnownName
from bot.directory import NameKind as NameKind

TITLE_MAX = 200
TERMS_MAX = 3000
PARTY_MAX = 100
REASON_MAX = 500

DEFAULT_OFFSETS: tuple[timedelta, ...] = (
    timedelta(days=7),
    timedelta(days=1),
    timedelta(hours=4),
    timedelta(hours=1),
    timedelta(minutes=15),
)
NUDGE_OFFSETS: frozenset[timedelta] = frozenset({timedelta(days=1), timedelta(hours=1)})


class Stance(enum.StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    CONDITIONAL = "conditional"
    UNDECIDED = "undecided"


STANCE_ALIASES: dict[str, Stance] = {
    "support": Stance.SUPPORT,
    "accept": Stance.SUPPORT,
    "yes": Stance.SUPPORT,
    "agree": Stance.SUPPORT,
    "oppose": Stance.OPPOSE,
    "reject": Stance.OPPOSE,
    "no": Stance.OPPOSE,
    "conditional": Stance.CONDITIONAL,
    "undecided": Stance.UNDECIDED,
    "maybe": Stance.UNDECIDED,
}


class DeadlineStatus(enum.StrEnum):
    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"
    MISSED = "missed"


class EventKind(enum.StrEnum):
    CREATED = "created"
    EXTENDED = "extended"
    MOVED = "moved"  # by /deadline move, earlier or later ("direction" in its data)
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    MISSED = "missed"
    REMINDERS_CHANGED = "reminders_changed"
    POSITION_RECORDED = "position_recorded"
    POSITIONS_ASKED = "positions_asked"
    OWNERS_CHANGED = "owners_changed"  # "added" or "removed" user ids in its data
    EXPECTED_CHANGED = "expected_changed"  # "parties": the names, or None for the default
    OFFER_RECORDED = "offer_recorded"  # "version", "title", "url", "party"
    ESCALATION_CHANGED = "escalation_changed"  # "ladder": its text, or None (off)
    SEALED = "sealed"  # /deadline seal: positions are sealed (commit-reveal) from now on
    SILENCE_CHANGED = "silence_changed"  # "rule": the silence rule's text
    REVEALED = "revealed"  # the sealed positions were revealed ("count")
    NUDGED = "nudged"  # /position nudge: "people" (user ids) and "parties" reached


class AlertStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Context:
    """Who typed a command, and where.

    ``direct``: the conversation is a direct one (a Slack DM, a Teams personal
    chat, a shell channel named ``dm:…`` or ``@…``), where references reach the
    deadlines the user owns or is asked on, as well as the conversation's own.
    ``mentioned``: the user ids the platform itself linked as people in the
    command's text (only those may be asked or made owners); ``None`` where a
    plain ``@name`` names a person (the shell).
    """

    workspace_id: str
    channel_id: str
    user_id: str
    user_name: str = ""
    tz: str = "UTC"
    platform: str = "shell"
    direct: bool = False
    mentioned: frozenset[str] | None = None


UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
SILENCE_KINDS = ("none", "support", "oppose", "extend")


@dataclass(frozen=True, slots=True)
class SilenceRule:
    """What happens at the deadline to the silent (``bot.negotiation``): ``none`` lists
    them; ``support``/``oppose`` records that stance for each, "(by silence)";
    ``extend`` moves the deadline once by ``extend_by``, naming them."""

    kind: str = "none"
    extend_by: timedelta | None = None

    def __post_init__(self) -> None:
        if self.kind not in SILENCE_KINDS or (self.kind == "extend") != bool(self.extend_by):
            raise ValueError(f"not a silence rule: {self.kind!r} {self.extend_by!r}")

    @property
    def text(self) -> str:
        """``"extend 1d"``, ``"support"``, ...: as typed, and as stored."""
        if self.extend_by is not None:
            return f"extend {format_offset(self.extend_by)}"
        return self.kind

    @property
    def stance(self) -> Stance | None:
        """The stance recorded for the silent, if the rule records one."""
        return Stance(self.kind) if self.kind in ("support", "oppose") else None

    @classmethod
    def from_text(cls, text: str) -> SilenceRule:
        """The inverse of ``text`` (for stored rules; the grammar reads typed ones)."""
        kind, _, offset = text.partition(" ")
        if kind != "extend":
            return cls(kind)
        match = re.fullmatch(r"([0-9]{1,7})([mhdw])", offset)
        if match is None:
            raise ValueError(f"not a silence rule: {text!r}")
        return cls("extend", timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2]]))


NO_RULE = SilenceRule()


@dataclass(frozen=True, slots=True)
class NewDeadline:
    """A validated deadline about to be stored (it has no number yet)."""

    workspace_id: str
    channel_id: str
    platform: str
    title: str
    due_at: datetime
    tz: str
    owner_id: str
    reminder_offsets: tuple[timedelta, ...]
    created_at: datetime
    sealed: bool = False
    silence: SilenceRule = NO_RULE
    expected: tuple[str, ...] | None = None  # party keys ``expect`` named (None: the default)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A stored deadline. ``owner_id`` is its first owner (the creator until they
    step down); ``owners`` all of them, ``owner_id`` first (never empty).

    ``sealed``: positions on it are commit-reveal (``bot.sealing``) until it is
    ``settled_at``: the instant its end was dealt with, once (silence positions
    recorded, sealed positions revealed; at the deadline, or when marked done or
    cancelled). ``silence_extended``: the ``extend`` silence rule has been used."""

    id: int
    workspace_id: str
    number: int
    channel_id: str
    platform: str
    title: str
    due_at: datetime
    tz: str
    owner_id: str
    status: DeadlineStatus
    reminder_offsets: tuple[timedelta, ...]
    created_at: datetime
    updated_at: datetime
    sequence: int = 0
    uid: str = ""
    owners: tuple[str, ...] = ()
    sealed: bool = False
    silence: SilenceRule = NO_RULE
    silence_extended: bool = False
    settled_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.owners:
            object.__setattr__(self, "owners", (self.owner_id,))

    @property
    def ref(self) -> str:
        return f"D{self.number}"

    @property
    def sealed_now(self) -> bool:
        """Its positions are sealed and not yet revealed."""
        return self.sealed and self.settled_at is None


@dataclass(frozen=True, slots=True)
class Position:
    """The current position of one stakeholder on one deadline.

    ``stakeholder`` is the key: a user id for one's own position, or
    ``party:<lower-cased name>`` for a position recorded ``as <party>``.

    Sealed (``commitment`` set): ``salt`` and ``commitment`` as ``bot.sealing``
    computes them. ``hidden``: a copy shown before the reveal, its stance, terms
    and salt withheld (``bot.sealing.shown_positions``). ``by_silence``: recorded
    by the silence rule at the deadline, for a party or person who never answered.
    """

    deadline_id: int
    stakeholder: str
    label: str
    stance: Stance
    terms: str
    recorded_by: str
    recorded_at: datetime
    offer: int | None = None  # the offer version (O1 = 1) current when it was given
    salt: str | None = None
    commitment: str | None = None
    by_silence: bool = False
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    """One version of the offer on a deadline: O1, O2, ... in the order recorded.

    ``url`` is a validated http(s) URL without credentials; ``party`` the declared
    party it comes from, as declared.
    """

    deadline_id: int
    version: int
    title: str
    url: str | None
    party: str | None
    recorded_by: str
    recorded_at: datetime

    @property
    def ref(self) -> str:
        return f"O{self.version}"


@dataclass(frozen=True, slots=True)
class Party:
    """A party declared in a negotiation: its name as declared, and the people who
    speak for it (``reps``; none: whoever first records for it holds it)."""

    negotiation: str  # ``negotiation_key`` of the channel it was declared in
    name: str
    reps: tuple[str, ...]
    declared_by: str
    declared_at: datetime

    @property
    def key(self) -> str:
        return party_key(self.name)

    @property
    def stakeholder(self) -> str:
        """The ``Position.stakeholder`` of this party's positions."""
        return f"party:{self.key}"


def party_key(name: str) -> str:
    """Party names match case-insensitively, whatever the spacing."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class PositionRequest:
    """A person asked for their position on a deadline."""

    deadline_id: int
    user_id: str
    asked_by: str
    asked_at: datetime
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a deadline's append-only history."""

    deadline_id: int
    kind: EventKind
    at: datetime
    actor_id: str
    data: dict[str, Any] = field(default_factory=dict)


def shown_positions(deadline: Deadline, positions: Sequence[Position]) -> tuple[Position, ...]:
    """Positions as anyone may see them now: the one place sealing hides.

    Until a sealed deadline is settled (revealed), every position on it is shown
    ``hidden``: its stance, terms and salt withheld, its label, recorder and
    commitment kept. Every path that shows positions goes through this function
    (directly, or through ``DeadlineState``); only recording, settling and the
    reveal read positions whole."""
    if not deadline.sealed_now:
        return tuple(positions)
    return tuple(
        p if p.hidden else replace(p, stance=Stance.UNDECIDED, terms="", salt=None, hidden=True)
        for p in positions
    )


SHOWN_WHILE_SEALED = ("stakeholder", "label", "commitment", "sealed")


def shown_events(deadline: Deadline, events: Sequence[Event]) -> list[Event]:
    """A history as anyone may see it now: before the reveal, a recorded position on a
    sealed deadline keeps only who and its commitment (see ``shown_positions``)."""
    if not deadline.sealed_now:
        return list(events)
    return [
        replace(
            event,
            data={key: event.data[key] for key in SHOWN_WHILE_SEALED if key in event.data}
            | {"sealed": True},
        )
        if event.kind is EventKind.POSITION_RECORDED
        else event
        for event in events
    ]


@dataclass(frozen=True, slots=True)
class DeadlineState:
    """A deadline with its current positions and position requests: what an alert,
    a calendar event and a home view show of it. Its positions are always as
    ``shown_positions`` shows them (sealed ones hidden until the reveal)."""

    deadline: Deadline
    positions: tuple[Position, ...] = ()
    requests: tuple[PositionRequest, ...] = ()
    offers: tuple[Offer, ...] = ()  # in order; read by the calendar feed's store only

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", shown_positions(self.deadline, self.positions))

    @property
    def modified_at(self) -> datetime:
        """The last time anything shown of this deadline changed."""
        stamps = [self.deadline.updated_at]
        stamps.extend(p.recorded_at for p in self.positions)
        stamps.extend(o.recorded_at for o in self.offers)
        for request in self.requests:
            stamps.append(request.asked_at)
            if request.answered_at is not None:
                stamps.append(request.answered_at)
        return max(stamps)


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    """An alert to be written to the outbox: ``offset`` before the due time."""

    offset: timedelta
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Alert:
    """A row of the alert outbox, as claimed by the dispatcher."""

    id: int
    deadline_id: int
    workspace_id: str
    offset: timedelta
    due_at: datetime
    status: AlertStatus
    attempts: int = 0


class ChangeKind(enum.StrEnum):
    """What a change told to the people a deadline concerns did to it (``bot.notices``)."""

    EXTENDED = "extended"
    MOVED_EARLIER = "moved earlier"
    MOVED_LATER = "moved later"
    CANCELLED = "cancelled"
    MET = "met"  # marked done: the outcome
    OFFERED = "offered"  # a new offer version on the table (``Change.detail`` names it)


@dataclass(frozen=True, slots=True)
class Change:
    """One change to a deadline, as a notice tells it; a rescheduling has both due times."""

    kind: ChangeKind
    at: datetime
    actor_id: str
    previous_due: datetime | None = None
    new_due: datetime | None = None
    reason: str = ""
    detail: str = ""  # what the change brought: the offer ("O2 Best and final offer")


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """A change to be told to ``user_ids``, written with the change itself. Each person's
    pending notice on the deadline that is not due by ``change.at`` takes the change;
    otherwise a new notice is due at ``due_at``."""

    user_ids: tuple[str, ...]
    change: Change
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Notice:
    """A row of the notice outbox, as claimed: one direct message to one person about
    one deadline, telling every change it gathered, oldest first."""

    id: int
    workspace_id: str
    deadline_id: int
    user_id: str
    changes: tuple[Change, ...]
    due_at: datetime
    attempts: int = 0


class FeedKind(enum.StrEnum):
    CHANNEL = "channel"
    USER = "user"
    BRIEF = "brief"  # the brief page (``bot.brief``), not a calendar feed


@dataclass(frozen=True, slots=True)
class FeedScope:
    """What a calendar feed shows: one channel, or one user's deadlines, in one workspace;
    or what a brief page shows: a channel's negotiation, or one of its deadlines."""

    workspace_id: str
    kind: FeedKind
    subject: str  # the channel id, or the user id
    deadline_id: int | None = None  # a brief of this one deadline of the channel


@dataclass(frozen=True, slots=True)
class SentAlert:
    """An alert that went out: ``offset`` before the due time (zero: the alert at it)."""

    deadline_id: int
    offset: timedelta
    due_at: datetime
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class FeedToken:
    """A stored feed token: only the hash of the secret, and what it opens."""

    token_hash: str
    scope: FeedScope
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class SlackBot:
    """The bot Parley acts as in one Slack workspace (or, for an org-wide install,
    one Enterprise Grid org): the token it posts with, and who it is there.

    ``enterprise_id`` and ``team_id`` say where: a workspace outside Enterprise
    Grid has no enterprise; an org-wide install has no team. Scopes are kept as
    granted. The refresh token and expiry are only set when Slack token rotation
    is on.
    """

    enterprise_id: str | None
    team_id: str | None
    bot_token: str
    bot_id: str
    bot_user_id: str
    installed_at: datetime
    bot_scopes: tuple[str, ...] = ()
    app_id: str | None = None
    enterprise_name: str | None = None
    team_name: str | None = None
    is_enterprise_install: bool = False
    bot_refresh_token: str | None = None
    bot_token_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlackInstallation:
    """One person's install of Parley into a Slack workspace (or org), as Slack's
    OAuth answered it: the installer (``user_id``) with their own token and scopes,
    if any, and the workspace's bot.

    The bot fields are ``None`` for an install that granted no bot scope. Read
    back, they are the workspace's current bot (``SlackBot``), which a later
    install or a token rotation may have replaced. The incoming webhook fields
    are set only when the install asked for ``incoming-webhook``.
    """

    enterprise_id: str | None
    team_id: str | None
    user_id: str
    installed_at: datetime
    app_id: str | None = None
    enterprise_name: str | None = None
    enterprise_url: str | None = None
    team_name: str | None = None
    is_enterprise_install: bool = False
    token_type: str | None = None
    bot_token: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: tuple[str, ...] = ()
    bot_refresh_token: str | None = None
    bot_token_expires_at: datetime | None = None
    user_token: str | None = None
    user_scopes: tuple[str, ...] = ()
    user_refresh_token: str | None = None
    user_token_expires_at: datetime | None = None
    incoming_webhook_url: str | None = None
    incoming_webhook_channel: str | None = None
    incoming_webhook_channel_id: str | None = None
    incoming_webhook_configuration_url: str | None = None

    def bot(self) -> SlackBot | None:
        """The bot this install granted, or ``None`` when it granted no bot token."""
        if self.bot_token is None:
            return None
        return SlackBot(
            enterprise_id=self.enterprise_id,
            team_id=self.team_id,
            bot_token=self.bot_token,
            bot_id=self.bot_id or "",
            bot_user_id=self.bot_user_id or "",
            installed_at=self.installed_at,
            bot_scopes=self.bot_scopes,
            app_id=self.app_id,
            enterprise_name=self.enterprise_name,
            team_name=self.team_name,
            is_enterprise_install=self.is_enterprise_install,
            bot_refresh_token=self.bot_refresh_token,
            bot_token_expires_at=self.bot_token_expires_at,
        )


def negotiation_key(workspace_id: str, channel_id: str) -> str:
    """The negotiation a channel's deadlines belong to, and are numbered in: today
    the channel itself (a later change may let several channels share one)."""
    return f"{workspace_id}/{channel_id}"


def plan_alerts(
    *, due_at: datetime, offsets: tuple[timedelta, ...], now: datetime
) -> tuple[PlannedAlert, ...]:
    """Alerts for a deadline: one per offset still in the future, plus the deadline itself."""
    wanted = sorted(set(offsets) | {timedelta(0)}, reverse=True)
    return tuple(
        PlannedAlert(offset=offset, due_at=due_at - offset)
        for offset in wanted
        if due_at - offset > now or offset == timedelta(0)
    )


def format_offset(offset: timedelta) -> str:
    """``timedelta(days=7)`` -> ``"7d"``; the inverse of the grammar's offset parser."""
    seconds = int(offset.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"
