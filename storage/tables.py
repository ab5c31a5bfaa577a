"""The database tables, as SQLModel ``table=True`` classes (nothing else lives here).

Every row of negotiation data carries ``workspace_id``. Rows that belong to a
deadline reference it through the composite key
``(workspace_id, deadline_id) -> deadline(workspace_id, id)``, so the database
itself refuses a position, request, event, alert or notice filed under another
workspace than its deadline's.

The Slack installation tables (``slack_bot``, ``slack_installation``,
``slack_oauth_state``) are keyed by Slack's own enterprise and team ids instead:
authorizing a request comes before Parley knows a workspace.

Instants are ``UTCDateTime`` (aware UTC on both backends). ``deadline.title_key``
is the case-folded title, for case-insensitive prefix search that behaves the same
on SQLite (whose ``lower()`` is ASCII-only) and PostgreSQL.

Deadlines are numbered per negotiation (``bot.domain.negotiation_key``: one
channel today), from a counter row per negotiation; a number is unique within
its channel.
"""

from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel, col

from storage.types import UTCDateTime

_ID = 255  # workspace, channel and user ids


def _deadline_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["workspace_id", "deadline_id"],
        ["deadline.workspace_id", "deadline.id"],
        name=f"fk_{table}_deadline",
        ondelete="CASCADE",
    )


class DeadlineRow(SQLModel, table=True):
    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id", name="uq_deadline_workspace_id"),
        UniqueConstraint("uid", name="uq_deadline_uid"),
        Index("ix_deadline_workspace_status_due", "workspace_id", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    number: int = Field(nullable=False)
    channel_id: str = Field(sa_type=String(_ID), nullable=False)
    platform: str = Field(sa_type=String(32), nullable=False)
    title: str = Field(sa_type=Text, nullable=False)
    title_key: str = Field(sa_type=Text, nullable=False)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    tz: str = Field(sa_type=String(64), nullable=False)
    owner_id: str = Field(sa_type=String(_ID), nullable=False)  # the first of ``owners``
    # Every owner's user id, ``owner_id`` first: a JSON array of strings.
    owners: str = Field(sa_type=Text, nullable=False)
    status: str = Field(sa_type=String(16), nullable=False)
    # Reminder offsets in whole seconds, comma-separated: "604800,86400,14400".
    reminder_offsets: str = Field(sa_type=Text, nullable=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sequence: int = Field(default=0, nullable=False)
    uid: str = Field(sa_type=String(32), nullable=False)
    # Sealed positions (commit-reveal) and the silence rule (``bot.domain.SilenceRule``'s
    # text: "none", "support", "oppose", "extend 1d"); ``settled_at``: when its end was
    # dealt with, once (silence positions, the reveal).
    sealed: bool = Field(default=False, nullable=False)
    silence_rule: str = Field(default="none", sa_type=String(32), nullable=False)
    silence_extended: bool = Field(default=False, nullable=False)
    settled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class NegotiationCounterRow(SQLModel, table=True):
    """The last deadline number handed out in a negotiation (``bot.domain.negotiation_key``)."""

    __tablename__ = "negotiation_counter"

    negotiation_key: str = Field(sa_type=String(2 * _ID + 1), primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    last_number: int = Field(nullable=False)


class PartyRow(SQLModel, table=True):
    """A party declared in a negotiation; ``key`` is its case-folded name.
    ``reps``: the user ids who speak for it, a JSON array of strings."""

    __tablename__ = "party"

    negotiation_key: str = Field(sa_type=String(2 * _ID + 1), primary_key=True)
    key: str = Field(sa_type=String(100), primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    name: str = Field(sa_type=String(100), nullable=False)
    reps: str = Field(sa_type=Text, nullable=False)
    declared_by: str = Field(sa_type=String(_ID), nullable=False)
    declared_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ExpectationRow(SQLModel, table=True):
    """The parties a deadline waits for, set by ``/deadline expect`` (a JSON array of
    party keys; none set: the parties declared before the deadline was made)."""

    __tablename__ = "expectation"
    __table_args__ = (_deadline_fk("expectation"),)

    deadline_id: int = Field(primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    parties: str = Field(sa_type=Text, nullable=False)


class EscalationRow(SQLModel, table=True):
    """A deadline's escalation: its ladder (``bot.escalation.ladder_text``; null: none,
    the built-in nudges) and when it was last nudged by hand (``/position nudge``)."""

    __tablename__ = "escalation"
    __table_args__ = (_deadline_fk("escalation"),)

    deadline_id: int = Field(primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    ladder: str | None = Field(default=None, sa_type=Text, nullable=True)
    nudged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class OfferRow(SQLModel, table=True):
    """One offer version on a deadline (``version`` 1 is O1)."""

    __tablename__ = "offer"
    __table_args__ = (_deadline_fk("offer"),)

    deadline_id: int = Field(primary_key=True)
    version: int = Field(primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    title: str = Field(sa_type=Text, nullable=False)
    url: str | None = Field(default=None, sa_type=Text, nullable=True)
    party: str | None = Field(default=None, sa_type=String(100), nullable=True)
    recorded_by: str = Field(sa_type=String(_ID), nullable=False)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PositionRow(SQLModel, table=True):
    """The current position of one stakeholder on one deadline; ``offer_version``:
    the offer it answered (none when no offer was on the table). A sealed one has its
    ``salt`` and ``commitment`` (``bot.sealing``); ``by_silence``: recorded by the
    deadline's silence rule."""

    __tablename__ = "position"
    __table_args__ = (_deadline_fk("position"),)

    deadline_id: int = Field(primary_key=True)
    stakeholder: str = Field(sa_type=String(_ID), primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    label: str = Field(sa_type=Text, nullable=False)
    stance: str = Field(sa_type=String(16), nullable=False)
    terms: str = Field(sa_type=Text, nullable=False)
    recorded_by: str = Field(sa_type=String(_ID), nullable=False)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    offer_version: int | None = Field(default=None, nullable=True)
    salt: str | None = Field(default=None, sa_type=String(32), nullable=True)
    commitment: str | None = Field(default=None, sa_type=String(64), nullable=True)
    by_silence: bool = Field(default=False, nullable=False)


class PositionRequestRow(SQLModel, table=True):
    __tablename__ = "position_request"
    __table_args__ = (_deadline_fk("position_request"),)

    deadline_id: int = Field(primary_key=True)
    user_id: str = Field(sa_type=String(_ID), primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    asked_by: str = Field(sa_type=String(_ID), nullable=False)
    asked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class EventRow(SQLModel, table=True):
    """Append-only history; ``id`` gives the order."""

    __tablename__ = "event"
    __table_args__ = (
        _deadline_fk("event"),
        Index("ix_event_workspace_deadline", "workspace_id", "deadline_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    deadline_id: int = Field(nullable=False)
    kind: str = Field(sa_type=String(32), nullable=False)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor_id: str = Field(sa_type=String(_ID), nullable=False)
    data: str = Field(sa_type=Text, nullable=False)  # a JSON object


class AlertRow(SQLModel, table=True):
    """The alert outbox.

    ``due_at`` is the instant the alert is for and never changes; ``not_before``
    starts equal to it and moves when a send is retried later. The dispatcher
    claims on ``not_before`` and holds a claim until ``lease_until``.
    """

    __tablename__ = "alert"
    __table_args__ = (
        _deadline_fk("alert"),
        Index("ix_alert_status_not_before", "status", "not_before"),
        Index("ix_alert_deadline_status", "deadline_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    deadline_id: int = Field(nullable=False)
    offset_seconds: int = Field(sa_type=Integer, nullable=False)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    not_before: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(sa_type=String(16), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claimed_by: str | None = Field(default=None, sa_type=String(_ID))
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class NoticeRow(SQLModel, table=True):
    """The notice outbox: one direct message to one person about one deadline.

    ``changes`` is a JSON list of the changes it tells, appended to until the
    notice is due or claimed. ``due_at`` (a minute after the first change) never
    changes; ``not_before`` starts equal to it and moves when a send is retried.
    Claims work as the alert outbox's do.
    """

    __tablename__ = "notice"
    __table_args__ = (
        _deadline_fk("notice"),
        Index("ix_notice_status_not_before", "status", "not_before"),
        Index("ix_notice_deadline_user_status", "deadline_id", "user_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    deadline_id: int = Field(nullable=False)
    user_id: str = Field(sa_type=String(_ID), nullable=False)
    changes: str = Field(sa_type=Text, nullable=False)  # a JSON list
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    not_before: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(sa_type=String(16), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claimed_by: str | None = Field(default=None, sa_type=String(_ID))
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ConversationReferenceRow(SQLModel, table=True):
    """Where a platform lets Parley post later on its own (alerts, nudges).

    Teams: a Bot Framework conversation reference (JSON, with the tenant and
    serviceUrl), one per conversation Parley was installed in or heard from.
    ``group_id`` is what one installation covers (a team, or the chat itself),
    so removing the app drops every conversation of it at once.
    """

    __tablename__ = "conversation_reference"
    __table_args__ = (
        Index("ix_conversation_reference_group", "workspace_id", "group_id"),
        Index("ix_conversation_reference_updated", "workspace_id", "updated_at"),
    )

    workspace_id: str = Field(sa_type=String(_ID), primary_key=True)
    conversation_id: str = Field(sa_type=String(_ID), primary_key=True)
    group_id: str = Field(sa_type=String(_ID), nullable=False)
    reference: str = Field(sa_type=Text, nullable=False)  # a JSON object
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FeedTokenRow(SQLModel, table=True):
    """A calendar feed token: the SHA-256 of the secret in the feed URL, never the secret.

    ``kind`` is ``channel`` (``subject`` a channel id), ``user`` (``subject`` a
    user id) or ``brief`` (the brief page of channel ``subject``; of its deadline
    ``deadline_id`` alone when that is set). A revoked token keeps its row, with
    ``revoked_at`` set.
    """

    __tablename__ = "feed_token"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_feed_token_hash"),
        Index("ix_feed_token_scope", "workspace_id", "kind", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), nullable=False)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    kind: str = Field(sa_type=String(16), nullable=False)
    subject: str = Field(sa_type=String(_ID), nullable=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(sa_type=String(_ID), nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    deadline_id: int | None = Field(default=None, nullable=True)


class SlackBotRow(SQLModel, table=True):
    """A Slack workspace's bot (``bot.domain.SlackBot``): one per workspace.

    A workspace is ``(enterprise_id, team_id)``; an absent one is stored as ""
    (not NULL) so that it can be part of the key. Scopes are comma-separated.
    Holds secrets: never exported.
    """

    __tablename__ = "slack_bot"

    enterprise_id: str = Field(sa_type=String(_ID), primary_key=True)
    team_id: str = Field(sa_type=String(_ID), primary_key=True)
    app_id: str | None = Field(default=None, sa_type=String(_ID))
    enterprise_name: str | None = Field(default=None, sa_type=Text)
    team_name: str | None = Field(default=None, sa_type=Text)
    bot_token: str = Field(sa_type=Text, nullable=False)
    bot_id: str = Field(sa_type=String(_ID), nullable=False)
    bot_user_id: str = Field(sa_type=String(_ID), nullable=False)
    bot_scopes: str = Field(sa_type=Text, nullable=False)
    bot_refresh_token: str | None = Field(default=None, sa_type=Text)
    bot_token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    is_enterprise_install: bool = Field(nullable=False)
    installed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SlackInstallationRow(SQLModel, table=True):
    """One installer's install of Parley into a Slack workspace
    (``bot.domain.SlackInstallation`` without the bot, which ``slack_bot`` holds).

    Keyed like ``slack_bot``, plus the installer: a reinstall by the same person
    replaces their row. Holds secrets: never exported.
    """

    __tablename__ = "slack_installation"
    __table_args__ = (
        Index("ix_slack_installation_latest", "enterprise_id", "team_id", "installed_at"),
    )

    enterprise_id: str = Field(sa_type=String(_ID), primary_key=True)
    team_id: str = Field(sa_type=String(_ID), primary_key=True)
    user_id: str = Field(sa_type=String(_ID), primary_key=True)
    app_id: str | None = Field(default=None, sa_type=String(_ID))
    enterprise_name: str | None = Field(default=None, sa_type=Text)
    enterprise_url: str | None = Field(default=None, sa_type=Text)
    team_name: str | None = Field(default=None, sa_type=Text)
    is_enterprise_install: bool = Field(nullable=False)
    token_type: str | None = Field(default=None, sa_type=String(32))
    user_token: str | None = Field(default=None, sa_type=Text)
    user_scopes: str = Field(sa_type=Text, nullable=False)
    user_refresh_token: str | None = Field(default=None, sa_type=Text)
    user_token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    incoming_webhook_url: str | None = Field(default=None, sa_type=Text)
    incoming_webhook_channel: str | None = Field(default=None, sa_type=Text)
    incoming_webhook_channel_id: str | None = Field(default=None, sa_type=String(_ID))
    incoming_webhook_configuration_url: str | None = Field(default=None, sa_type=Text)
    installed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SlackOAuthStateRow(SQLModel, table=True):
    """A one-time ``state`` of a Slack OAuth install in progress, until it expires."""

    __tablename__ = "slack_oauth_state"

    state: str = Field(sa_type=String(_ID), primary_key=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# A number is unique in its channel; a channel's deadlines in due order
# (`/deadline list`, feeds); a user's own; the deadlines a user was asked about;
# and a workspace's newest history event.
Index(
    "uq_deadline_channel_number",
    col(DeadlineRow.workspace_id),
    col(DeadlineRow.channel_id),
    col(DeadlineRow.number),
    unique=True,
)
Index(
    "ix_deadline_channel_status_due",
    col(DeadlineRow.workspace_id),
    col(DeadlineRow.channel_id),
    col(DeadlineRow.status),
    col(DeadlineRow.due_at),
)
Index("ix_deadline_workspace_owner", col(DeadlineRow.workspace_id), col(DeadlineRow.owner_id))
Index(
    "ix_position_request_workspace_user",
    col(PositionRequestRow.workspace_id),
    col(PositionRequestRow.user_id),
)
Index("ix_event_workspace_newest", col(EventRow.workspace_id), col(EventRow.id))


class ReplayKeyRow(SQLModel, table=True):
    """A request already handled (a hash of its replay key, see ``adapters.replay``),
    kept until ``expires_at`` so that no replica runs it again."""

    __tablename__ = "replay_key"
    __table_args__ = (Index("ix_replay_key_expires", "expires_at"),)

    key: str = Field(sa_type=String(64), primary_key=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class EventLinkKeyRow(SQLModel, table=True):
    """The secret that signs a channel's "Add to calendar" links (see ``bot.feeds``).

    Revoking the channel's feeds deletes it: every link signed with it stops working.
    """

    __tablename__ = "event_link_key"

    workspace_id: str = Field(sa_type=String(_ID), primary_key=True)
    channel_id: str = Field(sa_type=String(_ID), primary_key=True)
    secret: str = Field(sa_type=String(64), nullable=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DeploymentSecretRow(SQLModel, table=True):
    """A secret the whole deployment shares, by name: ``buttons`` signs the values of
    buttons that carry a command (``bot.usecases.choices``). Made by whichever replica
    needs it first; never exported."""

    __tablename__ = "deployment_secret"

    name: str = Field(sa_type=String(64), primary_key=True)
    secret: str = Field(sa_type=String(64), nullable=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ChannelLinkRow(SQLModel, table=True):
    """A channel in a linked set (``bot.channel_links``), naming the set's home channel."""

    __tablename__ = "channel_link"
    __table_args__ = (Index("ix_channel_link_home", "home_workspace_id", "home_channel_id"),)

    workspace_id: str = Field(sa_type=String(_ID), primary_key=True)
    channel_id: str = Field(sa_type=String(_ID), primary_key=True)
    platform: str = Field(sa_type=String(32), nullable=False)
    home_workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    home_channel_id: str = Field(sa_type=String(_ID), nullable=False)
    linked_by: str = Field(sa_type=String(_ID), nullable=False)
    linked_by_name: str = Field(sa_type=String(_ID), nullable=False)
    linked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class LinkCodeRow(SQLModel, table=True):
    """A one-time link code, by its SHA-256; ``used_at`` set once it is taken."""

    __tablename__ = "link_code"

    code_hash: str = Field(sa_type=String(64), primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), nullable=False)
    channel_id: str = Field(sa_type=String(_ID), nullable=False)
    platform: str = Field(sa_type=String(32), nullable=False)
    created_by: str = Field(sa_type=String(_ID), nullable=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AlertDeliveryRow(SQLModel, table=True):
    """An alert posted to one channel of a linked set: the retry of a job skips it."""

    __tablename__ = "alert_delivery"
    __table_args__ = (
        ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name="fk_alert_delivery_alert", ondelete="CASCADE"
        ),
    )

    alert_id: int = Field(primary_key=True)
    workspace_id: str = Field(sa_type=String(_ID), primary_key=True)
    channel_id: str = Field(sa_type=String(_ID), primary_key=True)
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
